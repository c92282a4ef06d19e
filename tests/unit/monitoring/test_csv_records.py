"""files.csv_records / csv_record_blocks: a report's records by line number, read in blocks,
are the ones a line-by-line reading gives, wherever a block boundary falls."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

import pytest

from vardeild.monitoring import files
from vardeild.monitoring.files import MAX_RECORD_BYTES, csv_record_blocks, csv_records


def line_by_line(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The reference: lines joined while a quoted field is open."""
    pending: list[bytes] = []
    quotes = size = start = 0
    for number, line in enumerate(io.BytesIO(data), start=1):
        if not pending:
            start = number
        pending.append(line)
        quotes += line.count(b'"')
        size += len(line)
        if quotes % 2 == 0 or size > MAX_RECORD_BYTES:
            yield start, b"".join(pending)
            pending, quotes, size = [], 0, 0
    if pending:
        yield start, b"".join(pending)


def report(seed: int) -> bytes:
    rng = random.Random(seed)
    pieces = [b'"timestamp","ip","note"\n']
    for n in range(300):
        note = rng.choice([b"plain", b'"two\nlines"', b'"a ""quoted"" word"', b"", b'"open'])
        pieces.append(b'"2024-05-01 10:00:00","192.0.2.%d",%s\n' % (n % 250, note))
        if rng.random() < 0.05:
            pieces.append(b"\n")
    if rng.random() < 0.5:
        pieces.append(b'"no newline at the end"')
    return b"".join(pieces)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("chunk", [1, 64, 1000, 1 << 20])
def test_blocks_give_the_line_by_line_records(
    seed: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_CHUNK", chunk)
    data = report(seed)
    expected = list(line_by_line(data))
    assert list(csv_records(io.BytesIO(data))) == expected
    blocks = list(csv_record_blocks(io.BytesIO(data)))
    assert all(blocks)  # no empty block
    assert [record for block in blocks for record in block] == expected


def test_an_empty_stream_has_no_records() -> None:
    assert list(csv_record_blocks(io.BytesIO(b""))) == []
