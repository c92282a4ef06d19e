"""POST /api/v1/ingest/eve through the real pipeline: plain, gzip and json-seq bodies, bad lines
quarantined beside stored ones, bounded bodies and gzip bombs, tokens, idempotent resends,
stats, and the sensor marked heard from."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from support.factories import CERT_ADMIN, org_data
from support.sensors import RegisteredSensor, eve_alert, eve_stats, register_sensor
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.core.clock import FixedClock
from vardeild.members import service as members
from vardeild.monitoring import sensors
from vardeild.monitoring.ingest import IngestResult, RawBatch
from vardeild.monitoring.pipeline import Pipeline
from vardeild.monitoring.tables import EventRow, IngestBatchRow, QuarantineRow
from vardeild.platform import Platform
from vardeild.web.api import create_api

URL = "/api/v1/ingest/eve"
NDJSON = {"Content-Type": "application/x-ndjson"}
MEMBER_HOST = "10.77.0.5"  # inside the member's network below


@pytest.fixture
def member_id(platform: Platform) -> int:
    """A member owning 10.77.0.0/16, so that alerts on its hosts are stored."""
    with platform.session() as session:
        created = members.create_organisation(
            session,
            CERT_ADMIN,
            org_data(networks=["10.77.0.0/16"]),
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    return int(created["id"])


@pytest.fixture
def sensor(platform: Platform, member_id: int) -> RegisteredSensor:
    """A registered sensor of the member, with its token."""
    with platform.session() as session:
        return register_sensor(session, platform.clock, organisation_id=member_id)


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    """The web application delivering to the real pipeline, with the registry's hooks (the
    composition root adds indicator matching, which these tests do not need)."""
    pipeline = Pipeline(
        platform.session,
        clock=platform.clock,
        on_sensor_stats=sensors.record_sensor_stats,
        on_sensor_seen=sensors.record_sensor_seen,
        cache=platform.cached,
    )
    return create_api(platform, event_sink=pipeline)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app."""
    with TestClient(app) as test_client:
        yield test_client


def _count(platform: Platform, table: Any) -> int:
    with platform.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _lines(*lines: bytes) -> bytes:
    return b"\n".join(lines) + b"\n"


def _post(client: TestClient, sensor: RegisteredSensor, body: bytes, **headers: str) -> Any:
    return client.post(URL, content=body, headers={**sensor.headers, **NDJSON, **headers})


def test_lines_are_stored_and_answered_once_committed(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    body = _lines(*(eve_alert(n, dest_ip=MEMBER_HOST) for n in range(3)))
    answer = _post(client, sensor, body, **{"Idempotency-Key": "batch-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "sensor": "osl-dc1-ids",
        "batch_key": "batch-1",
        "skipped_batch": False,
        "records": 3,
        "events_stored": 3,
        "events_duplicate": 0,
        "events_unattributed": 0,
        "events_suppressed": 0,
        "events_unmatched_protocol": 0,
        "sensor_stats": 0,
        "quarantined": 0,
        "alerts_touched": 1,
        "quarantine": [],
    }
    with platform.session() as session:
        stored = session.scalars(select(EventRow.sensor)).all()
        assert stored == ["osl-dc1-ids"] * 3
        seen = sensors.get_sensor_or_raise(session, CERT_ADMIN, sensor.id, clock=platform.clock)
    assert seen.last_seen_at == platform.clock.now()
    assert seen.events_this_hour == 3


def test_gzip_bodies_are_taken(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    body = _lines(*(eve_alert(n, dest_ip=MEMBER_HOST) for n in range(5)))
    # Two gzip members, as `cat a.gz b.gz` makes.
    halves = gzip.compress(body[:300]) + gzip.compress(body[300:])
    answer = _post(client, sensor, halves, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["records"], answer.json()["events_stored"]) == (5, 5)
    assert _count(platform, EventRow) == 5


def test_json_seq_and_plain_text_are_taken(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    seq = b"".join(b"\x1e" + eve_alert(n, dest_ip=MEMBER_HOST) + b"\n" for n in range(2))
    answer = client.post(
        URL, content=seq, headers={**sensor.headers, "Content-Type": "application/json-seq"}
    )
    assert answer.json()["events_stored"] == 2, answer.text
    plain = _lines(eve_alert(9, dest_ip=MEMBER_HOST))
    answer = client.post(
        URL, content=plain, headers={**sensor.headers, "Content-Type": "text/plain; charset=utf-8"}
    )
    assert answer.json()["events_stored"] == 1, answer.text
    assert _count(platform, EventRow) == 3


def test_bad_lines_are_quarantined_and_named_while_good_ones_are_stored(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    body = b"\n".join(
        [
            eve_alert(1, dest_ip=MEMBER_HOST),
            b'{"event_type": "alert", "timestamp": ',
            b"",
            eve_alert(2, dest_ip=MEMBER_HOST),
            b'{"timestamp":"2026-11-28T11:00:00+0000","event_type":"alert","src_ip":"1.2.3.4"}',
            eve_alert(3, dest_ip=MEMBER_HOST),
        ]
    )
    answer = _post(client, sensor, body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["records"], result["events_stored"], result["quarantined"]) == (5, 3, 2)
    assert [q["line"] for q in result["quarantine"]] == [2, 5]
    assert all(q["reason"] for q in result["quarantine"])
    assert _count(platform, EventRow) == 3
    with platform.session() as session:
        held = session.execute(
            select(QuarantineRow.position, QuarantineRow.sensor, QuarantineRow.raw).order_by(
                QuarantineRow.position
            )
        ).all()
    assert [(p, s) for p, s, _ in held] == [(2, "osl-dc1-ids"), (5, "osl-dc1-ids")]
    assert bytes(held[0][2]) == b'{"event_type": "alert", "timestamp": '


def test_a_resend_is_skipped_whole(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    body = _lines(*(eve_alert(n, dest_ip=MEMBER_HOST) for n in range(4)))
    first = _post(client, sensor, body, **{"Idempotency-Key": "k-1"})
    again = _post(client, sensor, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200
    assert first.json()["events_stored"] == 4
    assert again.json()["skipped_batch"] is True
    assert again.json()["events_stored"] == 0
    # Without a key, the body's hash is the key: the same body again is skipped too.
    unkeyed = _lines(eve_alert(50, dest_ip=MEMBER_HOST))
    first = _post(client, sensor, unkeyed)
    again = _post(client, sensor, unkeyed)
    assert first.json()["batch_key"] == again.json()["batch_key"]
    assert first.json()["batch_key"].startswith("sha256:")
    assert (first.json()["skipped_batch"], again.json()["skipped_batch"]) == (False, True)
    # The same lines under a new key are a new batch, but no event is stored twice.
    other = _post(client, sensor, body, **{"Idempotency-Key": "k-2"})
    assert (other.json()["events_stored"], other.json()["events_duplicate"]) == (0, 4)
    assert _count(platform, EventRow) == 5


def test_one_sensors_key_does_not_skip_anothers_batch(
    client: TestClient, platform: Platform, sensor: RegisteredSensor, member_id: int
) -> None:
    with platform.session() as session:
        second = register_sensor(session, platform.clock, "ber-ids", organisation_id=member_id)
    key = {"Idempotency-Key": "same-key"}
    assert (
        _post(client, sensor, eve_alert(1, dest_ip=MEMBER_HOST), **key).json()["events_stored"] == 1
    )
    answer = _post(client, second, eve_alert(2, dest_ip=MEMBER_HOST), **key).json()
    assert (answer["skipped_batch"], answer["events_stored"]) == (False, 1)


def test_stats_lines_update_the_sensor(
    client: TestClient, platform: Platform, sensor: RegisteredSensor
) -> None:
    body = _lines(eve_stats(uptime=3600, packets=99_000, drops=1_000, alerts=7))
    answer = _post(client, sensor, body)
    assert answer.json()["sensor_stats"] == 1, answer.text
    with platform.session() as session:
        read = sensors.get_sensor_or_raise(session, CERT_ADMIN, sensor.id, clock=platform.clock)
    assert read.health is not None
    assert (read.health.uptime_seconds, read.health.packets, read.health.drops) == (
        3600,
        99_000,
        1_000,
    )
    assert read.health.alerts == 7
    assert read.health.drop_ratio == pytest.approx(0.01)


def test_an_empty_body_is_a_heartbeat(
    client: TestClient, platform: Platform, sensor: RegisteredSensor, clock: FixedClock
) -> None:
    answer = _post(client, sensor, b"\n")
    assert answer.status_code == 200
    assert answer.json()["records"] == 0
    with platform.session() as session:
        read = sensors.get_sensor_or_raise(session, CERT_ADMIN, sensor.id, clock=clock)
    assert read.last_seen_at == clock.now()
    assert _count(platform, IngestBatchRow) == 0


@pytest.fixture
def small(platform: Platform) -> int:
    """A platform that takes bodies of at most 4 KiB."""
    platform.settings = platform.settings.model_copy(update={"ingest_max_bytes": 4096})
    return 4096


def _nothing_stored(platform: Platform) -> None:
    for table in (EventRow, IngestBatchRow, QuarantineRow):
        assert _count(platform, table) == 0, table


def test_an_oversized_body_is_refused_before_it_is_read(
    client: TestClient, platform: Platform, sensor: RegisteredSensor, small: int
) -> None:
    body = _lines(*(eve_alert(n, dest_ip=MEMBER_HOST) for n in range(40)))
    assert len(body) > small
    answer = _post(client, sensor, body)
    assert answer.status_code == 413
    assert "ingest_max_bytes" in answer.json()["message"]
    assert "Nothing was stored" in answer.json()["message"]
    # Without Content-Length (chunked): counted while read.
    streamed = client.post(
        URL, content=iter([body[:3000], body[3000:]]), headers={**sensor.headers, **NDJSON}
    )
    assert streamed.status_code == 413
    _nothing_stored(platform)


def test_a_gzip_bomb_is_refused_with_nothing_stored(
    client: TestClient, platform: Platform, sensor: RegisteredSensor, small: int
) -> None:
    stream = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = stream.compress(eve_alert(1, dest_ip=MEMBER_HOST) + b"\n" + b" " * 2_000_000)
    bomb += stream.flush()
    assert len(bomb) < small
    answer = _post(client, sensor, bomb, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 413
    assert "decompresses to more than 4,096 bytes" in answer.json()["message"]
    _nothing_stored(platform)


def test_what_cannot_be_read_is_refused(client: TestClient, sensor: RegisteredSensor) -> None:
    line = _lines(eve_alert(1, dest_ip=MEMBER_HOST))
    cases: list[tuple[dict[str, str], bytes, int]] = [
        ({"Content-Encoding": "br"}, line, 415),
        ({"Content-Type": "multipart/form-data; boundary=x"}, line, 415),
        ({"Content-Encoding": "gzip"}, b"not gzip", 422),
        ({"Content-Encoding": "gzip"}, gzip.compress(line)[:-10], 422),
        ({"Idempotency-Key": "has space"}, line, 422),
        ({"Idempotency-Key": "k" * 129}, line, 422),
    ]
    for headers, body, expected in cases:
        answer = client.post(URL, content=body, headers={**sensor.headers, **NDJSON, **headers})
        assert answer.status_code == expected, (headers, answer.text)
        assert answer.json()["message"]


def test_without_a_sensor_token_nothing_is_taken(
    client: TestClient, platform: Platform, sensor: RegisteredSensor, member_id: int
) -> None:
    body = _lines(eve_alert(1, dest_ip=MEMBER_HOST))
    missing = client.post(URL, content=body, headers=NDJSON)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    unknown = client.post(
        URL, content=body, headers={**NDJSON, "Authorization": "Bearer vds_nosuchtoken"}
    )
    assert unknown.status_code == 401
    with platform.session() as session:
        people = {
            role: issue_token(
                session,
                CERT_ADMIN,
                clock=platform.clock,
                name=f"{role.value} token",
                role=role,
                organisation_id=None if role.is_cert else member_id,
            ).secret
            for role in Role
        }
    for role, secret in people.items():
        answer = client.post(
            URL, content=body, headers={**NDJSON, "Authorization": f"Bearer {secret}"}
        )
        assert answer.status_code == 403, role
        assert answer.json()["error"] == "permission_denied"
    with platform.session() as session:
        sensors.retire_sensor(session, CERT_ADMIN, sensor.name, clock=platform.clock)
    assert _post(client, sensor, body).status_code == 401
    _nothing_stored(platform)


def test_a_server_without_a_pipeline_says_so(platform: Platform, sensor: RegisteredSensor) -> None:
    with TestClient(create_api(platform)) as bare:
        answer = bare.post(URL, content=b"{}\n", headers={**sensor.headers, **NDJSON})
    assert answer.status_code == 503


class _Unavailable:
    """A sink whose database is down."""

    def ingest(self, batch: RawBatch) -> IngestResult:
        from sqlalchemy.exc import OperationalError

        raise OperationalError("INSERT", {}, Exception("connection refused"))


def test_a_database_outage_answers_503_to_retry(
    platform: Platform, sensor: RegisteredSensor
) -> None:
    with TestClient(create_api(platform, event_sink=_Unavailable())) as down:
        answer = down.post(URL, content=b"{}\n", headers={**sensor.headers, **NDJSON})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
