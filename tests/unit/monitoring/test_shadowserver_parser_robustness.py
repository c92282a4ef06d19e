"""Bad input to the Shadowserver parser: each rule in the module docstring, one test or more.
A bad row costs that row only; every data row yields exactly one outcome."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from vardeild.monitoring.model import Event, ParseError
from vardeild.monitoring.parsers.shadowserver import (
    DECODING_KEY,
    MAX_RECORD_BYTES,
    RowParseError,
    ShadowserverParser,
    parse_timestamp,
)

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEADER = b'"timestamp","ip","protocol","port","hostname","tag","asn","geo","banner"\n'


def row(ip: str = "192.0.2.1", banner: str = "ok", timestamp: str = "2024-05-01 10:00:00") -> bytes:
    return f'"{timestamp}","{ip}","tcp",23,,"telnet",64500,"NO","{banner}"\n'.encode()


def outcomes(
    data: bytes, filename: str = "scan_telnet.csv", *, max_record_bytes: int = MAX_RECORD_BYTES
) -> list[tuple[int, Event | ParseError]]:
    parser = ShadowserverParser(max_record_bytes=max_record_bytes)
    return parser.parse_bytes(data, filename=filename, observed_at=OBSERVED)


def summary(data: bytes, filename: str = "scan_telnet.csv") -> list[tuple[int, str]]:
    """(line, "event" or the error message) per outcome."""
    return [
        (line, str(o) if isinstance(o, ParseError) else "event")
        for line, o in outcomes(data, filename)
    ]


# -- the header --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\n", "no header: the file is empty or starts with a blank line"),
        (row(), "is not a column name"),  # the header is missing: a data row comes first
        (b"<html><body>502 Bad Gateway</body></html>\n", "is not a column name"),
        (b'"ip","port"\n"192.0.2.1",23\n', "no 'timestamp' column"),
        (b'"timestamp","ip","ip"\n', "names column 'ip' twice"),
        (b'"timestamp","i\x00p"\n', "NUL byte"),
    ],
)
def test_a_file_without_a_shadowserver_header_is_one_error(data: bytes, message: str) -> None:
    [(line, error)] = outcomes(data + row())
    assert line == 1
    assert isinstance(error, ParseError)
    assert message in str(error)
    assert str(error).startswith("scan_telnet.csv line 1: ")


def test_an_empty_file_is_one_error() -> None:
    [(line, error)] = outcomes(b"")
    assert line == 1
    assert str(error) == (
        "scan_telnet.csv line 1: no header: the file is empty or starts with a blank line"
    )


def test_a_header_alone_is_no_rows() -> None:
    assert outcomes(HEADER) == []


# -- encodings and line ends --------------------------------------------------------------------


def test_byte_order_mark_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + (HEADER + row() + row("192.0.2.2")).replace(b"\n", b"\r\n")
    results = outcomes(data)
    assert [line for line, _ in results] == [2, 3]
    event = results[0][1]
    assert isinstance(event, Event)
    assert event.source_ip == "192.0.2.1"
    assert event.raw == '"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"telnet",64500,"NO","ok"'


def test_windows_1252_rows_are_read_as_such_and_marked() -> None:
    # 0xF8 is "ø" in Windows-1252 and not UTF-8: a report saved by a spreadsheet on Windows.
    data = HEADER + row(banner="Velkommen til Tromsø").replace("ø".encode(), b"\xf8")
    [(_, event)] = outcomes(data)
    assert isinstance(event, Event)
    assert event.extra["banner"] == "Velkommen til Tromsø"
    assert event.extra[DECODING_KEY] == "windows-1252"


def test_undecodable_bytes_are_replaced_and_neighbours_untouched() -> None:
    bad = b'"2024-05-01 10:00:00","192.0.2.2","tcp",23,,"t",1,"NO","\x81\x8d banner"\n'
    results = outcomes(HEADER + row() + bad + row("192.0.2.3"))
    assert [line for line, _ in results] == [2, 3, 4]
    first, middle, last = (o for _, o in results)
    assert isinstance(first, Event)
    assert isinstance(middle, Event)
    assert isinstance(last, Event)
    assert middle.extra["banner"] == "\ufffd\ufffd banner"
    assert middle.extra[DECODING_KEY] == "utf-8 with invalid bytes replaced"
    assert DECODING_KEY not in first.extra
    assert DECODING_KEY not in last.extra


def test_valid_utf8_is_kept_exactly() -> None:
    [(_, event)] = outcomes(HEADER + row(banner="Hei på deg ☃"))
    assert isinstance(event, Event)
    assert event.extra["banner"] == "Hei på deg ☃"
    assert DECODING_KEY not in event.extra


# -- rows that cannot be events ------------------------------------------------------------------


def test_a_row_with_a_nul_byte_is_an_error_naming_the_line() -> None:
    results = outcomes(HEADER + row() + row(banner="a\x00b") + row("192.0.2.3"))
    assert [line for line, _ in results] == [2, 3, 4]
    error = results[1][1]
    assert isinstance(error, RowParseError)
    assert str(error) == (
        "scan_telnet.csv line 3: line 3 contains a NUL byte, which PostgreSQL cannot store"
    )
    assert "\x00" not in error.raw
    assert "a\\x00b" in error.raw
    assert isinstance(results[2][1], Event)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (b'"2024-05-01 10:00:00","192.0.2.1","tcp",23\n', "4 cells, but the header has 9"),
        (row().rstrip(b"\n") + b',"surplus"\n', "10 cells, but the header has 9"),
    ],
)
def test_a_row_with_the_wrong_number_of_cells_is_an_error(cells: bytes, message: str) -> None:
    assert summary(HEADER + row() + cells + row()) == [
        (2, "event"),
        (3, f"scan_telnet.csv line 3: {message}"),
        (4, "event"),
    ]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (row(ip="192.0.2.300"), "column 'ip': '192.0.2.300' is not an IP address"),
        (row(ip="192.0.2.0/24"), "column 'ip': '192.0.2.0/24' is not an IP address"),
        (row(ip="fe80::1%eth0"), "column 'ip': 'fe80::1%eth0' is not an IP address"),
        (row(ip="host.example"), "column 'ip': 'host.example' is not an IP address"),
        (row().replace(b",23,", b",70000,"), "column 'port': '70000' is not a port number"),
        (row().replace(b",23,", ',"²",'.encode()), "column 'port': '²' is not a port number"),
        (row().replace(b",64500,", b',"AS-x",'), "column 'asn': 'AS-x' is not an AS number"),
        (row(timestamp="yesterday"), "column 'timestamp': 'yesterday' is not a timestamp"),
        (row(timestamp=""), "column 'timestamp' is empty"),
    ],
)
def test_a_cell_that_is_not_what_its_field_needs_is_an_error(bad_row: bytes, message: str) -> None:
    [(line, error)] = outcomes(HEADER + bad_row)
    assert line == 2
    assert isinstance(error, ParseError)
    assert str(error).startswith(f"scan_telnet.csv line 2: {message}")


def test_lenient_cells() -> None:
    data = HEADER + row(ip=" 192.0.2.7 ").replace(b",64500,", b',"0",') + row(ip="2001:DB8::A")
    (_, padded), (_, ipv6) = outcomes(data)
    assert isinstance(padded, Event)
    assert isinstance(ipv6, Event)
    assert padded.source_ip == "192.0.2.7"
    assert padded.source_asn is None  # AS 0: unknown
    assert ipv6.source_ip == "2001:db8::a"
    assert ipv6.source_asn == 64500


@pytest.mark.parametrize(
    ("hostname", "field", "extra"),
    [
        ("Mail.Example.NO", "mail.example.no", None),
        ("mail.example.no.", "mail.example.no", None),
        (" mail.example.no ", "mail.example.no", None),
        ("xn--rros-gra.example", "xn--rros-gra.example", None),
        ("192.0.2.44", None, "192.0.2.44"),  # an address is not a host name
    ],
)
def test_host_names_are_normalised(hostname: str, field: str | None, extra: str | None) -> None:
    [(_, event)] = outcomes(HEADER + row().replace(b",,", f',"{hostname}",'.encode(), 1))
    assert isinstance(event, Event)
    assert event.source_reverse_dns == field
    assert event.extra.get("hostname") == extra


def test_quoted_newlines_keep_the_row_whole_and_number_the_next_ones() -> None:
    multi = b'"2024-05-01 10:00:00","192.0.2.2","tcp",23,,"t",1,"NO","220 Welcome\r\nto the\nbox"\n'
    results = outcomes(HEADER + row() + multi + row("192.0.2.3"))
    assert [line for line, _ in results] == [2, 3, 6]
    event = results[1][1]
    assert isinstance(event, Event)
    assert event.extra["banner"] == "220 Welcome\r\nto the\nbox"
    assert event.raw == multi.decode().rstrip("\n")
    [cells] = csv.reader(io.StringIO(event.raw))  # raw is CSV text that reads back the same
    assert cells[8] == "220 Welcome\r\nto the\nbox"


def test_blank_lines_hold_no_row() -> None:
    assert summary(HEADER + b"\n" + row() + b"\r\n\n" + row()) == [(3, "event"), (6, "event")]


def test_an_overlong_line_is_skipped_without_being_held() -> None:
    limit = 4096
    huge = row(banner="x" * (limit * 3))
    results = outcomes(HEADER + row() + huge + row("192.0.2.3"), max_record_bytes=limit)
    assert [line for line, _ in results] == [2, 3, 4]
    error = results[1][1]
    assert isinstance(error, RowParseError)
    assert str(error) == "scan_telnet.csv line 3: line 3 is longer than 4,096 bytes"
    assert len(error.raw) < 100
    assert isinstance(results[2][1], Event)


def test_an_overlong_row_of_several_lines_is_an_error() -> None:
    limit = 4096
    many = (b"line of a banner\n" * 400).rstrip(b"\n")
    long_row = row(banner=many.decode())
    results = outcomes(HEADER + long_row + row("192.0.2.3"), max_record_bytes=limit)
    assert [line for line, _ in results] == [2, 402]
    error = results[0][1]
    assert isinstance(error, ParseError)
    assert str(error) == "scan_telnet.csv line 2: the row is longer than 4,096 bytes"
    assert isinstance(results[1][1], Event)


def test_fields_up_to_the_bound_are_fine() -> None:
    big = "c" * (MAX_RECORD_BYTES - 200)  # a certificate chain, say
    [(_, event)] = outcomes(HEADER + row(banner=big))
    assert isinstance(event, Event)
    assert event.extra["banner"] == big
    assert csv.field_size_limit() >= MAX_RECORD_BYTES


def test_an_unterminated_quote_costs_the_lines_it_swallows_one_error() -> None:
    broken = b'"2024-05-01 10:00:00","192.0.2.2","tcp",23,,"t",1,"NO","never closed\n'
    data = HEADER + row() + broken + row("192.0.2.3") + row("192.0.2.4")
    # The open quote runs into line 4; the csv reader makes one (ragged) row of lines 3-4.
    assert summary(data) == [
        (2, "event"),
        (3, "scan_telnet.csv line 3: 17 cells, but the header has 9"),
        (5, "event"),
    ]


def test_a_bare_carriage_return_in_an_unquoted_cell_is_an_error() -> None:
    bare = b'"2024-05-01 10:00:00","192.0.2.2","tcp",23,,"t",1,"NO",two\rlines\n'
    assert summary(HEADER + row() + bare + row("192.0.2.3")) == [
        (2, "event"),
        (3, "scan_telnet.csv line 3: a carriage return inside an unquoted cell"),
        (4, "event"),
    ]


@pytest.fixture
def csv_cell_limit() -> Iterator[int]:
    """csv's cell bound is process-wide: pin it to the parser's default for the test."""
    before = csv.field_size_limit(MAX_RECORD_BYTES)
    yield MAX_RECORD_BYTES
    csv.field_size_limit(before)


@pytest.mark.usefixtures("csv_cell_limit")
def test_an_unclosed_quote_over_the_bound_is_cut_off_there() -> None:
    opened = b'"2024-05-01 10:00:00","192.0.2.2","tcp",23,,"t",1,"NO","open\n'
    filler = b"banner text without a quote\n" * 50_000  # ~1.4 MB: over the bound
    results = outcomes(HEADER + opened + filler + row("192.0.2.3"), max_record_bytes=4096)
    line, error = results[0]
    assert line == 2
    assert str(error) == "scan_telnet.csv line 2: the row is longer than 4,096 bytes"
    assert isinstance(error, RowParseError)
    assert len(error.raw) <= 4096
    # Past the point where csv gives up, the filler lines are rows of one cell each: errors,
    # one per line, never a crash and never an event made of them.
    assert all(isinstance(o, ParseError) for _, o in results[:-1])
    assert isinstance(results[-1][1], Event)


# -- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02 03:04:05",
        "2024-01-02T03:04:05",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05+00:00",
        "2024-01-02 05:04:05+02:00",
        "2024-01-02 03:04:05 UTC",
        " 2024-01-02 03:04:05 ",
    ],
)
def test_timestamps_in_shadowserver_formats_become_utc(text: str) -> None:
    assert parse_timestamp(text) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    [(_, event)] = outcomes(HEADER + row(timestamp=text))
    assert isinstance(event, Event)
    assert event.time_source == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_fractional_seconds_are_kept() -> None:
    moment = parse_timestamp("2021-03-27T00:00:00.521730Z")
    assert moment == datetime(2021, 3, 27, 0, 0, 0, 521730, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2024-13-02 03:04:05", "02/01/2024 03:04", "1714557600", "x"])
def test_not_timestamps(text: str) -> None:
    with pytest.raises(ValueError, match="is not a timestamp"):
        parse_timestamp(text)


def test_rows_sharing_a_timestamp_share_its_value_correctly() -> None:
    results = outcomes(HEADER + row() + row("192.0.2.2") + row(timestamp="2024-05-01 10:00:01"))
    times = [o.time_source for _, o in results if isinstance(o, Event)]
    assert times == [
        datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC),
    ]


def test_severity_column_values_that_are_not_levels_stay_in_extra() -> None:
    header = HEADER.rstrip(b"\n") + b',"severity"\n'
    data = header + row().rstrip(b"\n") + b',"urgent"\n' + row().rstrip(b"\n") + b',"Low"\n'
    (_, odd), (_, low) = outcomes(data)
    assert isinstance(odd, Event)
    assert isinstance(low, Event)
    assert odd.extra["severity"] == "urgent"
    assert odd.severity.name == "MEDIUM"  # scan_telnet's default
    assert low.severity.name == "LOW"
    assert "severity" not in low.extra


# -- anything at all ------------------------------------------------------------------------------


def test_mangled_reports_yield_only_events_and_parse_errors() -> None:
    """Random damage to real-looking reports: never an exception, never a lost row."""
    rng = random.Random(20261128)
    clean = HEADER + row() + row("2001:db8::5", banner='say "hi"') + row("192.0.2.9")
    alphabet = b'",\r\n\x00\xff\xfe\xef\xbb\xbf;:/ 0123456789abcdefTZ+-.'
    for _ in range(500):
        data = bytearray(clean)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[at] = rng.choice(alphabet)
            elif action < 0.7:
                data.insert(at, rng.choice(alphabet))
            else:
                del data[at]
        results = outcomes(bytes(data), max_record_bytes=256)
        for line, outcome in results:
            assert line >= 1
            assert isinstance(outcome, Event | ParseError)
            if isinstance(outcome, Event):
                assert "\x00" not in outcome.raw
                assert outcome.time_source is not None
