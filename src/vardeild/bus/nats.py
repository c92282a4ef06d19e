"""The bus over NATS JetStream: a `Transport` across machines.

Layout (created idempotently by `NatsTransport.ensure_stream`, which workers call on start):

- the stream `<nats_stream>` takes `<nats_subject>.>`; a sensor publishes to
  `<nats_subject>.<sensor>`, so NATS permissions can pin each sensor's user to its own subject.
  File storage, work-queue retention (a batch is deleted once a worker acked it), and
  `discard: new` with a byte cap: when full, the stream refuses new batches — shippers keep them
  in their spool — rather than silently dropping the oldest unprocessed ones. Publishes carry a
  `Nats-Msg-Id`; JetStream drops a repeat within the duplicate window.
- one durable pull consumer `<nats_consumer>` with explicit acks, which every worker on every
  machine binds to; JetStream hands each batch to one of them. Its `max_deliver` is left
  unlimited on purpose: at that limit JetStream would stop delivering a batch but keep it in the
  work queue, silently stuck. Vardeild counts attempts itself (the delivery count in each
  message's metadata) and dead-letters the batch instead (bus.transport).
- the stream `<nats_stream>_DEAD` takes `<nats_dead_letter_subject>`: batches that failed
  `nats_max_deliver` times, with `Vardeild-Reason`, `Vardeild-Msg-Id`, `Vardeild-Subject` and
  `Vardeild-Attempts` headers. Limits retention, kept 30 days.

A delivered message's id is its `Vardeild-Msg-Id` header (set on a replayed dead letter, whose
`Nats-Msg-Id` must be new to pass the duplicate window), else its `Nats-Msg-Id`, else
`<stream>:<stream sequence>` where the publisher set none: the same on every redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from vardeild.bus.transport import BusUnavailable, OutMessage, PublishAck, Received
from vardeild.settings import Settings

log = logging.getLogger("vardeild.bus")

MSG_ID = "Nats-Msg-Id"
LOGICAL_ID = "Vardeild-Msg-Id"  # the batch's own id, where Nats-Msg-Id differs (a replay)
DEAD_LETTER_MAX_AGE = 30 * 24 * 3600.0


@dataclass(frozen=True)
class NatsConfig:
    """Where the stream is and how it is set up (from Settings, see docs/scale-out.md)."""

    url: str = "nats://127.0.0.1:4222"
    stream: str = "VARDEILD_EVENTS"
    subject: str = "vardeild.events.eve"
    consumer: str = "vardeild-workers"
    dead_letter_subject: str = "vardeild.dead.eve"
    ack_wait: float = 60.0
    max_deliver: int = 10
    duplicate_window: float = 120.0
    max_bytes: int = 8 * 1024**3
    replicas: int = 1
    credentials: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> NatsConfig:
        """Return the configuration the settings describe."""
        return cls(
            url=settings.nats_url,
            stream=settings.nats_stream,
            subject=settings.nats_subject,
            consumer=settings.nats_consumer,
            dead_letter_subject=settings.nats_dead_letter_subject,
            ack_wait=settings.nats_ack_wait,
            max_deliver=settings.nats_max_deliver,
            duplicate_window=settings.nats_duplicate_window,
            max_bytes=settings.nats_stream_max_bytes,
            replicas=settings.nats_replicas,
            credentials=settings.nats_credentials,
        )

    @property
    def dead_letter_stream(self) -> str:
        """The stream that keeps dead letters."""
        return f"{self.stream}_DEAD"

    def subject_for(self, sensor: str) -> str:
        """Return the subject a sensor publishes to."""
        return f"{self.subject}.{sensor}"

    def sensor_of(self, subject: str) -> str | None:
        """Return the sensor a subject names, or None for a subject outside the prefix."""
        prefix = self.subject + "."
        return subject[len(prefix) :] if subject.startswith(prefix) else None


@dataclass(frozen=True)
class DeadLetterInfo:
    """A batch in the dead-letter stream, and why it is there."""

    sequence: int  # in the dead-letter stream
    msg_id: str
    subject: str
    attempts: int
    reason: str
    payload: bytes
    time: datetime | None


@dataclass(frozen=True)
class QueueState:
    """How much work the stream holds (for operators, tests and benchmarks)."""

    messages: int  # stored, not yet acked
    bytes: int
    pending: int  # not yet delivered to any worker
    ack_pending: int  # delivered, not yet acked
    redelivered: int
    dead_letters: int


class NatsDelivery:
    """One JetStream delivery, as a `Received`."""

    __slots__ = ("_attempt", "_msg", "_msg_id", "sequence")

    def __init__(self, msg: Msg, stream: str) -> None:
        self._msg = msg
        metadata = msg.metadata
        self._attempt = metadata.num_delivered
        self.sequence = metadata.sequence.stream
        headers = msg.headers or {}
        self._msg_id = headers.get(LOGICAL_ID) or headers.get(MSG_ID) or f"{stream}:{self.sequence}"

    @property
    def subject(self) -> str:
        """The subject it was published to."""
        return self._msg.subject

    @property
    def msg_id(self) -> str:
        """Its id (see the module docstring)."""
        return self._msg_id

    @property
    def payload(self) -> bytes:
        """What it carries."""
        return self._msg.data

    @property
    def attempt(self) -> int:
        """Deliveries so far, this one included."""
        return self._attempt

    async def ack(self) -> None:
        """Acknowledge it: the work queue deletes it."""
        await self._msg.ack()

    async def nak(self, delay: float) -> None:
        """Ask for redelivery after delay seconds."""
        await self._msg.nak(delay=delay if delay > 0 else None)

    async def in_progress(self) -> None:
        """Restart its ack-wait clock."""
        await self._msg.in_progress()

    async def term(self) -> None:
        """Stop its redelivery for good."""
        await self._msg.term()


class NatsTransport:
    """A Transport over NATS JetStream (see the module docstring)."""

    def __init__(self, client: Client, config: NatsConfig) -> None:
        self._nc = client
        self._js: JetStreamContext = client.jetstream()
        self.config = config
        self._subscription: JetStreamContext.PullSubscription | None = None

    @classmethod
    async def connect(
        cls, config: NatsConfig, *, name: str = "vardeild", connect_timeout: float = 2.0
    ) -> NatsTransport:
        """Return a transport connected to config.url; raises BusUnavailable when no server
        answers. Once connected, the client reconnects on its own after an interruption."""
        options: dict[str, Any] = {}
        if config.credentials is not None:
            options["user_credentials"] = str(config.credentials)
        servers = [server.strip() for server in config.url.split(",") if server.strip()]
        client = Client()
        # Told to reconnect forever once connected, the client would also retry its first
        # connection forever: bound that one here.
        try:
            await asyncio.wait_for(
                client.connect(
                    servers,
                    name=name,
                    connect_timeout=max(1, round(connect_timeout)),
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    error_cb=_log_error,
                    **options,
                ),
                timeout=connect_timeout * len(servers) + 1,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await client.close()
            raise BusUnavailable(f"cannot reach NATS at {config.url}: {_describe(exc)}") from exc
        return cls(client, config)

    @property
    def ack_wait(self) -> float:
        """Seconds JetStream waits for an ack before redelivering."""
        return self.config.ack_wait

    @property
    def max_deliver(self) -> int:
        """Attempts at a batch before it is dead-lettered."""
        return self.config.max_deliver

    async def ensure_stream(self) -> None:
        """Create the stream, the dead-letter stream and the durable consumer where missing,
        and bring the streams' limits in line with the configuration where they differ."""
        config = self.config
        await self._ensure_one_stream(
            api.StreamConfig(
                name=config.stream,
                subjects=[f"{config.subject}.>"],
                retention=api.RetentionPolicy.WORK_QUEUE,
                storage=api.StorageType.FILE,
                discard=api.DiscardPolicy.NEW,
                max_bytes=config.max_bytes,
                duplicate_window=config.duplicate_window,
                num_replicas=config.replicas,
            )
        )
        await self._ensure_one_stream(
            api.StreamConfig(
                name=config.dead_letter_stream,
                subjects=[config.dead_letter_subject],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                discard=api.DiscardPolicy.OLD,
                max_bytes=-1,
                max_age=DEAD_LETTER_MAX_AGE,
                duplicate_window=config.duplicate_window,
                num_replicas=config.replicas,
            )
        )
        try:
            await self._js.consumer_info(config.stream, config.consumer)
        except nats.js.errors.NotFoundError:
            await self._js.add_consumer(
                config.stream,
                api.ConsumerConfig(
                    durable_name=config.consumer,
                    ack_policy=api.AckPolicy.EXPLICIT,
                    ack_wait=config.ack_wait,
                    max_deliver=-1,
                    deliver_policy=api.DeliverPolicy.ALL,
                    max_ack_pending=-1,
                ),
            )

    async def _ensure_one_stream(self, wanted: api.StreamConfig) -> None:
        assert wanted.name is not None
        try:
            info = await self._js.stream_info(wanted.name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(wanted)
            return
        have = info.config
        if (
            have.subjects != wanted.subjects
            or have.max_bytes != wanted.max_bytes
            or have.duplicate_window != wanted.duplicate_window
            or have.discard != wanted.discard
        ):
            log.info("updating the limits of stream %s", wanted.name)
            await self._js.update_stream(wanted)

    async def publish(
        self, messages: Sequence[OutMessage], timeout: float = 5.0
    ) -> list[PublishAck]:
        """Publish messages pipelined and wait (at most timeout) for every ack."""
        futures: list[asyncio.Future[api.PubAck]] = []
        try:
            for message in messages:
                futures.append(
                    await self._js.publish_async(
                        message.subject,
                        message.payload,
                        wait_stall=timeout,
                        headers={MSG_ID: message.msg_id},
                    )
                )
        except (OSError, nats.errors.Error) as exc:
            for future in futures:
                future.cancel()
            raise BusUnavailable(f"publishing to NATS failed: {_describe(exc)}") from exc
        if futures:
            await asyncio.wait(futures, timeout=timeout)
        acks: list[PublishAck] = []
        failure: str | None = None
        for future in futures:
            if not future.done():
                failure = failure or f"no acknowledgement within {timeout:g}s"
                future.cancel()
            elif future.cancelled():
                failure = failure or "publish cancelled"
            elif (error := future.exception()) is not None:
                failure = failure or _describe(error)
            elif failure is None:
                ack = future.result()
                acks.append(PublishAck(sequence=ack.seq, duplicate=bool(ack.duplicate)))
        if failure is not None:
            raise BusUnavailable(f"publishing to NATS failed: {failure}", acked=len(acks))
        return acks

    async def fetch(self, max_messages: int, timeout: float) -> list[Received]:
        """Pull up to max_messages from the durable consumer."""
        if self._subscription is None:
            self._subscription = await self._js.pull_subscribe_bind(
                durable=self.config.consumer, stream=self.config.stream
            )
        try:
            msgs = await self._subscription.fetch(max_messages, timeout=timeout)
        except (nats.errors.TimeoutError, TimeoutError):
            return []
        # A message redelivered while an earlier delivery of it waited in this fetch (its ack
        # wait ran out) comes twice: keep the latest delivery, which is the one JetStream owns.
        latest: dict[int, Msg] = {}
        for msg in msgs:
            sequence = msg.metadata.sequence.stream
            held = latest.get(sequence)
            if held is None or msg.metadata.num_delivered > held.metadata.num_delivered:
                latest[sequence] = msg
        return [NatsDelivery(msg, self.config.stream) for msg in latest.values()]

    async def dead_letter(self, message: Received, reason: str) -> None:
        """Publish message to the dead-letter subject with why, and wait for its ack."""
        # Dead-lettering the same stored message twice (its worker died before the term)
        # keeps one copy; a replayed copy is stored anew, so it gets a new id.
        sequence = message.sequence if isinstance(message, NatsDelivery) else 0
        headers = {
            MSG_ID: f"dead:{message.msg_id}:{sequence}",
            LOGICAL_ID: message.msg_id,
            "Vardeild-Subject": message.subject,
            "Vardeild-Attempts": str(message.attempt),
            # Headers are one line each.
            "Vardeild-Reason": " ".join(reason.split())[:1000],
        }
        await self._js.publish(
            self.config.dead_letter_subject, message.payload, timeout=5.0, headers=headers
        )

    async def dead_letters(self, limit: int = 1000) -> list[DeadLetterInfo]:
        """Return up to limit dead letters, oldest first."""
        found: list[DeadLetterInfo] = []
        try:
            info = await self._js.stream_info(self.config.dead_letter_stream)
        except nats.js.errors.NotFoundError:
            return found
        sequence = info.state.first_seq
        while sequence and sequence <= info.state.last_seq and len(found) < limit:
            try:
                raw = await self._js.get_msg(self.config.dead_letter_stream, sequence)
            except nats.js.errors.NotFoundError:  # deleted: replayed
                sequence += 1
                continue
            headers = dict(raw.headers or {})
            found.append(
                DeadLetterInfo(
                    sequence=sequence,
                    msg_id=headers.get(LOGICAL_ID, ""),
                    subject=headers.get("Vardeild-Subject", ""),
                    attempts=int(headers.get("Vardeild-Attempts", "0") or 0),
                    reason=headers.get("Vardeild-Reason", ""),
                    payload=raw.data or b"",
                    time=raw.time,
                )
            )
            sequence += 1
        return found

    async def replay_dead_letter(self, letter: DeadLetterInfo) -> None:
        """Publish a dead letter to its subject again, as the same batch (its id is its batch
        key), and remove it from the dead letters once JetStream has it."""
        headers = {MSG_ID: f"replay:{uuid.uuid4().hex}", LOGICAL_ID: letter.msg_id}
        await self._js.publish(letter.subject, letter.payload, timeout=5.0, headers=headers)
        await self._js.delete_msg(self.config.dead_letter_stream, letter.sequence)

    async def queue_state(self) -> QueueState:
        """Return how much work the stream and its consumer hold."""
        stream = await self._js.stream_info(self.config.stream)
        consumer = await self._js.consumer_info(self.config.stream, self.config.consumer)
        try:
            dead = (await self._js.stream_info(self.config.dead_letter_stream)).state.messages
        except nats.js.errors.NotFoundError:
            dead = 0
        return QueueState(
            messages=stream.state.messages,
            bytes=stream.state.bytes,
            pending=consumer.num_pending or 0,
            ack_pending=consumer.num_ack_pending or 0,
            redelivered=consumer.num_redelivered or 0,
            dead_letters=dead,
        )

    async def delete_streams(self) -> None:
        """Delete the stream and the dead-letter stream (tests and benchmarks clean up)."""
        for name in (self.config.stream, self.config.dead_letter_stream):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_stream(name)

    async def close(self) -> None:
        """Flush pending acks and close the connection."""
        if self._nc.is_closed:
            return
        try:
            if self._nc.is_connected:
                await self._nc.flush(timeout=2)
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            log.warning("could not flush to NATS before closing: %s", _describe(exc))
        await self._nc.close()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, nats.js.errors.APIError) and exc.description:
        text = exc.description
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _log_error(exc: Exception) -> None:
    log.debug("NATS client: %s", _describe(exc))
