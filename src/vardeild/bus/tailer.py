"""Following a growing EVE file like `tail -F`: through rotation and truncation.

A `FileTailer` hands out complete lines with their byte offsets, and its `TailPosition`: the
file's device and inode, an `epoch` (a random id given to each file it starts on, so that
offsets in two different files — or in one file before and after a truncation — never share a
message id), the offset after the last line handed out, and a hash of the file's first bytes
(to tell a new file that reuses an old inode from the old one).

Rotation: when the path names another file, the old one is read to its end first (its handle
stays open, so a renamed or deleted file is still read), and once it has stayed at its end for
`ROTATE_GRACE` seconds — the writer may still be finishing its last lines — the new file is
read from its start. A restart finds the old file by its inode in the same directory if it was
renamed there (eve.json.1). Truncation (same inode, shorter than the offset) starts the file
over under a new epoch.

A line longer than `MAX_LINE_BYTES` is handed out cut at that length (it then fails to parse
and is quarantined with its offset) and the rest of it skipped, with a warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from vardeild.monitoring.ingest import RawRecord

log = logging.getLogger("vardeild.ship")

MAX_LINE_BYTES = 512 * 1024
ROTATE_GRACE = 1.0
HEAD_BYTES = 256


class TailPosition(msgspec.Struct, frozen=True):
    """Where a tailer stands in which file."""

    path: str
    device: int
    inode: int
    epoch: str
    offset: int
    head: str = ""  # sha256 of the file's first head_length bytes
    head_length: int = 0


@dataclass(frozen=True)
class Chunk:
    """Consecutive complete lines of one file."""

    position: TailPosition  # where the tailer stands after them
    start: int  # offset of the first byte of the first line
    end: int  # offset after the last line
    records: list[RawRecord]

    @property
    def file_identity(self) -> str:
        """The file's identity in message ids: device, inode and epoch."""
        return f"{self.position.device}-{self.position.inode}-{self.position.epoch}"


def _new_epoch() -> str:
    return secrets.token_hex(4)


def _head(handle: BinaryIO) -> tuple[str, int]:
    head = os.pread(handle.fileno(), HEAD_BYTES, 0)
    return hashlib.sha256(head).hexdigest(), len(head)


def _head_matches(handle: BinaryIO, position: TailPosition) -> bool:
    if position.head_length == 0:
        return True
    head = os.pread(handle.fileno(), position.head_length, 0)
    return len(head) == position.head_length and hashlib.sha256(head).hexdigest() == position.head


class FileTailer:
    """Reads complete lines from path, following it as `tail -F` does."""

    def __init__(
        self, path: Path, position: TailPosition | None = None, *, from_end: bool = False
    ) -> None:
        self.path = path
        self._handle: BinaryIO | None = None
        self._position: TailPosition | None = None
        self._rotated_at: float | None = None  # when the path was first seen naming another file
        self._skipping = False  # inside an over-long line, skipping to its end
        self._resume(position, from_end=from_end)

    @property
    def position(self) -> TailPosition | None:
        """Where the tailer stands (None until the file first exists)."""
        return self._position

    def close(self) -> None:
        """Close the file being read."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> FileTailer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, *, max_lines: int, max_bytes: int) -> Chunk | None:
        """Return the next complete lines (up to max_lines, about max_bytes), or None when
        there are none yet. Follows rotation and truncation between calls."""
        if self._handle is None and not self._open_current(from_start=True):
            return None
        while True:
            chunk, advanced = self._read_lines(max_lines=max_lines, max_bytes=max_bytes)
            if chunk is not None:
                self._rotated_at = None
                return chunk
            if not advanced:  # at the end of what the file holds
                return self._check_replaced()

    def final_fragment(self) -> Chunk | None:
        """Return an unterminated last line as a record of its own (the file is taken to be
        finished: `--once`), or None when the file ends with a newline."""
        if self._handle is None:
            return None
        return self._unterminated_tail()

    def at_end(self) -> bool:
        """Whether everything the path holds now has been handed out (for `--once`)."""
        if self._handle is None or self._position is None:
            return not self.path.exists()
        if self._identity_of_path() not in (None, (self._position.device, self._position.inode)):
            return False
        return os.fstat(self._handle.fileno()).st_size <= self._position.offset

    # -- internals ------------------------------------------------------------------------

    def _resume(self, position: TailPosition | None, *, from_end: bool) -> None:
        if position is None:
            self._open_current(from_start=not from_end)
            return
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        if stat is not None and (stat.st_dev, stat.st_ino) == (position.device, position.inode):
            handle = self.path.open("rb")
            if _head_matches(handle, position) and os.fstat(handle.fileno()).st_size >= (
                position.offset
            ):
                self._adopt(handle, position)
                return
            handle.close()
            if stat.st_size < position.offset:
                log.warning(
                    "%s was truncated while we were away; reading it from the start", self.path
                )
            self._open_current(from_start=True)
            return
        rotated = self._find_rotated(position)
        if rotated is not None:
            log.info("%s was rotated to %s; finishing it first", self.path, rotated.name)
            handle = rotated.open("rb")
            if _head_matches(handle, position) and os.fstat(handle.fileno()).st_size >= (
                position.offset
            ):
                self._adopt(handle, position)
                self._rotated_at = time.monotonic() - ROTATE_GRACE
                return
            handle.close()
        log.warning(
            "the file last read at %s (inode %d, offset %d) is gone; lines written to it after "
            "that offset were not shipped. Reading %s from the start",
            position.path,
            position.inode,
            position.offset,
            self.path,
        )
        self._open_current(from_start=True)

    def _find_rotated(self, position: TailPosition) -> Path | None:
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return None
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) == (position.device, position.inode):
                return Path(entry.path)
        return None

    def _adopt(self, handle: BinaryIO, position: TailPosition) -> None:
        self.close()
        self._handle = handle
        self._position = position
        handle.seek(position.offset)

    def _open_current(self, *, from_start: bool) -> bool:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return False
        stat = os.fstat(handle.fileno())
        head, head_length = _head(handle)
        offset = 0 if from_start else stat.st_size
        position = TailPosition(
            path=str(self.path),
            device=stat.st_dev,
            inode=stat.st_ino,
            epoch=_new_epoch(),
            offset=offset,
            head=head,
            head_length=head_length,
        )
        self._adopt(handle, position)
        self._rotated_at = None
        return True

    def _identity_of_path(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def _check_replaced(self) -> Chunk | None:
        assert self._handle is not None
        assert self._position is not None
        position = self._position
        identity = self._identity_of_path()
        if identity is None or identity == (position.device, position.inode):
            self._rotated_at = None
            size = os.fstat(self._handle.fileno()).st_size
            if identity is not None and size < position.offset:
                log.warning("%s was truncated; reading it from the start", self.path)
                self._open_current(from_start=True)
            return None
        now = time.monotonic()
        if self._rotated_at is None:
            self._rotated_at = now  # let the writer finish its last lines in the old file
            return None
        if now - self._rotated_at < ROTATE_GRACE:
            return None
        fragment = self._unterminated_tail()
        if fragment is not None:
            return fragment
        log.info("%s was rotated; reading the new file from its start", self.path)
        self._open_current(from_start=True)
        return None

    def _unterminated_tail(self) -> Chunk | None:
        # The old file ends without a newline: its last line is final now, ship it as it is.
        assert self._handle is not None
        assert self._position is not None
        start = self._position.offset
        data = os.pread(self._handle.fileno(), MAX_LINE_BYTES, start)
        if not data:
            return None
        self._position = msgspec.structs.replace(
            self._position, offset=os.fstat(self._handle.fileno()).st_size
        )
        if self._skipping or not data.strip():
            self._skipping = False
            return None
        return Chunk(
            position=self._position,
            start=start,
            end=self._position.offset,
            records=[RawRecord(start, data.rstrip(b"\r"))],
        )

    def _refresh_head(self) -> None:
        # A file first seen empty (or short) gets its head recorded once it has some bytes.
        assert self._handle is not None
        assert self._position is not None
        if self._position.head_length < HEAD_BYTES:
            head, length = _head(self._handle)
            if length > self._position.head_length:
                self._position = msgspec.structs.replace(
                    self._position, head=head, head_length=length
                )

    def _warn_overlong(self, offset: int) -> None:
        log.warning(
            "%s: the line at offset %d is longer than %d bytes; shipping its first %d bytes, "
            "to be quarantined",
            self.path,
            offset,
            MAX_LINE_BYTES,
            MAX_LINE_BYTES,
        )

    def _read_lines(self, *, max_lines: int, max_bytes: int) -> tuple[Chunk | None, bool]:
        """Return the next lines (None if only blank lines or nothing) and whether the
        position moved."""
        assert self._handle is not None
        assert self._position is not None
        start = self._position.offset
        data = os.pread(self._handle.fileno(), max(max_bytes, MAX_LINE_BYTES) + 1, start)
        if not data:
            return None, False
        records: list[RawRecord] = []
        offset = start
        size = 0
        cursor = 0
        while cursor < len(data) and len(records) < max_lines:
            newline = data.find(b"\n", cursor)
            if newline < 0:
                remaining = len(data) - cursor
                if self._skipping:
                    offset += remaining
                elif remaining > MAX_LINE_BYTES:
                    # Hand out the head of an over-long line; skip the rest up to its end.
                    self._warn_overlong(offset)
                    records.append(RawRecord(offset, data[cursor : cursor + MAX_LINE_BYTES]))
                    offset += remaining
                    self._skipping = True
                break
            line_start = offset
            stripped = data[cursor:newline].rstrip(b"\r")
            if self._skipping:
                self._skipping = False  # the end of an over-long line already shipped
            elif stripped.strip():
                if records and size + len(stripped) > max_bytes:
                    break
                if len(stripped) > MAX_LINE_BYTES:
                    self._warn_overlong(line_start)
                    stripped = stripped[:MAX_LINE_BYTES]
                records.append(RawRecord(line_start, stripped))
                size += len(stripped)
            offset += newline + 1 - cursor
            cursor = newline + 1
        if offset == start:
            return None, False
        self._position = msgspec.structs.replace(self._position, offset=offset)
        self._refresh_head()
        if not records:
            return None, True
        return Chunk(position=self._position, start=start, end=offset, records=records), True
