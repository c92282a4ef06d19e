"""`vardeild worker`'s loop end to end: batches on JetStream, stored through the real pipeline
in a fresh database (SQLite and PostgreSQL), acked only after the commit; a batch whose commit
happened but whose ack was lost is skipped when it comes again."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.eve_stream import alert_stream, register_members, stored
from vardeild.app import build_pipeline, build_platform
from vardeild.bus.codec import encode_batch, split_ndjson, split_records
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.transport import OutMessage
from vardeild.bus.worker import run_worker
from vardeild.monitoring.ingest import EventSink, Feed, IngestResult, RawBatch
from vardeild.platform import Platform
from vardeild.settings import Settings

NETWORKS = ["10.91.1.0/24", "10.91.2.0/24", "10.91.3.0/24"]


@pytest.fixture
def platform_on_fresh(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    """A migrated platform on a new database of the backend under test (commits for real)."""
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data")
    built = build_platform(settings, migrate=True)
    yield built
    built.engine.dispose()


def _messages(config: NatsConfig, lines: list[bytes], sensor: str = "s1") -> list[OutMessage]:
    records = split_ndjson(b"\n".join(lines) + b"\n")
    messages = []
    for group in split_records(records):
        batch = RawBatch(source=f"test:{sensor}", feed=Feed.EVE, records=group, sensor=sensor)
        start, end = group[0].position, group[-1].position
        messages.append(
            OutMessage(config.subject_for(sensor), f"{sensor}:t:{start}-{end}", encode_batch(batch))
        )
    return messages


async def _drain(
    transport: NatsTransport, sink_factory: object, *, concurrency: int = 1
) -> tuple[object, object]:
    stop = asyncio.Event()

    async def until_empty() -> None:
        while True:
            state = await transport.queue_state()
            if state.messages == 0 and state.ack_pending == 0:
                stop.set()
                return
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(until_empty())
    result = await asyncio.wait_for(
        run_worker(
            transport,
            sink_factory,  # type: ignore[arg-type]
            stop=stop,
            batch=5,
            concurrency=concurrency,
            sensor_of=transport.config.sensor_of,
        ),
        60,
    )
    await watcher
    return result


@pytest.mark.parametrize("concurrency", [1, 3])
def test_batches_are_stored_once_and_acked_after_the_commit(
    platform_on_fresh: Platform, nats_config: NatsConfig, concurrency: int
) -> None:
    platform = platform_on_fresh
    owners = dict(zip(NETWORKS, register_members(platform, NETWORKS), strict=True))
    stream = alert_stream(2500, owners, seed=7)

    async def body() -> None:
        transport = await NatsTransport.connect(nats_config)
        try:
            await transport.ensure_stream()
            await transport.publish(_messages(nats_config, stream.lines))
            stats, settled = await _drain(
                transport, lambda: build_pipeline(platform), concurrency=concurrency
            )
            assert settled.acked == 25  # type: ignore[attr-defined]
            assert stats.events_stored == 2500  # type: ignore[attr-defined]
        finally:
            await transport.close()

    asyncio.run(body())
    held = stored(platform)
    assert held.events == held.distinct_fingerprints == 2500
    assert held.alert_counts == stream.truth
    assert held.batches == 25
    assert held.quarantined == 0


def test_a_batch_committed_but_not_acked_is_skipped_when_redelivered(
    platform_on_fresh: Platform, nats_config: NatsConfig
) -> None:
    platform = platform_on_fresh
    owners = dict(zip(NETWORKS, register_members(platform, NETWORKS), strict=True))
    stream = alert_stream(300, owners, seed=8)
    results: list[IngestResult] = []

    class LosesFirstAck:
        """The real pipeline; but the first batch's ack is lost after its commit."""

        def __init__(self) -> None:
            self.pipeline: EventSink = build_pipeline(platform)

        def ingest(self, batch: RawBatch) -> IngestResult:
            result = self.pipeline.ingest(batch)
            results.append(result)
            if len(results) == 1:
                raise ConnectionResetError("the connection dropped before the ack")
            return result

    async def body() -> None:
        config = dataclasses.replace(nats_config)
        transport = await NatsTransport.connect(config)
        try:
            await transport.ensure_stream()
            await transport.publish(_messages(config, stream.lines))
            await _drain(transport, LosesFirstAck)
        finally:
            await transport.close()

    asyncio.run(body())
    assert [r.skipped_batch for r in results].count(True) == 1
    assert len(results) == 4  # three batches, the first one twice
    held = stored(platform)
    assert held.events == 300
    assert held.alert_counts == stream.truth
