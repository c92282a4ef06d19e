"""`vardeild worker`: take batches off the bus and store them through the pipeline.

Each message is decoded (bus.codec) into a `RawBatch` whose `batch_key` is `bus:<message id>` —
the same on every redelivery and every re-publish. The consuming loop (bus.transport.
consume_groups) hands the worker each fetch of up to `--batch` messages as a group; their
batches are stored in ONE transaction (`Pipeline.ingest_many`: one commit, each batch still
skipped alone by its key when it was stored before) in a worker thread, and only after that
commit does the loop ack the messages. So a worker killed at any moment loses nothing (the
messages are redelivered after the ack wait) and duplicates nothing (a redelivered batch whose
commit happened but whose ack was lost is skipped by its key). If the group's commit fails, no
message is acked.

A commit per group rather than per message: a worker stored one ~100-event message per
fsynced commit and spent most of its time waiting for PostgreSQL. While one group is stored,
the loop already fetches and decodes the next, so the ingest thread never waits for NATS.

While the database is unreachable, a group is retried here, in place, with backoff — the
messages are kept in progress meanwhile — rather than failed back to the bus, where repeated
failures would send perfectly good batches to the dead letters. A message that cannot be
decoded is dead-lettered at once, alone. Any other failure of a group's transaction makes the
worker store its batches again one by one, so that a batch that breaks the pipeline fails
alone (retried by the bus and dead-lettered after `max_deliver` attempts) and its neighbours
are stored and acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, runtime_checkable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from vardeild.bus.codec import CodecError, decode_batch
from vardeild.bus.transport import (
    ConsumeStats,
    NotStarted,
    PoisonMessage,
    Received,
    Transport,
    consume_groups,
)
from vardeild.monitoring.ingest import EventSink, IngestResult, RawBatch

log = logging.getLogger("vardeild.worker")

RETRY_MAX = 30.0
_In = TypeVar("_In")
_Out = TypeVar("_Out")


def is_transient(error: BaseException) -> bool:
    """Return whether error means the database is unreachable for now (worth waiting out),
    rather than something wrong with the batch."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


@dataclass
class WorkerStats:
    """What a worker stored, summed over the batches it handled."""

    messages: int = 0
    records: int = 0
    events_stored: int = 0
    events_duplicate: int = 0
    skipped_batches: int = 0
    quarantined: int = 0
    retried_transient: int = 0
    groups: int = 0  # groups stored in one transaction each
    group_failures: int = 0  # groups whose transaction failed, then stored one by one
    started: float = field(default_factory=time.monotonic)

    def add(self, result: IngestResult) -> None:
        """Count one ingested batch."""
        self.messages += 1
        self.records += result.records
        self.events_stored += result.events_stored
        self.events_duplicate += result.events_duplicate
        self.quarantined += result.quarantined
        self.skipped_batches += int(result.skipped_batch)


@runtime_checkable
class GroupSink(Protocol):
    """A sink that can also take several batches in one transaction (the pipeline)."""

    def ingest(self, batch: RawBatch) -> IngestResult:
        """Durably take in a batch and return what became of it."""
        ...

    def ingest_many(self, batches: Sequence[RawBatch]) -> list[IngestResult]:
        """Durably take in batches in one transaction and return each one's result."""
        ...


class BatchWorker:
    """The handler the consuming loop calls with each group of messages it fetched."""

    def __init__(
        self,
        sink_factory: Callable[[], EventSink],
        *,
        executor: ThreadPoolExecutor,
        threads: int = 1,
        sensor_of: Callable[[str], str | None] = lambda subject: None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Groups are ingested on executor's threads (at most `threads` at once), each through
        a sink of its own made by sink_factory (so a sink need not be thread-safe)."""
        self._sink_factory = sink_factory
        self._executor = executor
        self._threads = asyncio.Semaphore(threads)
        self._local = threading.local()
        self._sensor_of = sensor_of
        self._stop = stop or asyncio.Event()
        self.stats = WorkerStats()

    def _sink(self) -> EventSink:
        sink: EventSink | None = getattr(self._local, "sink", None)
        if sink is None:
            sink = self._local.sink = self._sink_factory()
        return sink

    def _ingest(self, batch: RawBatch) -> IngestResult:
        return self._sink().ingest(batch)

    def _ingest_many(self, batches: Sequence[RawBatch]) -> list[IngestResult]:
        sink = self._sink()
        if isinstance(sink, GroupSink):
            return sink.ingest_many(batches)
        # A sink without transactions of several batches: one at a time, in order.
        return [sink.ingest(batch) for batch in batches]

    def batch_of(self, message: Received) -> RawBatch:
        """Return the batch message carries, keyed by its id; raises PoisonMessage when it
        carries none."""
        sensor = self._sensor_of(message.subject)
        try:
            batch = decode_batch(message.payload, source=f"bus:{message.subject}", sensor=sensor)
        except CodecError as exc:
            raise PoisonMessage(f"cannot decode the batch: {exc}") from exc
        if sensor is not None and batch.sensor != sensor:
            # The subject names the sensor, and NATS permissions can pin a sensor's user to its
            # subject; the payload cannot claim to be another sensor.
            batch = dataclasses.replace(batch, sensor=sensor)
        return dataclasses.replace(batch, batch_key=f"bus:{message.msg_id}")

    async def __call__(self, messages: Sequence[Received]) -> list[BaseException | None]:
        """Store the batches messages carry in one transaction; return each message's outcome
        (None: committed) for the consuming loop to settle.

        A message that cannot be decoded is poison on its own. If the group's transaction
        fails for a reason other than an unreachable database, its batches are stored again
        one by one, so one bad batch fails alone and its neighbours are stored.
        """
        outcomes: list[BaseException | None] = [None] * len(messages)
        batches: list[tuple[int, RawBatch]] = []
        for index, message in enumerate(messages):
            try:
                batches.append((index, self.batch_of(message)))
            except PoisonMessage as exc:
                outcomes[index] = exc
        if not batches:
            return outcomes
        # Decoded ahead; wait for an ingest thread. Asked to stop meanwhile: hand them back.
        async with self._threads:
            if self._stop.is_set():
                return [outcome or NotStarted() for outcome in outcomes]
            keys = ", ".join(batch.batch_key or "?" for _, batch in batches[:2])
            try:
                results = await self._retrying(
                    self._ingest_many, [batch for _, batch in batches], keys
                )
            except Exception as exc:
                if len(batches) == 1 or is_transient(exc):  # alone, or stopping: all failed
                    for index, _ in batches:
                        outcomes[index] = exc
                    return outcomes
                self.stats.group_failures += 1
                log.warning(
                    "a group of %d batches failed (%s: %s); storing them one by one",
                    len(batches),
                    type(exc).__name__,
                    exc,
                )
                for index, batch in batches:
                    try:
                        one = await self._retrying(self._ingest, batch, batch.batch_key or "?")
                    except Exception as error:
                        outcomes[index] = error
                        continue
                    self.stats.add(one)
                return outcomes
        self.stats.groups += 1
        for result in results:
            self.stats.add(result)
        return outcomes

    async def _retrying(self, ingest: Callable[[_In], _Out], what: _In, keys: str) -> _Out:
        """Run ingest(what) on an ingest thread; while the database is unreachable, wait and
        try again (the messages stay in progress) rather than fail good batches back."""
        delay = 1.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await loop.run_in_executor(self._executor, ingest, what)
            except Exception as exc:
                if not is_transient(exc) or self._stop.is_set():
                    raise
                self.stats.retried_transient += 1
                log.warning(
                    "the database is unreachable (%s); retrying %s in %.0fs",
                    type(exc).__name__,
                    keys,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(RETRY_MAX, delay * 2)


async def run_worker(
    transport: Transport,
    sink_factory: Callable[[], EventSink],
    *,
    stop: asyncio.Event,
    batch: int = 10,
    concurrency: int = 1,
    sensor_of: Callable[[str], str | None] = lambda subject: None,
    report_every: float = 10.0,
) -> tuple[WorkerStats, ConsumeStats]:
    """Consume groups of up to `batch` messages, each stored in one transaction through a sink
    made by sink_factory (one per thread, `concurrency` threads), until stop is set, logging
    rates every report_every seconds; return what was stored and how messages were settled.

    One more group than there are threads is kept in hand, so the next group is fetched and
    decoded while one is being stored."""
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ingest")
    worker = BatchWorker(
        sink_factory, executor=executor, threads=concurrency, sensor_of=sensor_of, stop=stop
    )
    reporter = asyncio.create_task(_report(worker.stats, report_every))
    try:
        settled = await consume_groups(
            transport, worker, stop=stop, group=batch, in_flight=concurrency + 1
        )
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        executor.shutdown(wait=True)
    log.info("worker stopping: %s", describe(worker.stats))
    return worker.stats, settled


def describe(stats: WorkerStats) -> str:
    """Return one line summing up stats, with the rate since the start."""
    elapsed = max(1e-9, time.monotonic() - stats.started)
    return (
        f"{stats.messages} batches, {stats.records} records ({stats.records / elapsed:,.0f}/s), "
        f"{stats.events_stored} events stored, {stats.events_duplicate} duplicate, "
        f"{stats.skipped_batches} batches already stored, {stats.quarantined} quarantined"
    )


async def _report(stats: WorkerStats, every: float) -> None:
    last_records, last_time = 0, time.monotonic()
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        rate = (stats.records - last_records) / max(1e-9, now - last_time)
        last_records, last_time = stats.records, now
        log.info("%s; now %s records/s", describe(stats), f"{rate:,.0f}")
