"""`vardeild worker`'s loop end to end: batches on JetStream, stored through the real pipeline
in a fresh database (SQLite and PostgreSQL) a group of messages per transaction, acked only
after the commit; a batch whose commit happened but whose ack was lost is skipped when it comes
again; a group whose commit fails is acked not at all and comes again whole; a batch that breaks
the pipeline fails alone while the rest of its group is stored."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from support.eve_stream import alert_stream, register_members, stored
from vardeild.app import build_pipeline, build_platform
from vardeild.bus.codec import encode_batch, split_ndjson, split_records
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.transport import OutMessage
from vardeild.bus.worker import run_worker
from vardeild.monitoring.ingest import EventSink, Feed, IngestResult, RawBatch
from vardeild.monitoring.pipeline import Pipeline
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


# --- groups: several messages, one transaction -----------------------------------------------


class _Recording:
    """The real pipeline (on the given session factory), recording what it was asked to store:
    ("group"|"one", batch keys, error or None)."""

    def __init__(self, pipeline: Pipeline, refuse: str | None = None) -> None:
        self.pipeline = pipeline
        self.refuse = refuse  # a batch key the pipeline breaks on, wherever it comes
        self.calls: list[tuple[str, list[str], str | None]] = []

    def ingest(self, batch: RawBatch) -> IngestResult:
        return self._call("one", [batch], lambda: self.pipeline.ingest(batch))[0]

    def ingest_many(self, batches: Sequence[RawBatch]) -> list[IngestResult]:
        return self._call("group", batches, lambda: self.pipeline.ingest_many(batches))

    def _call(
        self, kind: str, batches: Sequence[RawBatch], store: Callable[[], object]
    ) -> list[IngestResult]:
        keys = [batch.batch_key or "" for batch in batches]
        try:
            if self.refuse in keys:
                raise RuntimeError(f"the pipeline breaks on {self.refuse}")
            stored = store()
        except Exception as exc:
            self.calls.append((kind, keys, str(exc)))
            raise
        self.calls.append((kind, keys, None))
        return stored if isinstance(stored, list) else [stored]  # type: ignore[list-item]


def test_a_group_whose_commit_fails_is_redelivered_whole_and_stored_once(
    platform_on_fresh: Platform, nats_config: NatsConfig
) -> None:
    platform = platform_on_fresh
    owners = dict(zip(NETWORKS, register_members(platform, NETWORKS), strict=True))
    stream = alert_stream(400, owners, seed=9)  # four messages of 100 lines, one group
    # The database refuses the first five commits: the group's, then each batch's alone. Each
    # transaction did all its work first, so a refused commit is a real rollback of it all.
    refusals = [5]

    @contextlib.contextmanager
    def refusing_session() -> Iterator[Session]:
        with platform.session_factory() as session:
            transaction = session.begin()
            try:
                yield session
            except BaseException:
                transaction.rollback()
                raise
            if refusals[0] > 0:
                refusals[0] -= 1
                transaction.rollback()
                raise RuntimeError("the database refused the commit")
            transaction.commit()

    sink = _Recording(Pipeline(refusing_session, clock=platform.clock))

    async def body() -> None:
        transport = await NatsTransport.connect(nats_config)
        try:
            await transport.ensure_stream()
            await transport.publish(_messages(nats_config, stream.lines))
            stats, settled = await _drain(transport, lambda: sink)
            assert settled.acked == 4  # type: ignore[attr-defined]
            assert settled.retried == 4  # type: ignore[attr-defined]  # nak'd, none acked
            assert settled.dead_lettered == 0  # type: ignore[attr-defined]
            assert stats.group_failures == 1  # type: ignore[attr-defined]
            assert stats.events_stored == 400  # type: ignore[attr-defined]
        finally:
            await transport.close()

    asyncio.run(body())
    keys = sorted(sink.calls[0][1])
    assert len(keys) == 4
    failed = [(kind, sorted(k)) for kind, k, error in sink.calls if error is not None]
    assert failed == [("group", keys)] + [("one", [key]) for key in sink.calls[0][1]]
    # Redelivered whole, as a group again, and committed then: nothing was skipped as stored
    # before, because nothing of the refused transactions was.
    (stored_call,) = [(kind, sorted(k)) for kind, k, error in sink.calls if error is None]
    assert stored_call == ("group", keys)
    held = stored(platform)
    assert held.events == held.distinct_fingerprints == 400
    assert held.alert_counts == stream.truth
    assert held.batches == 4


def test_a_batch_that_breaks_the_pipeline_fails_alone_and_its_group_is_stored(
    platform_on_fresh: Platform, nats_config: NatsConfig
) -> None:
    platform = platform_on_fresh
    config = dataclasses.replace(nats_config, max_deliver=2)
    owners = dict(zip(NETWORKS, register_members(platform, NETWORKS), strict=True))
    good = alert_stream(400, owners, seed=10)
    bad = alert_stream(100, owners, seed=11, start=400)
    messages = _messages(config, good.lines[:200] + bad.lines + good.lines[200:])
    poison = messages[2]  # carries the bad lines
    sink = _Recording(build_pipeline(platform), refuse=f"bus:{poison.msg_id}")

    async def body() -> None:
        transport = await NatsTransport.connect(config)
        try:
            await transport.ensure_stream()
            await transport.publish(messages)
            _, settled = await _drain(transport, lambda: sink)
            assert settled.acked == 4  # type: ignore[attr-defined]
            assert settled.dead_lettered == 1  # type: ignore[attr-defined]
            (dead,) = await transport.dead_letters()
            assert dead.msg_id == poison.msg_id
            assert dead.attempts == 2
            assert f"the pipeline breaks on bus:{poison.msg_id}" in dead.reason
            assert dead.payload == poison.payload  # kept whole, to be replayed
        finally:
            await transport.close()

    asyncio.run(body())
    first_kind, first_keys, first_error = sink.calls[0]
    assert first_kind == "group"
    assert len(first_keys) == 5  # the poison came in a group with its four neighbours
    assert first_error is not None
    neighbours = [f"bus:{m.msg_id}" for m in messages if m is not poison]
    # Each neighbour stored alone, once, on its first delivery; only the poison came again.
    done = [key for _, keys, error in sink.calls if error is None for key in keys]
    assert sorted(done) == sorted(neighbours)
    later = [keys for _, keys, _ in sink.calls[len(first_keys) + 1 :]]
    assert later == [[f"bus:{poison.msg_id}"]]
    held = stored(platform)
    assert held.events == held.distinct_fingerprints == 400
    assert held.alert_counts == good.truth
    assert held.batches == 4
