"""The shipper's on-disk spool: messages packed but not yet acknowledged by the centre.

Every message `vardeild sensors ship` packs is appended here before it is published, and stays
until JetStream acknowledged it; so a message keeps its id and content across crashes and
outages, and a resend de-duplicates. Each entry also carries the reader's position after it
(`mark`, opaque here): the last entry's mark is where reading resumes.

On disk: segment files `seg-<n>.spool` of framed entries (length, CRC-32, msgpack body), rolled
at `SEGMENT_BYTES`, and `acked.json`, the cursor after the last acknowledged entry with that
entry's mark, replaced atomically. A segment is deleted once the cursor has passed it. A torn
entry at the end of the last segment (a crash mid-write) is cut off on open; a bad entry
anywhere else raises `SpoolCorrupt`.

The spool is bounded: `full` says that the pending entries reached `max_bytes`, and the shipper
stops reading until acknowledgements free room. Entries are never dropped.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

SEGMENT_BYTES = 16 * 1024 * 1024
_FRAME = struct.Struct(">II")  # body length, CRC-32 of the body
_ACKED = "acked.json"


class SpoolCorrupt(RuntimeError):
    """A spool file is damaged somewhere other than a torn last write."""


class SpoolEntry(msgspec.Struct, array_like=True, frozen=True):
    """One packed message and the reader's position after it."""

    msg_id: str
    subject: str
    payload: bytes
    mark: bytes


@dataclass(frozen=True, slots=True)
class _Where:
    segment: int
    offset: int  # of the frame
    size: int  # of frame and body


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SpoolEntry)


class Spool:
    """An append-only, bounded, crash-safe queue of SpoolEntry in a directory."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._pending: list[_Where] = []
        self._pending_bytes = 0
        self._acked_segment, self._acked_offset, self._acked_mark = self._read_acked()
        self._last_mark = self._acked_mark
        self._segment = max(self._acked_segment, 1)
        self._write_fd: int | None = None
        self._write_size = 0
        self._dirty = False
        self._scan()
        self._open_for_append()

    # -- what it holds --------------------------------------------------------------------

    @property
    def pending_entries(self) -> int:
        """Entries not yet acknowledged."""
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        """Bytes on disk of the entries not yet acknowledged."""
        return self._pending_bytes

    @property
    def full(self) -> bool:
        """Whether the pending entries reached max_bytes (the shipper stops reading)."""
        return self._pending_bytes >= self.max_bytes

    @property
    def last_mark(self) -> bytes:
        """The mark of the newest entry, acknowledged or not (b"" for a new spool)."""
        return self._last_mark

    def peek(self, limit: int) -> list[SpoolEntry]:
        """Return up to limit pending entries, oldest first."""
        entries: list[SpoolEntry] = []
        handles: dict[int, int] = {}
        try:
            for where in self._pending[:limit]:
                fd = handles.get(where.segment)
                if fd is None:
                    fd = handles[where.segment] = os.open(self._path(where.segment), os.O_RDONLY)
                frame = os.pread(fd, where.size, where.offset)
                entries.append(_decoder.decode(frame[_FRAME.size :]))
        finally:
            for fd in handles.values():
                os.close(fd)
        return entries

    def _read(self, where: _Where) -> SpoolEntry:
        with self._path(where.segment).open("rb") as handle:
            handle.seek(where.offset + _FRAME.size)
            return _decoder.decode(handle.read(where.size - _FRAME.size))

    # -- changing it ----------------------------------------------------------------------

    def append(self, entry: SpoolEntry) -> None:
        """Add entry at the end (written to the OS at once; to disk at the next `sync`)."""
        body = _encoder.encode(entry)
        frame = _FRAME.pack(len(body), zlib.crc32(body)) + body
        if self._write_size and self._write_size + len(frame) > SEGMENT_BYTES:
            self._roll()
        assert self._write_fd is not None
        os.write(self._write_fd, frame)
        self._pending.append(_Where(self._segment, self._write_size, len(frame)))
        self._pending_bytes += len(frame)
        self._write_size += len(frame)
        self._last_mark = entry.mark
        self._dirty = True

    def sync(self) -> None:
        """Force appended entries to disk (called before they are published, so an entry the
        centre acknowledged is never missing from the spool after a power loss)."""
        if self._dirty and self._write_fd is not None:
            os.fsync(self._write_fd)
            self._dirty = False

    def ack(self, count: int) -> None:
        """Drop the oldest count pending entries: the centre acknowledged them."""
        if count <= 0:
            return
        if count > len(self._pending):
            raise ValueError(f"cannot ack {count} of {len(self._pending)} pending entries")
        last = self._pending[count - 1]
        mark = self._read(last).mark
        self._write_acked(last.segment, last.offset + last.size, mark)
        self._pending_bytes -= sum(where.size for where in self._pending[:count])
        del self._pending[:count]
        for segment in self._segments():
            if segment < last.segment:
                self._path(segment).unlink(missing_ok=True)

    def close(self) -> None:
        """Sync and close the segment being written."""
        if self._write_fd is not None:
            self.sync()
            os.close(self._write_fd)
            self._write_fd = None

    # -- files ----------------------------------------------------------------------------

    def _path(self, segment: int) -> Path:
        return self.directory / f"seg-{segment:012d}.spool"

    def _segments(self) -> list[int]:
        found = []
        for path in self.directory.glob("seg-*.spool"):
            number = path.name[4:-6]
            if number.isdigit():
                found.append(int(number))
        return sorted(found)

    def _read_acked(self) -> tuple[int, int, bytes]:
        path = self.directory / _ACKED
        if not path.exists():
            return 0, 0, b""
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["segment"]), int(data["offset"]), bytes.fromhex(data["mark"])

    def _write_acked(self, segment: int, offset: int, mark: bytes) -> None:
        path = self.directory / _ACKED
        temporary = path.with_suffix(".tmp")
        data = json.dumps({"segment": segment, "offset": offset, "mark": mark.hex()})
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        self._acked_segment, self._acked_offset, self._acked_mark = segment, offset, mark

    def _scan(self) -> None:
        segments = [s for s in self._segments() if s >= self._acked_segment]
        for segment in self._segments():
            if segment < self._acked_segment:  # acknowledged before a crash cut the cleanup
                self._path(segment).unlink(missing_ok=True)
        for index, segment in enumerate(segments):
            start = self._acked_offset if segment == self._acked_segment else 0
            is_last = index == len(segments) - 1
            self._scan_segment(segment, start, is_last=is_last)
            self._segment = segment

    def _scan_segment(self, segment: int, start: int, *, is_last: bool) -> None:
        path = self._path(segment)
        data = path.read_bytes()
        offset = start
        while offset < len(data):
            problem = None
            if offset + _FRAME.size > len(data):
                problem = "a truncated frame header"
            else:
                length, crc = _FRAME.unpack_from(data, offset)
                body = data[offset + _FRAME.size : offset + _FRAME.size + length]
                if len(body) < length:
                    problem = "a truncated entry"
                elif zlib.crc32(body) != crc:
                    problem = "an entry whose checksum does not match"
            if problem is not None:
                if not is_last:
                    raise SpoolCorrupt(f"{path} holds {problem} at byte {offset}")
                # A crash interrupted the last write: that entry was never published.
                with path.open("r+b") as handle:
                    handle.truncate(offset)
                    os.fsync(handle.fileno())
                break
            size = _FRAME.size + length
            self._pending.append(_Where(segment, offset, size))
            self._pending_bytes += size
            self._last_mark = _decoder.decode(body).mark
            offset += size

    def _open_for_append(self) -> None:
        path = self._path(self._segment)
        self._write_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._write_size = os.fstat(self._write_fd).st_size

    def _roll(self) -> None:
        assert self._write_fd is not None
        self.sync()
        os.close(self._write_fd)
        self._segment += 1
        self._open_for_append()
