"""The in-process bus: a `Transport` in memory, for one-process deployments and for tests.

It keeps JetStream's promises that Vardeild relies on: a message id published twice is stored
once (within `duplicate_window` seconds), a fetched message is owned by its receiver until it
is acked, and comes back (its attempt count raised) when it is nak'd or when `ack_wait` passes
without an ack or an in-progress signal. Nothing survives the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from vardeild.bus.transport import OutMessage, PublishAck, Received


@dataclass(eq=False)
class _Stored:
    subject: str
    msg_id: str
    payload: bytes
    sequence: int
    deliveries: int = 0
    current: MemoryDelivery | None = None  # the delivery that owns it, while one does
    deadline: float = 0.0


@dataclass(eq=False)
class MemoryDelivery:
    """One delivery of a message held by a MemoryTransport; settling a delivery that has since
    been taken away (its ack wait passed) does nothing, as on JetStream."""

    _stored: _Stored
    _bus: MemoryTransport
    attempt: int

    @property
    def subject(self) -> str:
        """The subject it was published to."""
        return self._stored.subject

    @property
    def msg_id(self) -> str:
        """The id it was published under."""
        return self._stored.msg_id

    @property
    def payload(self) -> bytes:
        """What it carries."""
        return self._stored.payload

    async def ack(self) -> None:
        """Settle it as done."""
        self._settle()

    async def nak(self, delay: float) -> None:
        """Hand it back, to be delivered again after delay seconds."""
        if self._settle():
            self._bus._requeue(self._stored, delay)

    async def in_progress(self) -> None:
        """Restart its ack-wait clock."""
        if self._stored.current is self:
            self._stored.deadline = time.monotonic() + self._bus.ack_wait

    async def term(self) -> None:
        """Settle it as never to be delivered again."""
        self._settle()

    def _settle(self) -> bool:
        if self._stored.current is not self:
            return False
        self._stored.current = None
        self._bus._in_flight.pop(self._stored.sequence, None)
        return True


@dataclass(frozen=True)
class DeadLetter:
    """A message moved to the dead letters, and why."""

    subject: str
    msg_id: str
    payload: bytes
    attempts: int
    reason: str


class MemoryTransport:
    """A Transport in memory (see the module docstring)."""

    def __init__(
        self, *, ack_wait: float = 30.0, max_deliver: int = 10, duplicate_window: float = 120.0
    ) -> None:
        self._ack_wait = ack_wait
        self._max_deliver = max_deliver
        self._duplicate_window = duplicate_window
        self._ready: deque[_Stored] = deque()
        self._in_flight: dict[int, _Stored] = {}
        self._ids: dict[str, tuple[int, float]] = {}  # msg id -> (sequence, when stored)
        self._sequence = 0
        self._delayed = 0  # nak'd, waiting out their delay
        self._arrived = asyncio.Event()
        self.dead_letters: list[DeadLetter] = []

    @property
    def ack_wait(self) -> float:
        """Seconds a fetched message stays owned without an ack."""
        return self._ack_wait

    @property
    def max_deliver(self) -> int:
        """Attempts at a message before it goes to the dead letters."""
        return self._max_deliver

    @property
    def pending(self) -> int:
        """Messages not yet acked or dead-lettered: waiting, delayed, or fetched."""
        return len(self._ready) + self._delayed + len(self._in_flight)

    async def publish(self, messages: Sequence[OutMessage]) -> list[PublishAck]:
        """Store messages, dropping ids already stored within the duplicate window."""
        now = time.monotonic()
        acks: list[PublishAck] = []
        for message in messages:
            known = self._ids.get(message.msg_id)
            if known is not None and now - known[1] < self._duplicate_window:
                acks.append(PublishAck(sequence=known[0], duplicate=True))
                continue
            self._sequence += 1
            self._ids[message.msg_id] = (self._sequence, now)
            self._ready.append(
                _Stored(message.subject, message.msg_id, message.payload, self._sequence)
            )
            acks.append(PublishAck(sequence=self._sequence, duplicate=False))
        if messages:
            self._arrived.set()
        return acks

    async def fetch(self, max_messages: int, timeout: float) -> list[Received]:
        """Return up to max_messages messages, waiting at most timeout for the first."""
        deadline = time.monotonic() + timeout
        while True:
            self._expire()
            if self._ready:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.05))
        taken: list[Received] = []
        now = time.monotonic()
        while self._ready and len(taken) < max_messages:
            stored = self._ready.popleft()
            stored.deliveries += 1
            delivery = MemoryDelivery(stored, self, stored.deliveries)
            stored.current = delivery
            stored.deadline = now + self._ack_wait
            self._in_flight[stored.sequence] = stored
            taken.append(delivery)
        return taken

    async def dead_letter(self, message: Received, reason: str) -> None:
        """Keep message in `dead_letters` with reason."""
        self.dead_letters.append(
            DeadLetter(message.subject, message.msg_id, message.payload, message.attempt, reason)
        )

    async def close(self) -> None:
        """Nothing to release."""

    def _requeue(self, stored: _Stored, delay: float) -> None:
        def ready() -> None:
            self._delayed -= 1
            self._ready.append(stored)
            self._arrived.set()

        self._delayed += 1
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, ready)
        else:
            ready()

    def _expire(self) -> None:
        now = time.monotonic()
        for stored in [m for m in self._in_flight.values() if m.deadline <= now]:
            # Not acked in time: taken away from its receiver and offered again.
            stored.current = None
            del self._in_flight[stored.sequence]
            self._ready.append(stored)
