"""Files as a way in: EVE logs (tailed like `tail -F` with --follow) and Shadowserver reports.

Each file is a source (`file:<absolute path>`) read in batches of 50,000 records or one
second, whichever comes first. Every batch carries the reader's checkpoint, which the pipeline
commits in the batch's own transaction, so a reader killed at any moment resumes exactly after
the last committed record: nothing is lost and nothing stored twice.

EVE: the position is the byte offset after the last complete line, relative to the file's
identity `dev:inode`. A partial last line is not consumed until its newline arrives. On start,
a checkpoint of the same inode is resumed (from 0 if the file is now shorter: truncated);
another inode means the path names a new file, read from 0. Following, the reader notices
rotation (the path names a new inode: the old file is read to its end, then the new one from 0)
and truncation (the file is shorter than the position: read again from 0).

Shadowserver: a report is complete when it arrives, so its identity is the SHA-256 of its
content and the position is the line number where the last committed row starts (CSV rows
may hold quoted newlines, so lines and rows differ). The same report downloaded again under the
same path resumes (nothing to do); a different report under that path starts over. Each record
is the header line plus one row, so a quarantined row can be parsed alone.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import chain, repeat
from operator import and_
from pathlib import Path
from typing import BinaryIO

from vardeild.monitoring.ingest import (
    Checkpoint,
    EventSink,
    Feed,
    IngestResult,
    RawBatch,
    RawRecord,
    split_lines,
)
from vardeild.monitoring.parsers.eve_screen import native_loop


def _count_newlines(data: bytes, end: int) -> int:
    return data.count(b"\n", 0, end)


# How many newlines a block holds: in C where the EVE screen's extension was built (memchr, a
# tenth of bytes.count's time, which was 0.2 s per million lines on the EVE bench).
_count_lines = native_loop.count_lines if native_loop is not None else _count_newlines

# Records per batch (one transaction). Each commit rewrites the index pages its inserts touched,
# and the fingerprint and alert-key indexes take random keys, so small batches rewrite the same
# pages over and over; a batch also pays ~15 statements whatever its size. On the EVE bench
# (1 M lines) 50,000 took the writer's CPU from ~3.4-4.6 s to ~2.4-3.8 s against 10,000, on
# SQLite and PostgreSQL alike (docs/benchmarks.md); two batches in memory stay ~100 MB. The CLI
# takes the setting ingest_batch_records, whose default this is.
BATCH_RECORDS = 50_000
BATCH_SECONDS = 1.0
FIRST_REPORT_BATCH = 5_000  # a report's first batch; each next one twice as large (_ingest_report)
POLL_SECONDS = 0.2
MAX_RECORD_BYTES = 4 << 20  # a longer "line" is cut here and quarantined, not held whole
_CHUNK = 1 << 20
CheckpointLookup = Callable[[str], Checkpoint | None]


@dataclass
class Totals:
    """What a run of the file readers did, summed over its batches."""

    files: int = 0
    batches: int = 0
    records: int = 0
    bytes: int = 0
    events_stored: int = 0
    events_duplicate: int = 0
    events_unattributed: int = 0
    events_suppressed: int = 0
    events_unmatched_protocol: int = 0
    quarantined: int = 0
    sensor_stats: int = 0
    alerts_touched: int = 0

    def add(self, result: IngestResult, *, size: int) -> None:
        """Count one committed batch."""
        self.batches += 1
        self.bytes += size
        for name in (f.name for f in fields(self)):
            if name not in ("files", "batches", "bytes") and hasattr(result, name):
                setattr(self, name, getattr(self, name) + getattr(result, name))


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Return the files named: a directory stands for every regular file in it, sorted by name
    (hidden files left out). Raises FileNotFoundError for a path that does not exist."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            )
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return found


def source_of(path: Path) -> str:
    """Return the source name of a file: `file:` and its absolute path."""
    return f"file:{path.absolute()}"


# --- EVE ---------------------------------------------------------------------------------------


class _EveFile:
    """One EVE file being read: its handle, identity and the bytes after the last newline."""

    def __init__(
        self,
        path: Path,
        sensor: str | None,
        checkpoint_of: CheckpointLookup,
        *,
        blocks: bool = False,
    ) -> None:
        """blocks: hand whole blocks of lines to a sink that takes them (RawBatch.blocks),
        splitting none into records here."""
        self.path = path
        self.source = source_of(path)
        self.sensor = sensor
        self.handle: BinaryIO | None = None
        self.identity = ""
        self.position = 0  # offset after the last complete line taken
        self.partial = b""
        self.records: list[RawRecord] = []
        self.takes_blocks = blocks
        self.blocks: list[tuple[int, bytes]] = []  # pending blocks of lines, after records
        self.pending = 0  # records pending (lines, for blocks: blank ones too)
        self.size = 0  # bytes of the pending lines (blank ones too)
        self.since = 0.0  # when the first pending record was read
        self._open(checkpoint_of(self.source))

    def _open(self, checkpoint: Checkpoint | None) -> None:
        handle = self.path.open("rb")
        stat = os.fstat(handle.fileno())
        self.handle, self.identity = handle, f"{stat.st_dev}:{stat.st_ino}"
        start = 0
        if checkpoint is not None and checkpoint.identity == self.identity:
            start = checkpoint.position if checkpoint.position <= stat.st_size else 0
        handle.seek(start)
        self.position, self.partial = start, b""

    def close(self) -> None:
        """Close the file."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def read(self, limit: int) -> bool:
        """Read complete lines into the pending records, up to about limit of them; return
        False at the end of the file."""
        assert self.handle is not None
        while self.pending < limit:
            chunk = self.handle.read(_CHUNK)
            if not chunk:
                return False
            self._take(self.partial + chunk)
        return True

    def _take(self, data: bytes) -> None:
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) > MAX_RECORD_BYTES:  # no newline in sight: cut it, quarantine it
                self._add(self.position, data[:MAX_RECORD_BYTES])
                self.position += len(data)
                data = b""
            self.partial = data
            return
        if not self.pending:
            self.since = time.monotonic()
        start, consumed = self.position, end + 1
        if self.takes_blocks and not self.records:
            # The pipeline splits the block itself, making records only of lines it does not
            # merely count (EveScreen.screen_blocks).
            self.blocks.append((start, data[:consumed]))
            self.pending += _count_lines(data, consumed)
        else:
            records = split_lines(start, data[:consumed])
            self.records += records
            self.pending += len(records)
        self.size += consumed
        self.partial = data[consumed:]  # what follows the last newline
        self.position = start + consumed

    def _add(self, offset: int, line: bytes) -> None:
        if not self.pending:
            self.since = time.monotonic()
        if self.blocks:  # records follow blocks in a batch: these lines come first
            self.records += [r for start, data in self.blocks for r in split_lines(start, data)]
            self.blocks = []
        self.records.append(RawRecord(position=offset, data=line))
        self.pending = len(self.records)
        self.size += len(line) + 1

    def finish_partial(self) -> None:
        """Take a last line that will never get its newline (the file was rotated away)."""
        if self.partial.strip():
            self._add(self.position, self.partial)
        self.position += len(self.partial)
        self.partial = b""

    def batch(self) -> tuple[RawBatch, int]:
        """Return the pending records as a batch with the checkpoint after them, and their
        size; the pending list starts afresh."""
        batch = RawBatch(
            source=self.source,
            feed=Feed.EVE,
            records=self.records,
            sensor=self.sensor,
            checkpoint=Checkpoint(self.source, self.identity, self.position),
            blocks=tuple(self.blocks),
        )
        size, self.records, self.blocks, self.pending, self.size = self.size, [], [], 0, 0
        return batch, size

    def moved(self) -> str | None:
        """Return 'rotated' if the path now names another file, 'truncated' if the file is
        shorter than what was read, else None."""
        assert self.handle is not None
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return None  # rotated away, the new file not there yet: keep reading the old one
        current = os.fstat(self.handle.fileno())
        if (named.st_dev, named.st_ino) != (current.st_dev, current.st_ino):
            return "rotated"
        if current.st_size < self.handle.tell():
            return "truncated"
        return None

    def reopen(self, *, truncated: bool) -> None:
        """Start over at 0: in the same file (truncated) or the file the path now names."""
        if truncated:
            assert self.handle is not None
            self.handle.seek(0)
            self.position, self.partial = 0, b""
        else:
            self.close()
            self._open(None)


def ingest_eve_files(
    sink: EventSink,
    paths: Sequence[Path],
    *,
    checkpoint_of: CheckpointLookup,
    sensor: str | None = None,
    follow: bool = False,
    stop: threading.Event | None = None,
    on_batch: Callable[[Totals], None] | None = None,
    batch_records: int = BATCH_RECORDS,
    batch_seconds: float = BATCH_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> Totals:
    """Read the EVE files into sink in batches until their end, or with follow until stop is
    set (then the pending batch is committed first). Returns the totals."""
    stop = stop or threading.Event()
    totals = Totals()
    # A sink that takes blocks of lines (the pipeline) gets them unsplit: it makes records
    # only of the lines it does not merely count.
    blocks = bool(getattr(sink, "takes_blocks", False))
    files = [_EveFile(path, sensor, checkpoint_of, blocks=blocks) for path in paths]
    totals.files = len(files)

    def flush(eve: _EveFile) -> None:
        batch, size = eve.batch()
        totals.add(sink.ingest(batch), size=size)
        if on_batch is not None:
            on_batch(totals)

    try:
        if not follow:
            _read_through(sink, files, stop, totals, on_batch, batch_records)
            return totals
        _follow(files, stop, flush, batch_records, batch_seconds, poll_seconds)
        return totals
    finally:
        for eve in files:
            eve.close()


def _read_through(
    sink: EventSink,
    files: list[_EveFile],
    stop: threading.Event,
    totals: Totals,
    on_batch: Callable[[Totals], None] | None,
    batch_records: int,
) -> None:
    """Read the files to their end. Where the pipeline writes behind (Pipeline.write_behind),
    batch N is committed on its writer thread while batch N+1 is read and screened here: the
    database's own work (SQLite's pages, the PostgreSQL server, the commit) then runs beside
    the parsing. Commits stay one at a time and in reading order, each with its checkpoint."""
    opener = getattr(sink, "write_behind", None)
    behind = opener() if opener is not None else None
    sizes: list[int] = []

    def flush(eve: _EveFile) -> None:
        batch, size = eve.batch()
        if behind is None:
            totals.add(sink.ingest(batch), size=size)
        else:
            sizes.append(size)
            for result in behind.ingest(batch):
                totals.add(result, size=sizes.pop(0))
        if on_batch is not None:
            on_batch(totals)

    try:
        for eve in files:
            while not stop.is_set():
                more = eve.read(batch_records)
                if eve.pending or not more:
                    flush(eve)
                if not more:
                    break
    finally:
        if behind is not None:
            for result in behind.finish():
                totals.add(result, size=sizes.pop(0))
            if on_batch is not None:
                on_batch(totals)


def _follow(
    files: list[_EveFile],
    stop: threading.Event,
    flush: Callable[[_EveFile], None],
    batch_records: int,
    batch_seconds: float,
    poll_seconds: float,
) -> None:
    grace: dict[str, float] = {}  # rotated files waiting for their last line to complete
    while not stop.is_set():
        idle = True
        for eve in files:
            more = eve.read(batch_records)
            full = eve.pending >= batch_records
            if full or (eve.pending and time.monotonic() - eve.since >= batch_seconds):
                flush(eve)
            if more:
                idle = False
                continue
            change = eve.moved()
            if change == "truncated":
                if eve.pending:
                    flush(eve)
                eve.reopen(truncated=True)
                idle = False
            elif change == "rotated":
                # Read the old file to its end again: the writer may have appended lines
                # between the read above and the rename.
                while eve.read(batch_records):
                    flush(eve)
                # The writer may still finish its last line in the old file before it reopens;
                # give it a moment, then take what is there and move on to the new file.
                waited = grace.setdefault(eve.source, time.monotonic())
                if eve.partial and time.monotonic() - waited < batch_seconds:
                    continue
                eve.finish_partial()
                if eve.pending or eve.position:
                    flush(eve)
                eve.reopen(truncated=False)
                grace.pop(eve.source, None)
                idle = False
        if idle:
            stop.wait(poll_seconds)
    for eve in files:
        if eve.pending:
            flush(eve)


# --- Shadowserver ------------------------------------------------------------------------------


def content_identity(path: Path) -> str:
    """Return a report's identity: sha256 and the hex digest of its content."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def csv_records(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Yield (line number where it starts, bytes) for each CSV record of a stream: physical
    lines joined while a quoted field is open (quotes counted; "" inside a field is two)."""
    for block in csv_record_blocks(stream):
        yield from block


def csv_record_blocks(stream: BinaryIO) -> Iterator[list[tuple[int, bytes]]]:
    """Yield `csv_records`'s records in lists, one per block of lines read (~1 MiB): a block
    whose every line holds an even number of quotes is its lines as they are, sorted in C."""
    pending: list[bytes] = []
    quotes = size = start = number = 0
    while block := stream.readlines(_CHUNK):
        if not pending and 1 not in map(and_, map(bytes.count, block, repeat(b'"')), repeat(1)):
            yield list(zip(range(number + 1, number + 1 + len(block)), block, strict=True))
            number += len(block)
            continue
        records: list[tuple[int, bytes]] = []
        for line in block:
            number += 1
            if not pending:
                start = number
            pending.append(line)
            quotes += line.count(b'"')
            size += len(line)
            if quotes % 2 == 0 or size > MAX_RECORD_BYTES:
                records.append((start, b"".join(pending)))
                pending, quotes, size = [], 0, 0
        if records:
            yield records
    if pending:
        yield [(start, b"".join(pending))]


def ingest_shadowserver_files(
    sink: EventSink,
    paths: Sequence[Path],
    *,
    checkpoint_of: CheckpointLookup,
    report_type: str | None = None,
    stop: threading.Event | None = None,
    on_batch: Callable[[Totals], None] | None = None,
    batch_records: int = BATCH_RECORDS,
    batch_seconds: float = BATCH_SECONDS,
) -> Totals:
    """Read the reports into sink in batches, each resuming after its checkpoint."""
    stop = stop or threading.Event()
    totals = Totals(files=len(paths))
    for path in paths:
        if stop.is_set():
            break
        _ingest_report(
            sink,
            path,
            checkpoint_of,
            report_type,
            stop,
            on_batch,
            totals,
            batch_records,
            batch_seconds,
        )
    return totals


def _ingest_report(
    sink: EventSink,
    path: Path,
    checkpoint_of: CheckpointLookup,
    report_type: str | None,
    stop: threading.Event,
    on_batch: Callable[[Totals], None] | None,
    totals: Totals,
    batch_records: int,
    batch_seconds: float,
) -> None:
    source, identity = source_of(path), content_identity(path)
    held = checkpoint_of(source)
    done = held.position if held is not None and held.identity == identity else 0
    records: list[RawRecord] = []
    since, last = time.monotonic(), done

    def flush(position: int) -> None:
        nonlocal records, since
        # The rows' bytes, for the totals: each record is the header and one row (or, for a
        # file without a header, its one record is the header).
        size = sum(map(len, [r.data for r in records])) - len(header) * len(records)
        batch = RawBatch(
            source=source,
            feed=Feed.SHADOWSERVER,
            records=records,
            report_type=report_type,
            filename=path.name,
            checkpoint=Checkpoint(source, identity, position),
        )
        if behind is None:
            totals.add(sink.ingest(batch), size=size)
        else:  # the pipeline writes this batch while the next one is read and parsed
            sizes.append(size)
            for result in behind.ingest(batch):
                totals.add(result, size=sizes.pop(0))
        records, since = [], time.monotonic()
        if on_batch is not None:
            on_batch(totals)

    opener = getattr(sink, "write_behind", None)  # Pipeline.write_behind, where enabled
    behind = opener() if opener is not None else None
    sizes: list[int] = []
    header = b""
    try:
        with path.open("rb") as stream:
            blocks = csv_record_blocks(stream)
            first = next(blocks, [(1, b"")])
            header = first[0][1]
            if header and not header.endswith(b"\n"):
                header += b"\n"
            if not header.strip():
                if held is None:  # an empty file is one record, quarantined, not lost silently
                    records.append(RawRecord(position=1, data=header))
                    flush(1)
                return
            # The first batches are small and each twice the last, up to batch_records: the
            # writer starts on the first while the next is parsed, and never waits long for
            # one (a batch's write costs more than its parse), instead of idling through the
            # parse of a whole first batch.
            limit = min(batch_records, FIRST_REPORT_BATCH)
            for block in chain([first[1:]], blocks):
                # What the checkpoint covers and blank rows are left out; the rest, batched.
                records += [
                    RawRecord(line, header + row)
                    for line, row in block
                    if line > done and row.strip()
                ]
                while len(records) >= limit:
                    records, rest = records[:limit], records[limit:]
                    last = records[-1].position
                    flush(last)
                    records = rest
                    limit = min(batch_records, 2 * limit)
                    if stop.is_set():
                        return
                if records:
                    last = records[-1].position
                    if time.monotonic() - since >= batch_seconds:
                        flush(last)
                        if stop.is_set():
                            return
            if records or held is None or held.identity != identity:
                flush(last)
    finally:
        if behind is not None:
            for result in behind.finish():
                totals.add(result, size=sizes.pop(0))
            if on_batch is not None:
                on_batch(totals)
