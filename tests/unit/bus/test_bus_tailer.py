"""Following an EVE file like `tail -F`: complete lines only, rotation, truncation, restarts."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vardeild.bus import tailer as tailer_module
from vardeild.bus.tailer import Chunk, FileTailer, TailPosition


@pytest.fixture(autouse=True)
def _no_rotation_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tailer_module, "ROTATE_GRACE", 0.0)


_opened: list[FileTailer] = []


@pytest.fixture(autouse=True)
def _close_tailers() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def _tailer(path: Path, position: TailPosition | None = None, **options: Any) -> FileTailer:
    tailer = FileTailer(path, position, **options)
    _opened.append(tailer)
    return tailer


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def _drain(tailer: FileTailer, max_lines: int = 100) -> list[Chunk]:
    chunks = []
    for _ in range(10):  # a few calls: rotation is noticed, then acted on
        while (chunk := tailer.read(max_lines=max_lines, max_bytes=1 << 20)) is not None:
            chunks.append(chunk)
    return chunks


def _lines(chunks: list[Chunk]) -> list[bytes]:
    return [record.data for chunk in chunks for record in chunk.records]


def test_complete_lines_with_their_offsets(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"a":1}\n\n{"b":2}\r\n{"c":')
    tailer = _tailer(eve)
    (chunk,) = _drain(tailer)
    assert [(r.position, r.data) for r in chunk.records] == [(0, b'{"a":1}'), (9, b'{"b":2}')]
    assert (chunk.start, chunk.end) == (0, 18)
    _append(eve, b"3}\n")
    (more,) = _drain(tailer)
    assert [(r.position, r.data) for r in more.records] == [(18, b'{"c":3}')]
    assert more.start == chunk.end


def test_chunks_hold_at_most_max_lines(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"".join(b'{"n":%d}\n' % n for n in range(250)))
    chunks = _drain(_tailer(eve), max_lines=100)
    assert [len(c.records) for c in chunks] == [100, 100, 50]
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n')
    tailer = _tailer(eve)
    first = _drain(tailer)
    _append(eve, b'{"n":2}\n{"n":3 unterminated')
    eve.rename(tmp_path / "eve.json.1")
    eve.write_bytes(b'{"n":4}\n')
    rest = _drain(tailer)
    assert _lines(first + rest) == [b'{"n":1}', b'{"n":2}', b'{"n":3 unterminated', b'{"n":4}']
    assert rest[-1].position.inode == os.stat(eve).st_ino
    assert rest[-1].position.epoch != first[0].position.epoch


def test_truncation_starts_over_under_a_new_epoch(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n{"n":2}\n')
    tailer = _tailer(eve)
    before = _drain(tailer)
    eve.write_bytes(b'{"n":9}\n')  # copytruncate: same inode, shorter
    after = _drain(tailer)
    assert _lines(after) == [b'{"n":9}']
    assert after[0].start == 0
    assert after[0].file_identity != before[0].file_identity  # so message ids cannot collide


def test_a_restart_resumes_at_the_saved_position(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n{"n":2}\n')
    first = _drain(_tailer(eve))
    _append(eve, b'{"n":3}\n')
    resumed = _drain(_tailer(eve, first[-1].position))
    assert _lines(resumed) == [b'{"n":3}']
    assert resumed[0].file_identity == first[0].file_identity


def test_a_restart_after_rotation_finishes_the_renamed_file(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n')
    first = _drain(_tailer(eve))
    _append(eve, b'{"n":2}\n')  # written while the shipper was down ...
    eve.rename(tmp_path / "eve.json.1")  # ... and then rotated
    eve.write_bytes(b'{"n":3}\n')
    resumed = _drain(_tailer(eve, first[-1].position))
    assert _lines(resumed) == [b'{"n":2}', b'{"n":3}']


def test_a_new_file_reusing_the_inode_is_read_from_the_start(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"old":1}\n{"old":2}\n')
    first = _drain(_tailer(eve))
    eve.write_bytes(b'{"new":1}\n{"new":2}\n{"new":3}\n')  # same inode, other content, longer
    resumed = _drain(_tailer(eve, first[-1].position))
    assert _lines(resumed) == [b'{"new":1}', b'{"new":2}', b'{"new":3}']


def test_from_end_skips_what_is_there(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n')
    tailer = _tailer(eve, from_end=True)
    assert _drain(tailer) == []
    _append(eve, b'{"n":2}\n')
    assert _lines(_drain(tailer)) == [b'{"n":2}']


def test_a_missing_file_is_waited_for(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    tailer = _tailer(eve)
    assert tailer.read(max_lines=10, max_bytes=1000) is None
    assert tailer.at_end()
    eve.write_bytes(b'{"n":1}\n')
    assert not tailer.at_end()
    assert _lines(_drain(tailer)) == [b'{"n":1}']
    assert tailer.at_end()


def test_an_overlong_line_is_cut_and_the_rest_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tailer_module, "MAX_LINE_BYTES", 100)
    eve = tmp_path / "eve.json"
    eve.write_bytes(b'{"n":1}\n' + b"x" * 350 + b'\n{"n":2}\n')
    lines = _lines(_drain(_tailer(eve), max_lines=10))
    assert lines == [b'{"n":1}', b"x" * 100, b'{"n":2}']
