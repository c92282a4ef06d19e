"""Per-sensor rate limits on POST /api/v1/ingest/eve: a token bucket per sensor, 429 with
Retry-After and nothing stored when a sensor is over its rate, other sensors unaffected."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from support.pipeline import add_member, count_events, make_pipeline
from support.sensors import eve_alert, register_sensor
from support.web import bearer
from vardeild.monitoring import sensors
from vardeild.platform import Platform
from vardeild.web.api import create_api
from vardeild.web.routes.ingest import RateLimiter

URL = "/api/v1/ingest/eve"
NDJSON = {"Content-Type": "application/x-ndjson"}


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(2.0, 3, now=lambda: now[0])
    assert [limiter.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(1) == pytest.approx(0.5)  # a token every half second
    assert limiter.take(2) == 0.0  # another sensor has its own bucket
    now[0] += 0.5
    assert limiter.take(1) == 0.0
    assert limiter.take(1) == pytest.approx(0.5)
    now[0] += 60  # a long pause refills the bucket, up to the burst only
    assert [limiter.take(1) for _ in range(4)][-1] == pytest.approx(0.5)
    assert RateLimiter(0.0, 1).take(1) == 0.0  # a rate of 0 is no limit


def test_a_sensor_over_its_rate_gets_429_with_retry_after(platform: Platform) -> None:
    add_member(platform, "10.77.0.0/16")
    limited = dataclasses.replace(
        platform,
        settings=platform.settings.model_copy(
            update={"ingest_rate_per_second": 0.01, "ingest_rate_burst": 2}
        ),
    )
    with platform.session() as session:
        first = register_sensor(session, platform.clock, "osl-ids")
        second = register_sensor(session, platform.clock, "brg-ids")
    pipeline = make_pipeline(
        platform,
        on_sensor_stats=sensors.record_sensor_stats,
        on_sensor_seen=sensors.record_sensor_seen,
    )
    client = TestClient(create_api(limited, event_sink=pipeline))

    def post(secret: str, n: int) -> tuple[int, dict[str, str], dict[str, object]]:
        answer = client.post(
            URL,
            content=eve_alert(n, dest_ip="10.77.0.5") + b"\n",
            headers={**bearer(secret), **NDJSON},
        )
        return answer.status_code, dict(answer.headers), answer.json()

    assert post(first.secret, 1)[0] == 200
    assert post(first.secret, 2)[0] == 200
    status, headers, body = post(first.secret, 3)
    assert status == 429
    # A token per 100 s at 0.01 a second, less what refilled while the three requests ran
    # (the limiter reads the real clock; a loaded machine can take a second over them).
    assert 95 <= int(headers["retry-after"]) <= 100
    assert "osl-ids" in str(body["message"])
    assert "nothing was stored" in str(body["message"])
    # The other sensor has its own bucket.
    assert post(second.secret, 4)[0] == 200
    # The refused batch was not stored.
    with platform.session() as session:
        assert count_events(session) == 3
