"""`vardeild sensors ship`: tail EVE on a sensor box and publish it to the centre's stream.

Two tasks share the spool (bus.spool). The reader follows the file (bus.tailer), packs up to
`max_records` lines into a message, and appends it to the spool with the reader's position;
the message id is `<sensor>:<device>-<inode>-<epoch>:<start>-<end>` (the file's identity and
the byte range), fixed once spooled. The publisher sends the oldest spooled messages to
`<nats_subject>.<sensor>`, waits for JetStream's acks, and only then drops them from the spool
and records the acknowledged position. So:

- a crash anywhere resends at most the unacknowledged messages, with the same ids and content:
  JetStream drops repeats within its duplicate window, the pipeline skips a batch key it
  committed after that;
- while the centre is unreachable, messages accumulate in the spool (up to `spool_max_bytes`)
  and are drained oldest-first when it is back;
- when the spool is full, reading stops with a warning, and resumes once there is room: no line
  is dropped, it waits in the EVE file (whose handle stays open across a rotation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from vardeild.bus.codec import MAX_BYTES, MAX_RECORDS, encode_batch
from vardeild.bus.spool import Spool, SpoolEntry
from vardeild.bus.tailer import Chunk, FileTailer, TailPosition
from vardeild.bus.transport import BusUnavailable, OutMessage, Transport
from vardeild.monitoring.ingest import Feed, RawBatch

log = logging.getLogger("vardeild.ship")

SENSOR_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PUBLISH_WINDOW = 256  # messages in flight at once
RETRY_MAX = 5.0  # seconds between attempts to reach the centre, at most
REPORT_EVERY = 30.0  # seconds between status lines while the centre is unreachable

Connect = Callable[[], Awaitable[Transport]]


@dataclass(frozen=True)
class ShipperConfig:
    """What to ship, where to keep it meanwhile, and how to pack it."""

    sensor: str
    path: Path
    subject: str  # the sensor's subject, `<nats_subject>.<sensor>`
    spool_dir: Path
    spool_max_bytes: int
    max_records: int = MAX_RECORDS
    max_bytes: int = MAX_BYTES
    poll_interval: float = 0.2
    from_end: bool = False  # on a first start, skip what the file already holds
    once: bool = False  # ship what the file holds now, wait for every ack, and stop

    def __post_init__(self) -> None:
        if not SENSOR_NAME.match(self.sensor):
            raise ValueError(
                f"sensor name {self.sensor!r} must be 1-64 letters, digits, '-' or '_' "
                "(it becomes a NATS subject token)"
            )


@dataclass
class ShipStats:
    """What a shipper did."""

    lines: int = 0
    messages_spooled: int = 0
    messages_published: int = 0
    duplicates: int = 0  # acknowledged as already stored (a resend)
    spool_full_pauses: int = 0
    started: float = field(default_factory=time.monotonic)


class Shipper:
    """Tails one EVE file into the spool and drains the spool to the centre."""

    def __init__(self, config: ShipperConfig, connect: Connect) -> None:
        self.config = config
        self._connect = connect
        self.stats = ShipStats()
        self.spool = Spool(config.spool_dir, max_bytes=config.spool_max_bytes)
        mark = self.spool.last_mark
        position = msgspec.msgpack.decode(mark, type=TailPosition) if mark else None
        if position is not None and position.path != str(config.path):
            log.warning(
                "the spool in %s was reading %s; now reading %s from the start",
                config.spool_dir,
                position.path,
                config.path,
            )
            position = None
        self.tailer = FileTailer(config.path, position, from_end=config.from_end)
        self._spooled = asyncio.Event()  # the reader added to the spool
        self._drained = asyncio.Event()  # the publisher freed room in the spool
        self._reading_done = False

    async def run(self, stop: asyncio.Event) -> ShipStats:
        """Ship until stop is set (or, with `once`, until the file's current content is
        acknowledged); return what was done."""
        reader = asyncio.create_task(self._read(stop))
        try:
            await self._publish(stop)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.spool.close()
            self.tailer.close()
        return self.stats

    # -- reading --------------------------------------------------------------------------

    async def _read(self, stop: asyncio.Event) -> None:
        config = self.config
        paused = False
        while not stop.is_set():
            if self.spool.full:
                if not paused:
                    paused = True
                    self.stats.spool_full_pauses += 1
                    log.warning(
                        "spool full (%d of %d bytes in %s): reading paused, nothing dropped; "
                        "lines wait in %s until the centre acknowledges what is spooled",
                        self.spool.pending_bytes,
                        self.spool.max_bytes,
                        config.spool_dir,
                        config.path,
                    )
                self._drained.clear()
                await _wait_either(self._drained, stop, timeout=1.0)
                continue
            if paused:
                paused = False
                log.warning("spool has room again: reading resumed")
            chunk = self.tailer.read(max_lines=config.max_records, max_bytes=config.max_bytes)
            if chunk is None and config.once:
                chunk = self.tailer.final_fragment()
                if chunk is None and self.tailer.at_end():
                    self._reading_done = True
                    self._spooled.set()
                    return
            if chunk is None:
                await _wait_either(stop, None, timeout=config.poll_interval)
                continue
            self.spool.append(self._pack(chunk))
            self.stats.lines += len(chunk.records)
            self.stats.messages_spooled += 1
            self._spooled.set()
            await asyncio.sleep(0)  # let the publisher run between chunks

    def _pack(self, chunk: Chunk) -> SpoolEntry:
        config = self.config
        batch = RawBatch(
            source=f"ship:{config.sensor}:{chunk.position.path}",
            feed=Feed.EVE,
            records=chunk.records,
            sensor=config.sensor,
        )
        msg_id = f"{config.sensor}:{chunk.file_identity}:{chunk.start}-{chunk.end}"
        return SpoolEntry(
            msg_id=msg_id,
            subject=config.subject,
            payload=encode_batch(batch),
            mark=msgspec.msgpack.encode(chunk.position),
        )

    # -- publishing -----------------------------------------------------------------------

    async def _publish(self, stop: asyncio.Event) -> None:
        transport: Transport | None = None
        down_since: float | None = None
        last_report = 0.0
        delay = 0.5
        try:
            while not stop.is_set():
                entries = self.spool.peek(PUBLISH_WINDOW)
                if not entries:
                    if self._reading_done:
                        return
                    self._spooled.clear()
                    await _wait_either(self._spooled, stop, timeout=1.0)
                    continue
                try:
                    if transport is None:
                        transport = await self._connect()
                    self.spool.sync()
                    acks = await transport.publish(
                        [OutMessage(e.subject, e.msg_id, e.payload) for e in entries]
                    )
                except BusUnavailable as exc:
                    self._acknowledged(exc.acked, 0)
                    now = time.monotonic()
                    if down_since is None:
                        down_since = now
                        log.warning("centre unreachable (%s); buffering to the spool", exc)
                    if now - last_report >= REPORT_EVERY:
                        last_report = now
                        log.warning(
                            "centre unreachable for %.0fs; spool holds %d messages, %d of %d bytes",
                            now - down_since,
                            self.spool.pending_entries,
                            self.spool.pending_bytes,
                            self.spool.max_bytes,
                        )
                    if transport is not None and exc.acked == 0:
                        await _close_quietly(transport)
                        transport = None
                    await _wait_either(stop, None, timeout=delay)
                    delay = min(RETRY_MAX, delay * 2)
                    continue
                if down_since is not None:
                    log.warning(
                        "centre reachable again after %.0fs; draining %d spooled messages",
                        time.monotonic() - down_since,
                        self.spool.pending_entries,
                    )
                    down_since, last_report, delay = None, 0.0, 0.5
                self._acknowledged(len(acks), sum(1 for ack in acks if ack.duplicate))
        finally:
            if transport is not None:
                await _close_quietly(transport)

    def _acknowledged(self, count: int, duplicates: int) -> None:
        if count:
            self.spool.ack(count)
            self.stats.messages_published += count
            self.stats.duplicates += duplicates
            self._drained.set()


async def _wait_either(
    first: asyncio.Event, second: asyncio.Event | None, *, timeout: float
) -> None:
    waits = [asyncio.create_task(first.wait())]
    if second is not None:
        waits.append(asyncio.create_task(second.wait()))
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


async def _close_quietly(transport: Transport) -> None:
    try:
        await transport.close()
    except Exception as exc:
        log.debug("closing the connection to the centre: %s", exc)
