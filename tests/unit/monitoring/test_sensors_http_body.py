"""Reading a sensor's HTTP body: bounded gzip, and lines with their numbers."""

from __future__ import annotations

import gzip
import zlib

import pytest

from vardeild.monitoring.ingest import RawRecord
from vardeild.web.routes.ingest import BodyTooLarge, gunzip_bounded, split_records


def test_gzip_round_trips() -> None:
    data = b'{"event_type":"alert"}\n' * 1000
    assert gunzip_bounded(gzip.compress(data), limit=len(data)) == data


def test_concatenated_gzip_members_are_one_body() -> None:
    assert gunzip_bounded(gzip.compress(b"a\n") + gzip.compress(b"b\n"), limit=100) == b"a\nb\n"


def test_a_bomb_stops_at_the_limit_without_inflating_it_all() -> None:
    # 1 GiB of zeros compresses to about 1 MiB; give it a little of that and the limit bites
    # after limit + one chunk of output, never a gigabyte.
    stream = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = stream.compress(b"\0" * (64 * 1024 * 1024)) + stream.flush()
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge, match="more than 1,048,576 bytes"):
        gunzip_bounded(bomb, limit=1024 * 1024)


def test_the_limit_counts_every_member() -> None:
    member = gzip.compress(b"x" * 600)
    assert len(gunzip_bounded(member + member, limit=1200)) == 1200
    with pytest.raises(BodyTooLarge):
        gunzip_bounded(member + member, limit=1199)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not gzip at all", "not valid gzip"),
        (gzip.compress(b"a\n" * 100)[:-12], "cut short"),
        (gzip.compress(b"a\n") + b"trailing junk", "not valid gzip"),
        (b"", "cut short"),
    ],
    # Named ids: gzip writes the time into its header, and pytest-xdist's workers must agree
    # on every test id.
    ids=["not-gzip", "cut-short", "trailing-junk", "empty"],
)
def test_broken_gzip_is_refused(body: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        gunzip_bounded(body, limit=1000)


def test_zero_padding_after_the_last_member_is_allowed() -> None:
    assert gunzip_bounded(gzip.compress(b"a\n") + b"\0" * 512, limit=10) == b"a\n"


def test_lines_carry_their_numbers_and_blank_lines_are_skipped() -> None:
    body = b'{"a":1}\r\n\n  \n{"b":2}\n{"c":3}'
    assert split_records(body) == [
        RawRecord(position=1, data=b'{"a":1}'),
        RawRecord(position=4, data=b'{"b":2}'),
        RawRecord(position=5, data=b'{"c":3}'),
    ]
    assert split_records(b"") == []
    assert split_records(b"\n\n") == []


def test_json_seq_records_start_with_record_separators() -> None:
    body = b'\x1e{"a":1}\n\x1e{"b":\n 2}\n\x1e\n\x1e{"c":3}\n'
    assert split_records(body, json_seq=True) == [
        RawRecord(position=1, data=b'{"a":1}'),
        RawRecord(position=2, data=b'{"b":\n 2}'),
        RawRecord(position=5, data=b'{"c":3}'),
    ]
