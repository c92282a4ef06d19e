"""Batches as bus messages, and back.

A message is one `RawBatch` of up to about 100 records (`MAX_RECORDS`) or `MAX_BYTES` of record
data, whichever comes first: the NATS Python client tops out near 60,000 messages a second, so
one event per message would cap the pipeline, while 100 per message carries ~350,000 events a
second (../shared/LIMITS.md). The payload is self-describing by its first byte:

- `0x01`: msgpack (msgspec) of the batch; `0x02`: the same, zlib-compressed. Compression is
  used only when it pays (EVE compresses about 5:1; short batches are left alone).
- `{` or whitespace: plain NDJSON, one EVE record a line — what a third-party sensor (Vector,
  Fluent Bit) publishes; `0x1f 0x8b`: the same, gzipped. Positions are byte offsets in it.

Decoding refuses a payload that expands past `MAX_DECODED_BYTES`, so one crafted message cannot
exhaust a worker's memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

import msgspec

from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord

MAX_RECORDS = 100
MAX_BYTES = 512 * 1024  # record data per message; NATS refuses payloads over 1 MiB by default
MAX_DECODED_BYTES = 64 * 1024 * 1024
COMPRESS_FROM = 2048  # smaller bodies are sent as they are
COMPRESS_GAIN = 0.8  # compressed only if it shrinks to at most this fraction

_MSGPACK = 0x01
_MSGPACK_ZLIB = 0x02
_GZIP_MAGIC = b"\x1f\x8b"
_JSON_STARTS = frozenset(b"{ \t\r\n")


class CodecError(ValueError):
    """A payload that is not a batch; the message says why."""


class _Wire(msgspec.Struct, array_like=True, frozen=True):
    source: str
    feed: Feed
    sensor: str | None
    report_type: str | None
    filename: str | None
    positions: list[int]
    data: list[bytes]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Wire)


def encode_batch(batch: RawBatch) -> bytes:
    """Return the message payload for batch (its key and checkpoint stay with the sender)."""
    wire = _Wire(
        source=batch.source,
        feed=batch.feed,
        sensor=batch.sensor,
        report_type=batch.report_type,
        filename=batch.filename,
        positions=[record.position for record in batch.records],
        data=[record.data for record in batch.records],
    )
    body = _encoder.encode(wire)
    if len(body) >= COMPRESS_FROM:
        packed = zlib.compress(body, 1)
        if len(packed) <= len(body) * COMPRESS_GAIN:
            return bytes((_MSGPACK_ZLIB,)) + packed
    return bytes((_MSGPACK,)) + body


def decode_batch(payload: bytes, *, source: str, sensor: str | None = None) -> RawBatch:
    """Return the batch a payload carries; source and sensor are used where the payload names
    none (NDJSON). Raises CodecError for anything else."""
    if not payload:
        raise CodecError("empty message")
    tag = payload[0]
    if tag in (_MSGPACK, _MSGPACK_ZLIB):
        body = payload[1:] if tag == _MSGPACK else _inflate(payload[1:])
        try:
            wire = _decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise CodecError(f"not a Vardeild batch: {exc}") from exc
        if len(wire.positions) != len(wire.data):
            raise CodecError(
                f"not a Vardeild batch: {len(wire.positions)} positions "
                f"for {len(wire.data)} records"
            )
        records = [RawRecord(p, d) for p, d in zip(wire.positions, wire.data, strict=True)]
        return RawBatch(
            source=wire.source,
            feed=wire.feed,
            records=records,
            sensor=wire.sensor if wire.sensor is not None else sensor,
            report_type=wire.report_type,
            filename=wire.filename,
        )
    if payload.startswith(_GZIP_MAGIC):
        payload = _gunzip(payload)
    elif tag not in _JSON_STARTS:
        raise CodecError(f"unknown payload format (first byte 0x{tag:02x})")
    return RawBatch(source=source, feed=Feed.EVE, records=split_ndjson(payload), sensor=sensor)


def split_ndjson(data: bytes) -> list[RawRecord]:
    """Return the non-blank lines of data as records positioned at their byte offsets."""
    records: list[RawRecord] = []
    offset = 0
    for line in data.splitlines(keepends=True):
        stripped = line.rstrip(b"\r\n")
        if stripped.strip():
            records.append(RawRecord(offset, stripped))
        offset += len(line)
    return records


def split_records(
    records: Sequence[RawRecord], *, max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES
) -> Iterator[list[RawRecord]]:
    """Yield consecutive groups of records, each as large as max_records and max_bytes allow
    (a record larger than max_bytes travels alone)."""
    group: list[RawRecord] = []
    size = 0
    for record in records:
        if group and (len(group) >= max_records or size + len(record.data) > max_bytes):
            yield group
            group, size = [], 0
        group.append(record)
        size += len(record.data)
    if group:
        yield group


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(data, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise CodecError(f"corrupt compressed batch: {exc}") from exc
    if inflater.unconsumed_tail:
        raise CodecError(f"batch expands past {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise CodecError("truncated compressed batch")
    return body


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise CodecError(f"corrupt gzip body: {exc}") from exc
    if inflater.unconsumed_tail:
        raise CodecError(f"gzip body expands past {MAX_DECODED_BYTES} bytes")
    if not inflater.eof:
        raise CodecError("truncated gzip body")
    return body
