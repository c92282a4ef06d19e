"""The shipper over the in-process bus: every line once, ids stable across restarts, the spool
buffering while the centre is unreachable, and reading paused (never dropping) when it is full."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from vardeild.bus.codec import decode_batch
from vardeild.bus.memory import MemoryTransport
from vardeild.bus.shipper import Shipper, ShipperConfig
from vardeild.bus.transport import BusUnavailable, Transport


def _write(path: Path, start: int, count: int) -> None:
    with path.open("ab") as handle:
        for n in range(start, start + count):
            pad = hashlib.sha256(b"%d" % n).hexdigest().encode() * 3  # compresses poorly
            handle.write(b'{"event_type":"alert","n":%d,"pad":"%s"}\n' % (n, pad))


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until condition holds, failing the test after timeout seconds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def _config(tmp_path: Path, **overrides: object) -> ShipperConfig:
    values: dict[str, object] = {
        "sensor": "s1",
        "path": tmp_path / "eve.json",
        "subject": "events.s1",
        "spool_dir": tmp_path / "spool",
        "spool_max_bytes": 10**8,
        "max_records": 100,
        "poll_interval": 0.01,
        "once": True,
    }
    values.update(overrides)
    return ShipperConfig(**values)  # type: ignore[arg-type]


async def _stored(bus: MemoryTransport) -> list[tuple[str, list[bytes]]]:
    """Return (message id, lines) of everything on the bus, acking it."""
    out = []
    while taken := await bus.fetch(1000, 0.01):
        for message in taken:
            batch = decode_batch(message.payload, source="x")
            assert batch.sensor == "s1"
            out.append((message.msg_id, [r.data for r in batch.records]))
            await message.ack()
    return out


def _ns(messages: list[tuple[str, list[bytes]]]) -> list[int]:
    return [int(line.split(b'"n":')[1].split(b",")[0]) for _, lines in messages for line in lines]


def test_ships_every_line_once_in_messages_of_100(tmp_path: Path) -> None:
    _write(tmp_path / "eve.json", 0, 250)
    bus = MemoryTransport()

    async def connect() -> Transport:
        return bus

    async def run() -> None:
        stats = await Shipper(_config(tmp_path), connect).run(asyncio.Event())
        assert (stats.lines, stats.messages_published) == (250, 3)
        messages = await _stored(bus)
        assert [len(lines) for _, lines in messages] == [100, 100, 50]
        assert _ns(messages) == list(range(250))
        first_100 = sum(len(line) + 1 for line in messages[0][1])
        assert messages[0][0].startswith("s1:")
        assert messages[0][0].endswith(f":0-{first_100}")  # sensor:file identity:byte range

    asyncio.run(run())


def test_buffers_while_unreachable_then_drains_without_loss_or_duplicates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    eve = tmp_path / "eve.json"
    _write(eve, 0, 300)
    bus = MemoryTransport()
    reachable = False

    async def connect() -> Transport:
        if not reachable:
            raise BusUnavailable("cannot reach NATS at nats://127.0.0.1:1")
        return bus

    async def run() -> None:
        nonlocal reachable
        stop = asyncio.Event()
        shipper = Shipper(_config(tmp_path, once=False), connect)
        task = asyncio.create_task(shipper.run(stop))
        await _until(lambda: not (shipper.stats.lines < 300))
        _write(eve, 300, 50)  # the sensor keeps writing during the outage
        await _until(lambda: not (shipper.stats.lines < 350))
        assert shipper.spool.pending_entries == 4
        assert bus.pending == 0
        reachable = True
        await _until(lambda: shipper.spool.pending_entries == 0)
        stop.set()
        await task
        assert _ns(await _stored(bus)) == list(range(350))

    with caplog.at_level(logging.WARNING, logger="vardeild.ship"):
        asyncio.run(run())
    assert "centre unreachable" in caplog.text
    assert "centre reachable again" in caplog.text


def test_a_restart_resends_unacknowledged_messages_under_the_same_ids(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    _write(eve, 0, 250)

    class LosesAcks(MemoryTransport):
        """Stores what is published, but the acks never arrive (the connection drops)."""

        async def publish(self, messages):  # type: ignore[no-untyped-def]
            await super().publish(messages)
            raise BusUnavailable("no acknowledgement within 5s")

    lossy = LosesAcks()
    bus = MemoryTransport()

    async def run() -> None:
        async def connect_lossy() -> Transport:
            return lossy

        stop = asyncio.Event()
        first = Shipper(_config(tmp_path, once=False), connect_lossy)
        task = asyncio.create_task(first.run(stop))
        await _until(lambda: not (lossy.pending < 3))
        stop.set()  # (or the shipper is killed)
        await task
        sent_first = [m.msg_id for m in await lossy.fetch(100, 0.01)]

        async def connect() -> Transport:
            return bus

        # The centre still has its copies (within the duplicate window, same bus).
        bus._ids = dict(lossy._ids)
        second = Shipper(_config(tmp_path), connect)
        stats = await second.run(asyncio.Event())
        assert stats.duplicates == 3
        assert stats.lines == 0  # nothing re-read: the spool held it all
        assert sorted(bus._ids) == sorted(sent_first)

    asyncio.run(run())


def test_a_full_spool_pauses_reading_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    eve = tmp_path / "eve.json"
    _write(eve, 0, 1000)
    bus = MemoryTransport()
    reachable = False

    async def connect() -> Transport:
        if not reachable:
            raise BusUnavailable("unreachable")
        return bus

    async def run() -> None:
        nonlocal reachable
        stop = asyncio.Event()
        shipper = Shipper(_config(tmp_path, once=False, spool_max_bytes=30_000), connect)
        task = asyncio.create_task(shipper.run(stop))
        await _until(lambda: bool(shipper.stats.spool_full_pauses))
        await asyncio.sleep(0.1)
        assert shipper.stats.lines < 1000  # stopped reading ...
        assert shipper.spool.full
        reachable = True  # ... until the centre is back
        await _until(lambda: not (shipper.stats.lines < 1000 or shipper.spool.pending_entries))
        stop.set()
        await task
        ns = _ns(await _stored(bus))
        assert ns == list(range(1000))
        assert not [n for n, c in Counter(ns).items() if c > 1]

    with caplog.at_level(logging.WARNING, logger="vardeild.ship"):
        asyncio.run(run())
    assert "spool full" in caplog.text
    assert "nothing dropped" in caplog.text
    assert "reading resumed" in caplog.text


def test_sensor_names_must_be_subject_tokens(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sensor name"):
        _config(tmp_path, sensor="a.b")


def test_once_ships_an_unterminated_last_line_and_stops(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    _write(eve, 0, 5)
    with eve.open("ab") as handle:
        handle.write(b'{"event_type":"alert","n":5,"cut off')
    bus = MemoryTransport()

    async def connect() -> Transport:
        return bus

    async def run() -> None:
        stats = await asyncio.wait_for(Shipper(_config(tmp_path), connect).run(asyncio.Event()), 10)
        assert stats.lines == 6
        lines = [line for _, batch in await _stored(bus) for line in batch]
        assert lines[-1] == b'{"event_type":"alert","n":5,"cut off'  # to be quarantined

    asyncio.run(run())
