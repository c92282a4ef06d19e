"""`vardeild worker`: take batches off the bus and store them through the pipeline.

Each message is decoded (bus.codec) into a `RawBatch` whose `batch_key` is `bus:<message id>` —
the same on every redelivery and every re-publish — and handed to the sink (the pipeline) in a
worker thread. The sink returns only after its commit; only then does the consuming loop
(bus.transport.consume) ack the message. So a worker killed at any moment loses nothing (the
message is redelivered after the ack wait) and duplicates nothing (a redelivered batch whose
commit happened but whose ack was lost is skipped by its key).

While the database is unreachable, a batch is retried here, in place, with backoff — the
message is kept in progress meanwhile — rather than failed back to the bus, where repeated
failures would send perfectly good batches to the dead letters. A message that cannot be
decoded is dead-lettered at once; any other failure is retried by the bus and dead-lettered
after `max_deliver` attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from vardeild.bus.codec import CodecError, decode_batch
from vardeild.bus.transport import ConsumeStats, PoisonMessage, Received, Transport, consume
from vardeild.monitoring.ingest import EventSink, IngestResult, RawBatch

log = logging.getLogger("vardeild.worker")

RETRY_MAX = 30.0


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
    started: float = field(default_factory=time.monotonic)

    def add(self, result: IngestResult) -> None:
        """Count one ingested batch."""
        self.messages += 1
        self.records += result.records
        self.events_stored += result.events_stored
        self.events_duplicate += result.events_duplicate
        self.quarantined += result.quarantined
        self.skipped_batches += int(result.skipped_batch)


class BatchWorker:
    """The handler the consuming loop calls for each message."""

    def __init__(
        self,
        sink_factory: Callable[[], EventSink],
        *,
        executor: ThreadPoolExecutor,
        sensor_of: Callable[[str], str | None] = lambda subject: None,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Batches are ingested on executor's threads, each through a sink of its own made by
        sink_factory (so a sink need not be thread-safe)."""
        self._sink_factory = sink_factory
        self._executor = executor
        self._local = threading.local()
        self._sensor_of = sensor_of
        self._stop = stop or asyncio.Event()
        self.stats = WorkerStats()

    def _ingest(self, batch: RawBatch) -> IngestResult:
        sink: EventSink | None = getattr(self._local, "sink", None)
        if sink is None:
            sink = self._local.sink = self._sink_factory()
        return sink.ingest(batch)

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

    async def __call__(self, message: Received) -> None:
        """Store message's batch; returns only after the sink committed it."""
        batch = self.batch_of(message)
        delay = 1.0
        while True:
            try:
                loop = asyncio.get_running_loop()
                result = await loop.run_in_executor(self._executor, self._ingest, batch)
            except Exception as exc:
                if not is_transient(exc) or self._stop.is_set():
                    raise
                self.stats.retried_transient += 1
                log.warning(
                    "the database is unreachable (%s); retrying batch %s in %.0fs",
                    type(exc).__name__,
                    message.msg_id,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(RETRY_MAX, delay * 2)
                continue
            self.stats.add(result)
            return


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
    """Consume batches into sinks made by sink_factory (one per thread, `concurrency`
    threads) until stop is set, logging rates every report_every seconds; return what was
    stored and how messages were settled."""
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ingest")
    worker = BatchWorker(sink_factory, executor=executor, sensor_of=sensor_of, stop=stop)
    reporter = asyncio.create_task(_report(worker.stats, report_every))
    try:
        settled = await consume(transport, worker, stop=stop, batch=batch, concurrency=concurrency)
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
