"""The contract between the ways in (files, HTTP, NATS JetStream) and the pipeline.

A way in hands the pipeline a `RawBatch`: raw records with their positions, plus what makes a
retry harmless — a checkpoint (files: the read position, written in the same transaction as
the data, so a restart resumes exactly) or a batch key (HTTP idempotency keys, JetStream
message ids: a batch already committed under that key is skipped whole). Every event also
carries a fingerprint, unique in storage, as the last line of defence against duplicates.

`ingest` returns only after the batch is durably committed; only then may a way in
acknowledge (HTTP answers, JetStream acks, the file reader moves on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from itertools import accumulate, repeat
from operator import add
from typing import Protocol

import msgspec


class Feed(StrEnum):
    """Which parser a batch needs."""

    EVE = "eve"
    SHADOWSERVER = "shadowserver"


class RawRecord(msgspec.Struct, frozen=True, gc=False):
    """One record as received: a line of EVE, a row of a report. `position` says where it came
    from (a byte offset in a file, a line number, an index in an HTTP body), for quarantine.

    A frozen msgspec Struct, not tracked by the garbage collector, because readers make one
    per line: built in C (also by `map(RawRecord, positions, lines)`), it costs a third of a
    frozen dataclass."""

    position: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a reader stands in a source; committed with the batch that brought it there."""

    source: str  # e.g. "file:/var/log/suricata/eve.json"
    identity: str  # what the position is relative to: the file's device:inode, a stream name
    position: int  # the byte offset after the last record of the batch


def split_lines(start: int, data: bytes) -> list[RawRecord]:
    """Return the records of whole lines read from byte offset start (data ends with a
    newline): one per line that is not blank, with its offset; a blank line's bytes count."""
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline: nothing
    if all(map(bytes.strip, lines)):  # no blank line: every line is a record
        offsets = accumulate(map(add, map(len, lines), repeat(1)), initial=start)
        return list(map(RawRecord, offsets, lines))
    records, offset = [], start
    for line in lines:
        if line.strip():
            records.append(RawRecord(offset, line))
        offset += len(line) + 1
    return records


@dataclass(frozen=True)
class RawBatch:
    """Records from one source, to be ingested in one transaction."""

    source: str  # where it came from: "file:/path", "http:sensor-name", "nats:subject"
    feed: Feed
    records: list[RawRecord]
    sensor: str | None = None  # the sensor that sent it, where known
    report_type: str | None = None  # Shadowserver report type, where known (else from name)
    filename: str | None = None  # the report's file name (Shadowserver type detection)
    batch_key: str | None = None  # idempotency key: a batch already committed is skipped
    checkpoint: Checkpoint | None = None
    # EVE lines a file reader read, not yet split into records: (offset, whole lines). Only
    # for a sink that says `takes_blocks` (the pipeline), which splits them, or screens them
    # without making a record of a line only counted; they follow `records` in the file.
    blocks: tuple[tuple[int, bytes], ...] = ()

    def all_records(self) -> list[RawRecord]:
        """Return every record of the batch, blocks split."""
        if not self.blocks:
            return self.records
        return [
            *self.records,
            *(r for start, data in self.blocks for r in split_lines(start, data)),
        ]


@dataclass
class IngestResult:
    """What became of a batch."""

    records: int = 0
    events_stored: int = 0
    events_duplicate: int = 0  # already stored (same fingerprint)
    events_unattributed: int = 0  # touched no member: counted, not stored in full
    events_suppressed: int = 0
    events_unmatched_protocol: int = 0  # protocol records that matched no indicator
    quarantined: int = 0
    sensor_stats: int = 0
    alerts_touched: int = 0
    skipped_batch: bool = False  # the batch key was committed before: nothing done
    alert_ids: list[int] = field(default_factory=list)


class EventSink(Protocol):
    """What the ways in deliver to: the pipeline, or a bus that carries batches to workers."""

    def ingest(self, batch: RawBatch) -> IngestResult:
        """Durably take in a batch and return what became of it."""
        ...
