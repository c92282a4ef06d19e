"""The consuming loop over the in-process bus: ack after the handler, redelivery, dead letters,
and a graceful stop; and its form for groups (each message settled by its own outcome, the
next group fetched while one is handled). The same loop runs over JetStream
(tests/integration/bus)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Sequence

import pytest

from vardeild.bus.codec import encode_batch
from vardeild.bus.memory import MemoryTransport
from vardeild.bus.transport import (
    NotStarted,
    OutMessage,
    PoisonMessage,
    Received,
    consume,
    consume_groups,
)
from vardeild.bus.worker import run_worker
from vardeild.monitoring.ingest import Feed, IngestResult, RawBatch, RawRecord


def _messages(n: int, prefix: str = "m") -> list[OutMessage]:
    return [OutMessage("events.s1", f"{prefix}{i}", f"payload {i}".encode()) for i in range(n)]


async def _until(condition: object, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def test_publish_deduplicates_message_ids_within_the_window() -> None:
    async def run() -> None:
        bus = MemoryTransport(duplicate_window=60)
        first = await bus.publish(_messages(3))
        again = await bus.publish(_messages(3))
        assert [a.duplicate for a in first] == [False] * 3
        assert [a.duplicate for a in again] == [True] * 3
        assert [a.sequence for a in again] == [a.sequence for a in first]
        assert bus.pending == 3
        expired = MemoryTransport(duplicate_window=1e-9)
        await expired.publish(_messages(1))
        await asyncio.sleep(0.001)
        assert not (await expired.publish(_messages(1)))[0].duplicate

    asyncio.run(run())


def test_each_message_is_handled_and_acked_once() -> None:
    async def run() -> None:
        bus = MemoryTransport()
        await bus.publish(_messages(50))
        seen: Counter[str] = Counter()
        stop = asyncio.Event()

        async def handler(message: Received) -> None:
            seen[message.msg_id] += 1
            if len(seen) == 50:
                stop.set()

        stats = await consume(bus, handler, stop=stop, batch=7, concurrency=3)
        assert set(seen.values()) == {1}
        assert stats.acked == 50
        assert bus.pending == 0

    asyncio.run(run())


def test_a_message_not_acked_in_time_is_delivered_again() -> None:
    async def run() -> None:
        bus = MemoryTransport(ack_wait=0.05)
        await bus.publish(_messages(1))
        first = await bus.fetch(1, 0.1)
        assert [m.attempt for m in first] == [1]
        assert await bus.fetch(1, 0.01) == []  # still owned by the first receiver
        again = await bus.fetch(1, 1.0)
        assert [(m.msg_id, m.attempt) for m in again] == [("m0", 2)]
        await first[0].ack()  # too late: it was taken away; the new delivery still owns it
        assert bus.pending == 1
        await again[0].ack()
        assert bus.pending == 0

    asyncio.run(run())


def test_in_progress_keeps_a_slow_message() -> None:
    async def run() -> None:
        bus = MemoryTransport(ack_wait=0.3)
        await bus.publish(_messages(1))
        stop = asyncio.Event()
        attempts: list[int] = []

        async def slow(message: Received) -> None:
            attempts.append(message.attempt)
            await asyncio.sleep(1.0)  # several ack waits; the loop signals in progress
            stop.set()

        stats = await consume(bus, slow, stop=stop)
        assert attempts == [1]
        assert stats.acked == 1

    asyncio.run(run())


def test_failures_are_retried_then_dead_lettered() -> None:
    async def run() -> None:
        bus = MemoryTransport(max_deliver=3)
        await bus.publish(_messages(2))
        stop = asyncio.Event()
        attempts: Counter[str] = Counter()

        async def handler(message: Received) -> None:
            attempts[message.msg_id] += 1
            if message.msg_id == "m1":
                raise RuntimeError("this batch breaks the pipeline")

        task = asyncio.create_task(consume(bus, handler, stop=stop, fetch_timeout=0.05))
        await _until(lambda: bus.dead_letters, timeout=10)
        stop.set()
        stats = await task
        assert attempts == {"m0": 1, "m1": 3}
        assert stats.retried == 2
        assert stats.dead_lettered == 1
        (dead,) = bus.dead_letters
        assert (dead.msg_id, dead.attempts, dead.payload) == ("m1", 3, b"payload 1")
        assert "failed 3 times" in dead.reason
        assert "this batch breaks the pipeline" in dead.reason
        assert bus.pending == 0

    asyncio.run(run())


def test_poison_goes_to_the_dead_letters_at_once() -> None:
    async def run() -> None:
        bus = MemoryTransport(max_deliver=5)
        await bus.publish(_messages(1))
        stop = asyncio.Event()

        async def handler(message: Received) -> None:
            stop.set()
            raise PoisonMessage("cannot decode the batch: unknown payload format")

        stats = await consume(bus, handler, stop=stop)
        assert stats.dead_lettered == 1
        assert bus.dead_letters[0].attempts == 1
        assert bus.dead_letters[0].reason.startswith("cannot decode")

    asyncio.run(run())


def test_a_message_delivered_too_often_is_dead_lettered_unhandled() -> None:
    # A message that kills its worker is never failed by a handler; its delivery count grows.
    async def run() -> None:
        bus = MemoryTransport(max_deliver=2, ack_wait=0.01)
        await bus.publish(_messages(1))
        for _ in range(2):
            taken = await bus.fetch(1, 1.0)
            assert taken  # ... and the worker dies holding it
            await asyncio.sleep(0.02)
        stop = asyncio.Event()
        handled: list[str] = []

        async def handler(message: Received) -> None:
            handled.append(message.msg_id)

        task = asyncio.create_task(consume(bus, handler, stop=stop, fetch_timeout=0.05))
        await _until(lambda: bus.dead_letters)
        stop.set()
        await task
        assert handled == []
        assert "delivered 2 times without being acknowledged" in bus.dead_letters[0].reason

    asyncio.run(run())


def test_stop_finishes_work_in_hand_and_hands_back_the_rest() -> None:
    async def run() -> None:
        bus = MemoryTransport()
        await bus.publish(_messages(10))
        stop = asyncio.Event()
        finished: list[str] = []

        async def handler(message: Received) -> None:
            stop.set()  # SIGTERM arrives while the first batch is being stored
            await asyncio.sleep(0.1)
            finished.append(message.msg_id)

        stats = await consume(bus, handler, stop=stop, batch=10, concurrency=1)
        assert finished == ["m0"]
        assert stats.acked == 1
        assert stats.handed_back == 9
        assert bus.pending == 9
        again = await bus.fetch(10, 0.1)
        assert len(again) == 9  # at once, not after the ack wait

    asyncio.run(run())


def test_consume_survives_a_bus_that_fails_to_fetch() -> None:
    class Flaky(MemoryTransport):
        failures = 2

        async def fetch(self, max_messages: int, timeout: float) -> list[Received]:
            if self.failures:
                self.failures -= 1
                raise ConnectionError("connection reset")
            return await super().fetch(max_messages, timeout)

    async def run() -> None:
        bus = Flaky()
        await bus.publish(_messages(1))
        stop = asyncio.Event()

        async def handler(message: Received) -> None:
            stop.set()

        stats = await consume(bus, handler, stop=stop)
        assert stats.acked == 1

    asyncio.run(run())


def test_each_message_of_a_group_is_settled_by_its_own_outcome() -> None:
    async def run() -> None:
        bus = MemoryTransport(max_deliver=3)
        await bus.publish(_messages(4))
        stop = asyncio.Event()
        groups: list[list[str]] = []

        async def handler(messages: Sequence[Received]) -> list[BaseException | None]:
            groups.append([m.msg_id for m in messages])
            if len(groups) == 1:
                return [None, PoisonMessage("cannot decode"), RuntimeError("broke"), NotStarted()]
            if any(m.msg_id == "m2" for m in messages):
                stop.set()
            return [None] * len(messages)

        stats = await consume_groups(bus, handler, stop=stop, group=4, fetch_timeout=0.05)
        assert groups[0] == ["m0", "m1", "m2", "m3"]
        # m3 was handed back (at once), m2 failed (back after a backoff): both came again.
        assert groups[1:] == [["m3"], ["m2"]]
        assert (stats.acked, stats.dead_lettered, stats.retried) == (3, 1, 1)
        assert stats.handed_back == 1
        assert [letter.msg_id for letter in bus.dead_letters] == ["m1"]
        assert bus.pending == 0

    asyncio.run(run())


def test_the_next_group_is_fetched_while_one_is_handled() -> None:
    async def run() -> None:
        bus = MemoryTransport()
        await bus.publish(_messages(4))
        stop = asyncio.Event()
        second_fetched = asyncio.Event()
        order: list[str] = []

        async def handler(messages: Sequence[Received]) -> list[BaseException | None]:
            order.append(f"start {messages[0].msg_id}")
            if messages[0].msg_id == "m0":
                await second_fetched.wait()  # the first group is held until the second came
            else:
                second_fetched.set()
                stop.set()
            order.append(f"end {messages[0].msg_id}")
            return [None] * len(messages)

        stats = await asyncio.wait_for(
            consume_groups(bus, handler, stop=stop, group=2, in_flight=2), 5
        )
        assert order == ["start m0", "start m2", "end m2", "end m0"]
        assert stats.acked == 4

    asyncio.run(run())


def test_a_worn_out_message_never_reaches_the_group_handler() -> None:
    async def run() -> None:
        bus = MemoryTransport(max_deliver=1, ack_wait=0.01)
        await bus.publish(_messages(2))
        taken = await bus.fetch(1, 1.0)  # m0's worker dies holding it
        assert [m.msg_id for m in taken] == ["m0"]
        await asyncio.sleep(0.02)
        stop = asyncio.Event()
        handled: list[str] = []

        async def handler(messages: Sequence[Received]) -> list[BaseException | None]:
            handled.extend(m.msg_id for m in messages)
            stop.set()
            return [None] * len(messages)

        stats = await consume_groups(bus, handler, stop=stop, group=2, fetch_timeout=0.05)
        assert handled == ["m1"]
        assert (stats.acked, stats.dead_lettered) == (1, 1)
        assert "delivered 1 times without being acknowledged" in bus.dead_letters[0].reason

    asyncio.run(run())


def test_batch_and_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(consume(MemoryTransport(), _noop, stop=asyncio.Event(), batch=0))
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(consume_groups(MemoryTransport(), _none, stop=asyncio.Event(), group=0))


async def _noop(message: Received) -> None:
    return None


async def _none(messages: Sequence[Received]) -> list[BaseException | None]:
    return [None] * len(messages)


def test_a_worker_asked_to_stop_finishes_its_group_and_hands_back_the_next() -> None:
    # The worker keeps the next group fetched and decoded while one is stored; on stop the
    # stored group is finished and acked, the waiting one handed back at once, unstored.
    stored: list[list[str]] = []

    class SlowSink:
        def __init__(self, started: threading.Event, release: threading.Event) -> None:
            self.started, self.release = started, release

        def ingest(self, batch: RawBatch) -> IngestResult:
            return self.ingest_many([batch])[0]

        def ingest_many(self, batches: Sequence[RawBatch]) -> list[IngestResult]:
            self.started.set()
            self.release.wait(5)
            stored.append([batch.batch_key or "" for batch in batches])
            return [IngestResult(records=len(batch.records)) for batch in batches]

    class Counting(MemoryTransport):
        fetched = 0

        async def fetch(self, max_messages: int, timeout: float) -> list[Received]:
            taken = await super().fetch(max_messages, timeout)
            self.fetched += len(taken)
            return taken

    async def run() -> None:
        bus = Counting()
        payload = encode_batch(
            RawBatch(source="t", feed=Feed.EVE, records=[RawRecord(0, b'{"event_type":"x"}')])
        )
        await bus.publish([OutMessage("events.s1", f"m{i}", payload) for i in range(4)])
        stop = asyncio.Event()
        started, release = threading.Event(), threading.Event()
        sink = SlowSink(started, release)
        task = asyncio.create_task(run_worker(bus, lambda: sink, stop=stop, batch=2))
        await asyncio.to_thread(started.wait, 5)
        await _until(lambda: bus.fetched == 4)  # the next group is in hand, decoded, waiting
        stop.set()
        release.set()
        stats, settled = await asyncio.wait_for(task, 5)
        assert stored == [["bus:m0", "bus:m1"]]
        assert (settled.acked, settled.handed_back) == (2, 2)
        assert stats.groups == 1
        again = await bus.fetch(10, 0.1)
        assert sorted(m.msg_id for m in again) == ["m2", "m3"]  # at once, not after ack wait

    asyncio.run(run())
