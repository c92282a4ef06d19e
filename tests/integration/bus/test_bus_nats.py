"""The JetStream transport against the real NATS server: the stream set up idempotently,
publish and consume with acks, redelivery, de-duplication by message id, and dead letters."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from vardeild.bus.codec import encode_batch
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.transport import BusUnavailable, OutMessage, Received, consume, consume_groups
from vardeild.bus.worker import BatchWorker
from vardeild.monitoring.ingest import Feed, IngestResult, RawBatch, RawRecord

T = TypeVar("T")


def _run(config: NatsConfig, body: Callable[[NatsTransport], Awaitable[T]]) -> T:
    async def main() -> T:
        transport = await NatsTransport.connect(config)
        try:
            await transport.ensure_stream()
            return await body(transport)
        finally:
            await transport.close()

    return asyncio.run(main())


def _batch_payload(n: int) -> bytes:
    records = [RawRecord(i, b'{"event_type":"alert","n":%d}' % (n * 100 + i)) for i in range(3)]
    return encode_batch(RawBatch(source="ship:s1:/eve.json", feed=Feed.EVE, records=records))


def _messages(config: NatsConfig, n: int, prefix: str = "s1:f") -> list[OutMessage]:
    return [
        OutMessage(config.subject_for("s1"), f"{prefix}:{i}", _batch_payload(i)) for i in range(n)
    ]


def test_stream_setup_is_idempotent_and_follows_the_limits(nats_config: NatsConfig) -> None:
    async def body(transport: NatsTransport) -> None:
        await transport.ensure_stream()  # a second worker starting
        js = transport._nc.jetstream()
        info = await js.stream_info(nats_config.stream)
        assert info.config.subjects == [f"{nats_config.subject}.>"]
        assert info.config.retention == "workqueue"
        assert info.config.discard == "new"
        assert info.config.duplicate_window == nats_config.duplicate_window
        consumer = await js.consumer_info(nats_config.stream, nats_config.consumer)
        assert consumer.config.ack_policy == "explicit"
        assert consumer.config.ack_wait == nats_config.ack_wait
        assert consumer.config.max_deliver == -1  # Vardeild dead-letters, JetStream never drops
        bigger = dataclasses.replace(nats_config, max_bytes=nats_config.max_bytes * 2)
        await NatsTransport(transport._nc, bigger).ensure_stream()
        assert (await js.stream_info(nats_config.stream)).config.max_bytes == bigger.max_bytes

    _run(nats_config, body)


def test_publish_consume_ack(nats_config: NatsConfig) -> None:
    async def body(transport: NatsTransport) -> None:
        acks = await transport.publish(_messages(nats_config, 30))
        assert [a.duplicate for a in acks] == [False] * 30
        assert (await transport.queue_state()).messages == 30
        seen: list[str] = []
        stop = asyncio.Event()

        async def handler(message: Received) -> None:
            assert message.subject == nats_config.subject_for("s1")
            seen.append(message.msg_id)
            if len(seen) == 30:
                stop.set()

        stats = await asyncio.wait_for(consume(transport, handler, stop=stop, batch=8), 30)
        assert sorted(seen) == sorted(m.msg_id for m in _messages(nats_config, 30))
        assert stats.acked == 30
        await transport._nc.flush()
        state = await transport.queue_state()
        assert (state.messages, state.pending, state.ack_pending) == (0, 0, 0)  # work queue

    _run(nats_config, body)


def test_a_message_not_acked_is_delivered_again(nats_config: NatsConfig) -> None:
    config = dataclasses.replace(nats_config, ack_wait=2.0)

    async def body(transport: NatsTransport) -> None:
        await transport.publish(_messages(config, 1))
        (first,) = await transport.fetch(5, 1.0)
        assert first.attempt == 1  # ... and its worker dies without acking
        assert await transport.fetch(5, 0.5) == []  # still owned
        (again,) = await transport.fetch(5, 5.0)  # the ack wait has passed
        assert (again.msg_id, again.attempt, again.payload) == (
            first.msg_id,
            2,
            first.payload,
        )
        await again.nak(0)  # handed back: at once, not after the ack wait
        (third,) = await transport.fetch(5, 1.0)
        assert third.attempt == 3
        await third.ack()
        assert await transport.fetch(5, 0.5) == []

    _run(config, body)


def test_a_republished_message_id_is_stored_once(nats_config: NatsConfig) -> None:
    async def body(transport: NatsTransport) -> None:
        first = await transport.publish(_messages(nats_config, 5))
        again = await transport.publish(_messages(nats_config, 5))  # a shipper's resend
        assert [a.duplicate for a in again] == [True] * 5
        assert [a.sequence for a in again] == [a.sequence for a in first]
        assert (await transport.queue_state()).messages == 5

    _run(nats_config, body)


def test_the_message_id_is_the_batch_key_on_every_delivery(nats_config: NatsConfig) -> None:
    config = dataclasses.replace(nats_config, ack_wait=1.0)
    worker = BatchWorker(lambda: _Refuses(), executor=None, sensor_of=config.sensor_of)  # type: ignore[arg-type]

    async def body(transport: NatsTransport) -> None:
        await transport.publish(_messages(config, 1))
        (first,) = await transport.fetch(1, 2.0)
        (again,) = await transport.fetch(1, 5.0)
        keys = {worker.batch_of(first).batch_key, worker.batch_of(again).batch_key}
        assert keys == {"bus:s1:f:0"}
        assert worker.batch_of(again).sensor == "s1"  # from the subject
        await again.ack()
        # A publisher that sets no id: the stream sequence stands in, as stable.
        await transport._js.publish(config.subject_for("s2"), b'{"event_type":"alert"}\n')
        (plain,) = await transport.fetch(1, 2.0)
        batch = worker.batch_of(plain)
        assert batch.batch_key == f"bus:{config.stream}:2"
        assert (batch.sensor, batch.feed, len(batch.records)) == ("s2", Feed.EVE, 1)
        await plain.ack()

    _run(config, body)


class _Refuses:
    def ingest(self, batch: RawBatch) -> IngestResult:
        raise RuntimeError("the pipeline refuses this batch")


def test_poison_and_failing_batches_go_to_the_dead_letters(nats_config: NatsConfig) -> None:
    config = dataclasses.replace(nats_config, max_deliver=2)

    async def body(transport: NatsTransport) -> None:
        await transport.publish(
            [
                OutMessage(config.subject_for("s1"), "garbage", b"\x07 not a batch"),
                OutMessage(config.subject_for("s1"), "refused", _batch_payload(1)),
            ]
        )
        stop = asyncio.Event()
        with ThreadPoolExecutor(1) as executor:
            worker = BatchWorker(_Refuses, executor=executor, stop=stop)

            async def until_both_dead() -> None:
                while (await transport.queue_state()).dead_letters < 2:
                    await asyncio.sleep(0.1)
                stop.set()

            watcher = asyncio.create_task(until_both_dead())
            stats = await asyncio.wait_for(
                consume_groups(transport, worker, stop=stop, fetch_timeout=0.5), 30
            )
            await watcher
        assert stats.dead_lettered == 2
        assert stats.retried >= 1  # the refused batch was tried again before giving up
        state = await transport.queue_state()
        assert (state.messages, state.ack_pending) == (0, 0)  # nothing stuck in the queue
        dead = {letter.msg_id: letter for letter in await transport.dead_letters()}
        assert dead["garbage"].reason.startswith("cannot decode the batch")
        assert dead["garbage"].attempts == 1
        assert dead["garbage"].payload == b"\x07 not a batch"
        assert "the pipeline refuses this batch" in dead["refused"].reason
        assert dead["refused"].attempts == 2
        assert dead["refused"].subject == config.subject_for("s1")
        assert dead["refused"].payload == _batch_payload(1)  # kept whole, to be replayed

        # The bug fixed, an operator replays the refused batch: it comes back as itself.
        await transport.replay_dead_letter(dead["refused"])
        assert [letter.msg_id for letter in await transport.dead_letters()] == ["garbage"]
        taken: list[RawBatch] = []

        class Accepts:
            def ingest(self, batch: RawBatch) -> IngestResult:
                taken.append(batch)
                return IngestResult(records=len(batch.records))

        stop = asyncio.Event()
        with ThreadPoolExecutor(1) as executor:
            worker = BatchWorker(Accepts, executor=executor, stop=stop)

            async def until_taken() -> None:
                while not taken:
                    await asyncio.sleep(0.05)
                stop.set()

            watcher = asyncio.create_task(until_taken())
            await asyncio.wait_for(
                consume_groups(transport, worker, stop=stop, fetch_timeout=0.5), 30
            )
            await watcher
        assert [batch.batch_key for batch in taken] == ["bus:refused"]

    _run(config, body)


def test_an_unreachable_server_is_reported(nats_config: NatsConfig) -> None:
    from support.nats import closed_port_url

    config = dataclasses.replace(nats_config, url=closed_port_url())
    with pytest.raises(BusUnavailable, match="cannot reach NATS"):
        asyncio.run(NatsTransport.connect(config, connect_timeout=1))
