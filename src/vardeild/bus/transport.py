"""The bus between the ways in and the workers: one interface, two implementations.

`Transport` is what a bus offers: publish messages under a message id (a re-publish of the same
id is acknowledged as a duplicate, not stored twice), and hand out messages that stay owned by
the receiver until it acks them (`Received`). `MemoryTransport` (bus.memory) does it in one
process; `NatsTransport` (bus.nats) over NATS JetStream, across machines.

`consume` is the one consuming loop both share, so their behaviour is the same by
construction (`consume_groups` is the same loop for a handler that takes several messages at a
time, as the worker does to store them in one transaction; each message is settled by its own
outcome): a message is acked only after its handler returned; a handler that raises gets
the message redelivered later (with backoff); a message that has failed `max_deliver` times,
or has been delivered more often than that without being settled (it kills its worker), or
that the handler declares poison (`PoisonMessage`), goes to the dead letters with the reason,
and is never redelivered. While a message is held — waiting for a slot or being handled — the
loop tells the bus it is still in progress, so a long batch is not redelivered to another
worker meanwhile. On stop, handlers in flight finish and are acked; fetched messages not yet
started are handed back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("vardeild.bus")

# Redelivery delay after the nth failed attempt (seconds), capped.
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to publish. `msg_id` is its identity: the same id published again within the
    bus's duplicate window is acknowledged as a duplicate and not stored again."""

    subject: str
    msg_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class PublishAck:
    """The bus's acknowledgement of one published message."""

    sequence: int  # its position in the stream
    duplicate: bool  # the id was already stored; this copy was dropped


class BusUnavailable(Exception):
    """Publishing failed part-way: the first `acked` messages were acknowledged, the rest may
    or may not have been stored (publish them again under the same ids)."""

    def __init__(self, message: str, *, acked: int = 0) -> None:
        super().__init__(message)
        self.acked = acked


class PoisonMessage(Exception):
    """Raised by a handler for a message that can never succeed (it cannot be decoded): it goes
    to the dead letters at once, with this exception's message as the reason."""


class NotStarted(Exception):
    """A group handler's outcome for a message it did not start on (asked to stop first): it is
    handed back to the bus at once, not counted as a failed attempt."""


class Received(Protocol):
    """A message handed to a receiver, which must settle it: ack, nak or term."""

    @property
    def subject(self) -> str: ...

    @property
    def msg_id(self) -> str:
        """The publisher's message id; where it set none, one derived from the stream
        position. Stable across redeliveries."""
        ...

    @property
    def payload(self) -> bytes: ...

    @property
    def attempt(self) -> int:
        """How many times it has been delivered, this time included (1 the first time)."""
        ...

    async def ack(self) -> None:
        """Settle it as done: it is not delivered again."""

    async def nak(self, delay: float) -> None:
        """Hand it back, to be delivered again after delay seconds."""

    async def in_progress(self) -> None:
        """Say it is still being worked on, restarting its ack-wait clock."""

    async def term(self) -> None:
        """Settle it as never to be delivered again (after dead-lettering)."""


class Transport(Protocol):
    """A bus: publish messages, fetch them for a durable, shared consumer, dead-letter them."""

    @property
    def ack_wait(self) -> float:
        """Seconds a fetched message stays owned by its receiver without an ack."""
        ...

    @property
    def max_deliver(self) -> int:
        """Attempts at a message before it goes to the dead letters."""
        ...

    async def publish(self, messages: Sequence[OutMessage]) -> list[PublishAck]:
        """Publish messages (pipelined, in order) and return their acks; raises BusUnavailable
        saying how many leading messages were acknowledged when not all were."""
        ...

    async def fetch(self, max_messages: int, timeout: float) -> list[Received]:
        """Return up to max_messages messages, waiting at most timeout seconds for the first;
        an empty list when there were none."""
        ...

    async def dead_letter(self, message: Received, reason: str) -> None:
        """Keep message, with reason, where operators find it; raises if that failed."""
        ...

    async def close(self) -> None:
        """Flush what was sent (acks included) and release the connection."""
        ...


Handler = Callable[[Received], Awaitable[None]]
# Handles several messages together; returns, for each in order, None when it is done (ack) or
# the exception that failed it (settled as `consume` settles a handler's exception).
GroupHandler = Callable[[Sequence[Received]], Awaitable[Sequence[BaseException | None]]]


@dataclass
class ConsumeStats:
    """What a consuming loop did with the messages it fetched."""

    acked: int = 0
    retried: int = 0  # handed back after a failure, to be tried again
    dead_lettered: int = 0
    handed_back: int = 0  # fetched but not started when asked to stop


def backoff(attempt: int) -> float:
    """Return the delay before redelivering a message whose attempt number failed."""
    return float(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempt - 1)))


async def consume(
    transport: Transport,
    handler: Handler,
    *,
    stop: asyncio.Event,
    batch: int = 10,
    concurrency: int = 1,
    fetch_timeout: float = 1.0,
) -> ConsumeStats:
    """Fetch and handle messages until stop is set; return what was done.

    Up to `batch` messages are fetched at a time and up to `concurrency` handled at once; each
    is acked only after its handler returned. See the module docstring for failures.
    """
    if batch < 1 or concurrency < 1:
        raise ValueError("batch and concurrency must be at least 1")
    stats = ConsumeStats()
    held: set[Received] = set()
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    keepalive = asyncio.create_task(_keep_alive(held, transport.ack_wait))

    async def settle(message: Received) -> None:
        try:
            await _handle(transport, handler, message, stats)
        finally:
            held.discard(message)
            slots.release()

    def start(message: Received) -> None:
        task = asyncio.create_task(settle(message))
        running.add(task)
        task.add_done_callback(running.discard)

    try:
        # A slot is taken before fetching, so fetched messages do not queue up behind busy
        # handlers while their ack-wait clock runs.
        while await _acquire_unless_stopped(slots, stop):
            messages = await _fetch_holding_slot(transport, slots, stop, batch, fetch_timeout)
            if not messages:
                continue
            held.update(messages)
            start(messages[0])
            for index, message in enumerate(messages[1:], start=1):
                if not await _acquire_unless_stopped(slots, stop):
                    await _hand_back(messages[index:], held, stats)
                    break
                start(message)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        keepalive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keepalive
    return stats


async def _fetch_holding_slot(
    transport: Transport,
    slots: asyncio.Semaphore,
    stop: asyncio.Event,
    count: int,
    timeout: float,
) -> list[Received]:
    """Fetch up to count messages with one slot taken; return them, or an empty list with the
    slot given back when there were none or the bus could not be reached (after a pause)."""
    try:
        messages = await transport.fetch(count, timeout)
    except asyncio.CancelledError:
        slots.release()
        raise
    except Exception as exc:  # the bus is unreachable for now: wait, try again
        slots.release()
        log.warning("fetching from the bus failed (%s); retrying", exc)
        await _sleep_unless(stop, 1.0)
        return []
    if not messages:
        slots.release()
    return messages


async def consume_groups(
    transport: Transport,
    handler: GroupHandler,
    *,
    stop: asyncio.Event,
    group: int = 10,
    in_flight: int = 2,
    fetch_timeout: float = 1.0,
) -> ConsumeStats:
    """Fetch up to `group` messages at a time and hand each fetch to handler as one group, up to
    `in_flight` groups at once, until stop is set; return what was done.

    Each message of a group is settled by the outcome handler returns for it, after the
    handler returned: acked, handed back, retried or dead-lettered as in `consume`. With
    in_flight above the handler's own parallelism, the next group is fetched (and can be
    decoded) while one is being stored. A message delivered more than `max_deliver` times is
    dead-lettered without reaching the handler. On stop, groups in hand finish.
    """
    if group < 1 or in_flight < 1:
        raise ValueError("group and in_flight must be at least 1")
    stats = ConsumeStats()
    held: set[Received] = set()
    slots = asyncio.Semaphore(in_flight)
    running: set[asyncio.Task[None]] = set()
    keepalive = asyncio.create_task(_keep_alive(held, transport.ack_wait))

    async def settle(messages: list[Received]) -> None:
        try:
            fresh = [m for m in messages if not await _dead_letter_if_worn_out(transport, m, stats)]
            if not fresh:
                return
            try:
                outcomes: Sequence[BaseException | None] = await handler(fresh)
                if len(outcomes) != len(fresh):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(fresh)} messages")
            except Exception as exc:  # the handler broke: every message failed alike
                outcomes = [exc] * len(fresh)
            for message, outcome in zip(fresh, outcomes, strict=True):
                await _settle(transport, message, outcome, stats)
        finally:
            held.difference_update(messages)
            slots.release()

    try:
        while await _acquire_unless_stopped(slots, stop):
            messages = await _fetch_holding_slot(transport, slots, stop, group, fetch_timeout)
            if not messages:
                continue
            held.update(messages)
            task = asyncio.create_task(settle(messages))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    finally:
        keepalive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keepalive
    return stats


async def _handle(
    transport: Transport, handler: Handler, message: Received, stats: ConsumeStats
) -> None:
    if await _dead_letter_if_worn_out(transport, message, stats):
        return
    try:
        await handler(message)
    except Exception as exc:
        await _settle(transport, message, exc, stats)
        return
    await _settle(transport, message, None, stats)


async def _dead_letter_if_worn_out(
    transport: Transport, message: Received, stats: ConsumeStats
) -> bool:
    if message.attempt <= transport.max_deliver:
        return False
    # Delivered this often without being settled: it kills (or hangs) whoever takes it.
    await _dead_letter(
        transport,
        message,
        f"delivered {message.attempt - 1} times without being acknowledged",
        stats,
    )
    return True


async def _settle(
    transport: Transport, message: Received, error: BaseException | None, stats: ConsumeStats
) -> None:
    """Settle message after its handling ended with error (None: it succeeded)."""
    if error is None:
        await _quietly(message.ack())
        stats.acked += 1
        return
    if isinstance(error, NotStarted):
        await _quietly(message.nak(0))
        stats.handed_back += 1
        return
    if isinstance(error, PoisonMessage):
        await _dead_letter(transport, message, str(error), stats)
        return
    limit = transport.max_deliver
    if message.attempt >= limit:
        reason = f"failed {message.attempt} times; last error: {type(error).__name__}: {error}"
        await _dead_letter(transport, message, reason, stats)
        return
    delay = backoff(message.attempt)
    log.warning(
        "message %s failed (attempt %d of %d), retrying in %.1fs: %s: %s",
        message.msg_id,
        message.attempt,
        limit,
        delay,
        type(error).__name__,
        error,
    )
    stats.retried += 1
    await _quietly(message.nak(delay))


async def _dead_letter(
    transport: Transport, message: Received, reason: str, stats: ConsumeStats
) -> None:
    try:
        await transport.dead_letter(message, reason)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        # Not kept anywhere yet: leave it on the bus, to try again later.
        log.error("could not dead-letter message %s (%s); keeping it", message.msg_id, exc)
        await _quietly(message.nak(BACKOFF_MAX))
        return
    log.error("message %s moved to the dead letters: %s", message.msg_id, reason)
    stats.dead_lettered += 1
    await _quietly(message.term())


async def _hand_back(
    messages: Sequence[Received], held: set[Received], stats: ConsumeStats
) -> None:
    for message in messages:
        held.discard(message)
        await _quietly(message.nak(0))
        stats.handed_back += 1


async def _keep_alive(held: set[Received], ack_wait: float) -> None:
    interval = max(0.2, ack_wait / 3)
    while True:
        await asyncio.sleep(interval)
        for message in list(held):
            await _quietly(message.in_progress())


async def _acquire_unless_stopped(slots: asyncio.Semaphore, stop: asyncio.Event) -> bool:
    if stop.is_set():
        return False
    acquire = asyncio.create_task(slots.acquire())
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if acquire in done:
        if stop.is_set():
            slots.release()
            return False
        return True
    acquire.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await acquire
    if acquire.done() and not acquire.cancelled():
        slots.release()
    return False


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _quietly(settling: Awaitable[None]) -> None:
    # Settling is best-effort: if the connection dropped, the bus redelivers the message and
    # the pipeline skips a batch it already committed (its key).
    try:
        await settling
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("could not settle a message with the bus: %s", exc)
