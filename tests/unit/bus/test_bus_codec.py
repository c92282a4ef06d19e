"""Batches survive the trip through a message, and payloads that are not batches are refused."""

from __future__ import annotations

import gzip
import zlib

import pytest

from vardeild.bus.codec import (
    MAX_DECODED_BYTES,
    CodecError,
    decode_batch,
    encode_batch,
    split_records,
)
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord


def _eve(n: int) -> bytes:
    return (
        b'{"timestamp":"2026-11-28T12:00:00.%06d+0000","event_type":"alert","src_ip":"192.0.2.%d",'
        b'"dest_ip":"198.51.100.7","alert":{"signature_id":2001999,"signature":"ET TEST"}}'
        % (n, n % 250)
    )


def _batch(count: int, **overrides: object) -> RawBatch:
    fields: dict[str, object] = {
        "source": "ship:s1:/var/log/suricata/eve.json",
        "feed": Feed.EVE,
        "records": [RawRecord(position=i * 1000, data=_eve(i)) for i in range(count)],
        "sensor": "s1",
    }
    fields.update(overrides)
    return RawBatch(**fields)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field_but_key_and_checkpoint() -> None:
    batch = _batch(100, report_type="scan_http", filename="x.csv", batch_key="k")
    back = decode_batch(encode_batch(batch), source="ignored")
    assert back.records == batch.records
    assert (back.source, back.feed, back.sensor, back.report_type, back.filename) == (
        batch.source,
        batch.feed,
        batch.sensor,
        batch.report_type,
        batch.filename,
    )
    assert back.batch_key is None  # the transport assigns it from the message id
    assert back.checkpoint is None


def test_compressed_only_when_it_pays() -> None:
    big = encode_batch(_batch(100))
    assert big[0] == 0x02
    assert len(big) < sum(len(_eve(i)) for i in range(100)) / 3
    small = encode_batch(_batch(1))
    assert small[0] == 0x01
    random_bytes = RawBatch(
        source="s", feed=Feed.EVE, records=[RawRecord(0, bytes(range(256)) * 40)]
    )
    assert encode_batch(random_bytes)[0] in (0x01, 0x02)
    assert decode_batch(encode_batch(random_bytes), source="s").records == random_bytes.records


def test_binary_record_data_is_kept_byte_for_byte() -> None:
    odd = [b"\x00\xff\xfe", b'{"a":"\\u0000"}', "ø".encode(), b"\xed\xa0\x80"]
    batch = RawBatch(
        source="s", feed=Feed.SHADOWSERVER, records=[RawRecord(i, d) for i, d in enumerate(odd)]
    )
    assert decode_batch(encode_batch(batch), source="s").records == batch.records


def test_plain_ndjson_from_a_third_party_sensor() -> None:
    payload = _eve(1) + b"\n\n" + _eve(2) + b"\r\n" + _eve(3)
    batch = decode_batch(payload, source="bus:vardeild.events.eve.s9", sensor="s9")
    assert [r.data for r in batch.records] == [_eve(1), _eve(2), _eve(3)]
    assert batch.records[1].position == len(_eve(1)) + 2
    assert (batch.source, batch.sensor, batch.feed) == (
        "bus:vardeild.events.eve.s9",
        "s9",
        Feed.EVE,
    )
    gzipped = decode_batch(gzip.compress(payload), source="x")
    assert [r.data for r in gzipped.records] == [_eve(1), _eve(2), _eve(3)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"\x07junk", "unknown payload format"),
        (b"\x01\x93\x01", "not a Vardeild batch"),
        (b"\x02not zlib", "corrupt compressed"),
        (b"\x02" + zlib.compress(b"x" * 100)[:-4], "truncated"),
        (b"\x1f\x8b\x08garbage", "corrupt gzip"),
    ],
)
def test_refuses_what_is_not_a_batch(payload: bytes, reason: str) -> None:
    with pytest.raises(CodecError, match=reason):
        decode_batch(payload, source="s")


def test_refuses_a_compression_bomb() -> None:
    bomb = b"\x02" + zlib.compress(b"\x00" * (MAX_DECODED_BYTES + 1024), 9)
    assert len(bomb) < 200_000
    with pytest.raises(CodecError, match="expands past"):
        decode_batch(bomb, source="s")
    gzip_bomb = gzip.compress(b" " * (MAX_DECODED_BYTES + 1024), 9)
    with pytest.raises(CodecError, match="expands past"):
        decode_batch(gzip_bomb, source="s")


def test_split_records_by_count_and_bytes() -> None:
    records = [RawRecord(i, b"x" * 100) for i in range(250)]
    assert [len(g) for g in split_records(records, max_records=100)] == [100, 100, 50]
    assert [len(g) for g in split_records(records, max_records=1000, max_bytes=1000)] == [10] * 25
    huge = [RawRecord(0, b"y" * 5000), RawRecord(1, b"z")]
    assert [len(g) for g in split_records(huge, max_bytes=1000)] == [1, 1]
