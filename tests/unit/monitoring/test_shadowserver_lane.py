"""The Shadowserver lane (parsers/shadowserver_lane.py, _report_lane.c) stores exactly what the
general path stores, or declines the batch: rows byte for byte, alert windows, counts and the
alerts they fold into."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, Table, create_engine, select
from tests.support.report_lane import (
    OBSERVED,
    Stored,
    batch_of,
    both,
    drafts_of,
    require_lane,
)

from vardeild.core.clock import utc_text
from vardeild.db.base import UTCDateTime
from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.members.attribution import AttributionIndex
from vardeild.monitoring import store_sqlite
from vardeild.monitoring.batch import BatchProcessor
from vardeild.monitoring.model import EVENT_COLUMNS
from vardeild.monitoring.parsers import shadowserver_lane
from vardeild.monitoring.store import Outcome
from vardeild.monitoring.suppression import Suppressor, _Rule

pytestmark = pytest.mark.usefixtures("native_lane")

FILENAME = "2024-05-01-scan_smb-world.csv"
HEADER = (
    b"timestamp,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,sic,"
    b"smb_implant,arch,key,smbv1_support,smb_major_number,smb_minor_number,smb_revision,"
    b"smb_version_string\n"
)
GOOD = [
    # attributed by address (member 1), an extra cell with a backslash and a tab
    b"2024-05-01 10:00:00,192.0.2.10,tcp,445,Host-1.Example.NET,smb,64500,NO,Oslo,"
    b"Oslo,0,0,N,,,Y,1,0,0,SMB 1.0 \\x\t\n",
    # by AS number alone (member 3), AS0 is "unknown", upper-case protocol with spaces
    b"2024-05-01T10:59:59,203.0.113.7, TCP ,445,,smb,64501,NO,,,0,0,N,,,N,2,1,0,SMB 2.1\n",
    # nobody's: counted, not stored
    b"2024-05-01 11:00:00,198.18.0.1,tcp,445,other.example,smb,65000,SE,,,0,0,N,,,N,2,1,0,\n",
    # a non-ASCII city (UTF-8) and a CRLF line end; member 2 by a longer prefix
    "2024-05-01 11:30:00,192.0.2.130,udp,0445,x.example.no,smb,0,NO,Troms,Tromsø,0,0,N,"
    "a,b,Y,1,0,0,SMB 1.0\r\n".encode(),
    # a leap day, every optional cell empty
    b"2024-02-29 23:59:59,192.0.2.11,,,,,,,,,,,,,,,,,,\n",
    # the same row twice: stored once, counted a duplicate
    b"2024-05-01 10:00:00,192.0.2.12,tcp,445,h.example,smb,64500,NO,,,0,0,N,,,Y,1,0,0,x\n",
    b"2024-05-01 10:00:00,192.0.2.12,tcp,445,h.example,smb,64500,NO,,,0,0,N,,,Y,1,0,0,x\n",
    # quoted cells as Shadowserver writes them: a comma and a doubled quote inside, empty
    b'"2024-05-01 10:00:00","192.0.2.14","tcp","445","h3.example","smb","64500","NO","a,b",'
    b'"say ""hi""","","0","N","","","Y","1","0","0",""\n',
    # the last row of a file, without its newline
    b"2024-05-01 12:00:00,192.0.2.13,tcp,445,h2.example,smb,64500,NO,,,0,0,N,,,Y,1,0,0,z",
]


# An event report: both sides, the destination named by a host name (attribution by domain,
# then AS number; destination.fqdn is also a field the indicator matcher reads)
EVENTS = "2024-05-01-event4_honeypot_adb_scan-world.csv"
NAMED = (
    b"timestamp,protocol,src_ip,src_port,src_asn,src_hostname,dst_ip,dst_port,dst_asn,"
    b"dst_hostname,tag,public_source\n"
)
WITH_NAMES = [
    b"2024-05-01 10:00:00,tcp,192.0.2.10,40000,64500,a.example,198.18.0.9,5555,,"
    b"Mail.Example.NO,adb,x\n",
    b"2024-05-01 10:00:01,tcp,192.0.2.10,40001,64500,,198.18.0.9,5555,64999,other.example,,\n",
    b"2024-05-01 10:00:02,TCP,198.18.0.1,40002,,,198.18.0.10,5555,64501,elsewhere.example,,\n",
]


@pytest.fixture(scope="module")
def native_lane() -> None:
    require_lane()


@pytest.fixture(scope="module")
def index() -> AttributionIndex:
    return AttributionIndex.build(
        [("192.0.2.0/24", 1), ("192.0.2.128/25", 2)], [("example.no", 4)], [(64501, 3)]
    )


def records(rows: list[bytes], header: bytes = HEADER) -> list[bytes]:
    return [header + row for row in rows]


def assert_same(general: Stored, lane: Stored) -> None:
    assert lane.rows == general.rows
    assert [type(v) for r in lane.rows for v in r] == [type(v) for r in general.rows for v in r]
    assert lane.windows == general.windows
    assert lane.counts == general.counts
    assert lane.seen == general.seen
    assert lane.bad == general.bad == []
    assert drafts_of(lane, frozenset({2})) == drafts_of(general, frozenset({2}))


def test_the_c_code_writes_the_columns_where_the_table_has_them() -> None:
    for name, position in shadowserver_lane.NATIVE_POSITIONS.items():
        assert EVENT_COLUMNS[position] == name
    assert len(EVENT_COLUMNS) == 21


@pytest.mark.parametrize("size", [0, 1, 63, 64, 127, 128, 129, 255, 256, 257, 1000])
def test_the_fingerprint_is_blake2b(size: int) -> None:
    assert shadowserver_lane.native is not None
    data = random.Random(size).randbytes(size)
    for prefix in (b"", b"shadowserver\x1f\x1f", bytes(130)):
        expected = hashlib.blake2b(prefix + data, digest_size=16).hexdigest()
        assert shadowserver_lane.native.fingerprint(prefix, data) == expected


@pytest.mark.parametrize("store_unattributed", [False, True])
@pytest.mark.parametrize("sensor", [None, "scanner-1"])
def test_the_lane_stores_what_the_general_path_stores(
    index: AttributionIndex, store_unattributed: bool, sensor: str | None
) -> None:
    general, lane = both(
        records(GOOD), FILENAME, index, store_unattributed=store_unattributed, sensor=sensor
    )
    assert lane.work.lane is not None
    assert general.work.lane is None
    assert_same(general, lane)
    name = sensor or ""
    assert lane.counts[(name, Outcome.DUPLICATE)] == 1
    if not store_unattributed:
        assert lane.counts[(name, Outcome.UNATTRIBUTED)] == 1
    members = {(r[15], r[16]) for r in lane.rows}
    assert {(1, None), (2, None), (3, None)} <= members


def test_rows_for_sqlite_hold_their_times_as_sqlite_stores_them(index: AttributionIndex) -> None:
    general, lane = both(records(GOOD), FILENAME, index, text_times=True)
    assert lane.work.lane is not None
    assert_same(general, lane)
    assert lane.rows[0][2] == "2024-05-01 10:00:00.000000"
    assert lane.rows[0][3] == "2026-11-28 12:00:30.123456"
    assert lane.work.lane.times[0] == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 28, 12, 0, 30, 123456, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_the_time_text_the_lane_writes_is_what_sqlite_reads_back(when: datetime) -> None:
    """The lane writes times as text (core.clock.utc_text, as store_sqlite.stored_time does);
    SQLAlchemy's UTCDateTime must read that text back as the same instant."""
    text = store_sqlite.stored_time(when)
    assert text == utc_text(when)
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("at", UTCDateTime()))
    table.create(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (at) VALUES (?)", (text,))
        assert connection.execute(select(table.c.at)).scalar_one() == when


def test_a_row_s_data_and_columns_are_the_general_paths(index: AttributionIndex) -> None:
    _, lane = both(records(GOOD[:1]), FILENAME, index)
    (row,) = lane.rows
    values = dict(zip(EVENT_COLUMNS, row, strict=True))
    assert values["raw"] == GOOD[0].decode().removesuffix("\n")
    assert values["source_ip"] == "192.0.2.10"
    assert values["source_port"] == 445
    assert values["source_member_id"] == 1
    assert values["feed_code"] == "scan_smb"
    assert '"source_reverse_dns":"host-1.example.net"' in values["data"]
    assert '"city":"Oslo"' in values["data"]
    assert '"SMB 1.0 \\\\x\\t"' in values["data"]
    prefix = b"shadowserver\x1f\x1f"
    assert (
        values["fingerprint"]
        == hashlib.blake2b(prefix + GOOD[0].removesuffix(b"\n"), digest_size=16).hexdigest()
    )


@pytest.mark.parametrize(
    "bad",
    [
        b'2024-05-01 10:00:00,"192.0.2.20"x,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n',
        b'2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,a"b,,0,0,N,,,Y,1,0,0,x\n',
        b'2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,"x\n',
        b'2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x,"a,b"\n',
        b"2024-05-01 10:00:00,2001:db8::1,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,host-1,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example.,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        "2024-05-01 10:00:00,192.0.2.20,tcp,445,hø.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n".encode(),
        b"2024-05-01T10:00:00Z,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-02-30 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b",192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,70000,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,AS64500,NO,,,0,0,N,,,Y,1,0,0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,x,y\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0\r0,x\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,\x00\n",
        b"2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,\xff,,0,0,N,,,Y,1,0,0,x\n",
        b"\n",
        "2024-05-01 10:00:00,192.0.2.20,tcp,445,h.example,smb,1,NO,,,0,0,N,,,Y,1,0,0,"
        "\u00c5\n".encode("utf-16-le"),
    ],
)
def test_the_lane_declines_a_batch_the_general_path_must_judge(
    index: AttributionIndex, bad: bytes
) -> None:
    batch = records([*GOOD[:2], bad, GOOD[2]])
    general, lane = both(batch, FILENAME, index)
    assert lane.work.lane is None
    assert lane.rows == general.rows
    assert lane.bad == general.bad
    assert lane.counts == general.counts


def test_a_long_cell_unquoted_and_lowered_twice_fits(index: AttributionIndex) -> None:
    """The worst case of the C code's scratch space: a header far shorter than its rows, and a
    quoted cell with doubled quotes that two fields lower-case (a DNS request is the query and
    the destination's name). Run under AddressSanitizer too (docs/testing.md)."""
    header = b"timestamp,src_ip,query\n"
    name = b"A" + b'""B' + b"c" * 6000 + b".Example"
    rows = [b'2024-05-01 10:00:00,192.0.2.10,"' + name + b'"\n'] * 3
    general, lane = both(records(rows, header), "2024-05-01-event4_sinkhole_dns-world.csv", index)
    assert lane.work.lane is not None
    assert_same(general, lane)
    assert '"dns_query":"a\\"b' in lane.rows[0][19]


def test_a_batch_with_other_headers_is_declined(index: AttributionIndex) -> None:
    other = HEADER.replace(b"city", b"town")
    general, lane = both([*records(GOOD[:2]), *records(GOOD[2:3], other)], FILENAME, index)
    assert lane.work.lane is None
    assert lane.rows == general.rows


def test_a_report_the_lane_cannot_store_goes_the_general_way(index: AttributionIndex) -> None:
    # A URL column (its converter decides what a URL is) and an unknown report (lenient)
    header = b"timestamp,ip,port,hostname,url,asn,spam_sender,subject\n"
    row = b"2024-05-01 10:00:00,192.0.2.10,80,h.example,http://h.example/x,64500,a,b\n"
    for filename in ("2024-05-01-spam_url-world.csv", "2024-05-01-not_a_report.csv"):
        general, lane = both([header + row], filename, index)
        assert lane.work.lane is None
        assert lane.rows == general.rows


def test_an_indicator_that_could_match_sends_the_batch_to_the_general_path(
    index: AttributionIndex,
) -> None:
    hit = IndicatorMatcher.build([(7, IndicatorType.IPV4, "192.0.2.10")])
    general, lane = both(records(GOOD), FILENAME, index, matcher=hit)
    assert lane.work.lane is None
    assert (
        lane.work.sightings == general.work.sightings == {7: [1, lane.work.keep[0][0].time_source]}
    )
    # A name in a field the matcher reads (dst_hostname: destination.fqdn)
    name_hit = IndicatorMatcher.build([(8, IndicatorType.DOMAIN, "example.no")])
    general, lane = both(records(WITH_NAMES, NAMED), EVENTS, index, matcher=name_hit)
    assert lane.work.lane is None
    assert [e.matched_indicators for e, _ in lane.work.keep] == [[8], [], []]
    # A name only in a field it does not read (hostname: source.reverse_dns): no match
    general, lane = both(records(GOOD), FILENAME, index, matcher=name_hit)
    assert lane.work.lane is not None
    assert_same(general, lane)


def test_a_destination_named_by_a_member_s_domain_is_attributed_to_it(
    index: AttributionIndex,
) -> None:
    general, lane = both(records(WITH_NAMES, NAMED), EVENTS, index)
    assert lane.work.lane is not None
    assert_same(general, lane)
    assert [(r[15], r[16]) for r in lane.rows] == [(1, 4), (1, None), (None, 3)]


def test_indicators_no_row_could_match_leave_the_batch_to_the_lane(
    index: AttributionIndex,
) -> None:
    other = IndicatorMatcher.build(
        [(1, IndicatorType.IPV4, "198.51.100.1"), (2, IndicatorType.DOMAIN, "evil.example")]
    )
    general, lane = both(records(GOOD), FILENAME, index, matcher=other)
    assert lane.work.lane is not None
    assert_same(general, lane)


@pytest.mark.parametrize(
    ("member", "identifier", "indicator", "taken", "hits"),
    [
        (1, None, None, False, 6),  # member 1 has 6 rows here (the duplicate too)
        (3, None, None, False, 1),
        (None, None, None, False, 8),  # a rule for any member: every attributed row
        (99, None, None, True, 0),  # nobody in this batch
        (1, "accessible-smb", None, False, 6),  # the batch's identifier
        (1, "potentially-unwanted-accessible", None, False, 6),  # its type
        (1, "open-telnet", None, True, 0),  # another classification
        (None, "open-telnet", None, True, 0),
        (None, None, 5, True, 0),  # an indicator: the lane's rows match none
    ],
)
def test_a_suppression_rule_that_could_apply_sends_the_batch_the_general_way(
    index: AttributionIndex,
    member: int | None,
    identifier: str | None,
    indicator: int | None,
    taken: bool,
    hits: int,
) -> None:
    rule = _Rule(
        id=1, member_id=member, identifier=identifier, network=None, indicator_id=indicator
    )
    general, lane = (
        BatchProcessor(store_unattributed=False, lane=lane).process(
            batch_of(records(GOOD), FILENAME), OBSERVED, index, None, Suppressor([rule])
        )
        for lane in (False, True)
    )
    assert (lane.lane is not None) is taken
    assert lane.hits == general.hits == ({1: hits} if hits else {})
    assert lane.counts == general.counts
    if not taken:
        assert [row for _, row in lane.keep] == [row for _, row in general.keep]


def test_mangled_rows_are_stored_as_the_general_path_stores_them(
    index: AttributionIndex,
) -> None:
    """Random edits of the good rows (bytes the rules care about): whenever the lane takes a
    batch, it stores what the general path stores; it takes a good share of them."""
    rng = random.Random(20261129)
    alphabet = [b",", b'"', b"\r", b"\\", b"\t", b" ", b"0", b"9", b"a", b"Z", b".", b":", b"-"]
    alphabet += ["ø".encode(), b"\xc3", b"\x00", b"T", b"AS", b""]
    taken = 0
    for _ in range(1000):
        row = bytearray(rng.choice(GOOD[:2] + GOOD[3:]).removesuffix(b"\n"))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(row) + 1)
            cut = rng.choice([0, 0, 1])
            row[at : at + cut] = rng.choice(alphabet)
        batch = records([GOOD[0], bytes(row) + b"\n"])
        general, lane = both(
            batch,
            FILENAME,
            index,
            store_unattributed=rng.random() < 0.5,
            text_times=rng.random() < 0.5,
        )
        if lane.work.lane is None:
            assert lane.rows == general.rows
            assert lane.bad == general.bad
            continue
        taken += 1
        assert_same(general, lane)
    assert taken > 120, taken  # ~200 of 1,000 with this seed
