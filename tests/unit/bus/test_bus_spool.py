"""The shipper's spool keeps every entry until acknowledged, across restarts and torn writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from vardeild.bus import spool as spool_module
from vardeild.bus.spool import Spool, SpoolCorrupt, SpoolEntry


def _entry(n: int, size: int = 100) -> SpoolEntry:
    return SpoolEntry(
        msg_id=f"s1:f:{n}", subject="events.s1", payload=bytes([n % 256]) * size, mark=b"m%d" % n
    )


def test_entries_come_back_oldest_first_until_acked(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10**6)
    for n in range(5):
        spool.append(_entry(n))
    assert [e.msg_id for e in spool.peek(3)] == ["s1:f:0", "s1:f:1", "s1:f:2"]
    spool.ack(2)
    assert [e.msg_id for e in spool.peek(10)] == ["s1:f:2", "s1:f:3", "s1:f:4"]
    assert spool.pending_entries == 3
    assert spool.last_mark == b"m4"
    with pytest.raises(ValueError, match="cannot ack 4"):
        spool.ack(4)


def test_a_restart_finds_the_pending_entries_and_the_last_mark(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10**6)
    for n in range(4):
        spool.append(_entry(n))
    spool.ack(1)
    spool.close()
    again = Spool(tmp_path, max_bytes=10**6)
    assert [e.msg_id for e in again.peek(10)] == ["s1:f:1", "s1:f:2", "s1:f:3"]
    assert again.last_mark == b"m3"
    again.ack(3)
    again.close()
    empty = Spool(tmp_path, max_bytes=10**6)
    assert empty.pending_entries == 0
    assert empty.last_mark == b"m3"  # from the acknowledged cursor


def test_a_torn_last_write_is_cut_off(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10**6)
    for n in range(3):
        spool.append(_entry(n))
    spool.close()
    (segment,) = tmp_path.glob("seg-*.spool")
    data = segment.read_bytes()
    segment.write_bytes(data[:-10])  # the process died in the middle of the third write
    again = Spool(tmp_path, max_bytes=10**6)
    assert [e.msg_id for e in again.peek(10)] == ["s1:f:0", "s1:f:1"]
    assert again.last_mark == b"m1"
    again.append(_entry(9))
    again.close()
    assert [e.msg_id for e in Spool(tmp_path, max_bytes=10**6).peek(10)] == [
        "s1:f:0",
        "s1:f:1",
        "s1:f:9",
    ]


def test_damage_before_the_last_segment_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 1000)
    spool = Spool(tmp_path, max_bytes=10**6)
    for n in range(30):
        spool.append(_entry(n))
    spool.close()
    first = sorted(tmp_path.glob("seg-*.spool"))[0]
    data = bytearray(first.read_bytes())
    data[20] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(SpoolCorrupt, match="checksum"):
        Spool(tmp_path, max_bytes=10**6)


def test_segments_roll_and_are_deleted_once_acked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "SEGMENT_BYTES", 1000)
    spool = Spool(tmp_path, max_bytes=10**6)
    for n in range(40):
        spool.append(_entry(n))
    assert len(list(tmp_path.glob("seg-*.spool"))) > 3
    spool.ack(38)
    assert len(list(tmp_path.glob("seg-*.spool"))) <= 2
    spool.close()
    assert [e.msg_id for e in Spool(tmp_path, max_bytes=10**6).peek(10)] == ["s1:f:38", "s1:f:39"]


def test_full_when_pending_bytes_reach_the_cap(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1000)
    while not spool.full:
        spool.append(_entry(spool.pending_entries))
    assert spool.pending_bytes >= 1000
    spool.ack(spool.pending_entries)
    assert (spool.full, spool.pending_bytes) == (False, 0)
