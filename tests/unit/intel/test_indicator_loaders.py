"""Reading indicator files: plain lists and CSV, and every way a line can be bad, named by its
line (and column)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vardeild.core.tlp import Tlp
from vardeild.intel.loaders import (
    MAX_LINE_BYTES,
    MAX_PROBLEMS,
    LoadDefaults,
    LoadFormat,
    ParsedFile,
    read_indicators,
)
from vardeild.intel.model import IndicatorType

T = IndicatorType
MD5 = "44d88612fea8a8f36de82e1278abb02f"
INFER = LoadDefaults()


def read_list(data: bytes, defaults: LoadDefaults = INFER) -> ParsedFile:
    return read_indicators(data, fmt=LoadFormat.LIST, defaults=defaults)


def read_csv(data: bytes, defaults: LoadDefaults = INFER) -> ParsedFile:
    return read_indicators(data, fmt=LoadFormat.CSV, defaults=defaults)


def problems(parsed: ParsedFile) -> list[str]:
    return [str(problem) for problem in parsed.problems]


def test_a_plain_list_tolerates_bom_crlf_comments_and_blank_lines() -> None:
    data = (
        b"\xef\xbb\xbf# Feodo Tracker banner\r\n"
        b"#\r\n"
        b"192.0.2.1\r\n"
        b"\r\n"
        b"   \r\n"
        b"Evil.Example.NO.   # the C2's name\r\n"
        b"10.0.0.0/8\t# a whole block\r\n"
        b"http://evil.no/x#frag\r\n"
        b"2001:DB8::1"  # no newline at the end
    )
    parsed = read_list(data)
    assert problems(parsed) == []
    assert [(r.line, r.type, r.value) for r in parsed.records] == [
        (3, T.IPV4, "192.0.2.1"),
        (6, T.DOMAIN, "evil.example.no"),
        (7, T.CIDR, "10.0.0.0/8"),
        (8, T.URL, "http://evil.no/x"),
        (9, T.IPV6, "2001:db8::1"),
    ]
    assert all(r.tlp is Tlp.AMBER and r.confidence == 50 for r in parsed.records)


def test_a_list_with_a_type_takes_every_value_as_that_type_with_the_defaults() -> None:
    until = datetime(2027, 1, 1, tzinfo=UTC)
    defaults = LoadDefaults(type=T.JA3, tlp=Tlp.RED, confidence=90, valid_until=until)
    parsed = read_list(f"{MD5.upper()}\n".encode(), defaults)
    (record,) = parsed.records
    assert (record.type, record.value, record.tlp, record.confidence, record.valid_until) == (
        T.JA3,
        MD5,
        Tlp.RED,
        90,
        until,
    )


def test_every_bad_line_of_a_list_is_named_with_why() -> None:
    data = b"\n".join(
        [
            b"192.0.2.1",  # 1 fine
            b"192.0.2.256",  # 2 invalid IP
            b"10.0.0.1/8",  # 3 host bits
            MD5.encode(),  # 4 ambiguous hash
            b"a" * (MAX_LINE_BYTES + 1),  # 5 overlong line
            b"evil\xff.no",  # 6 invalid UTF-8
            b"evil\x00.no",  # 7 NUL
            b"ev\til.no",  # 8 a control character inside a value
            b"evil.no",  # 9 fine
        ]
    )
    parsed = read_list(data)
    assert [r.line for r in parsed.records] == [1, 9]
    assert problems(parsed) == [
        "line 2: value: '192.0.2.256' is not a valid IP address",
        "line 3: value: '10.0.0.1/8' has host bits set; the network is 10.0.0.0/8, "
        "or write a single host as 10.0.0.1/32",
        f"line 4: value: '{MD5}' is 32 hex digits: an MD5 hash, a JA3 or a JA3S fingerprint; "
        "give the type (md5, ja3 or ja3s)",
        f"line 5: is {MAX_LINE_BYTES + 1:,} bytes long; at most {MAX_LINE_BYTES:,} are allowed",
        "line 6: is not UTF-8 (byte 5); save the file as UTF-8",
        "line 7: holds a NUL byte at column 5",
        "line 8: value: 'ev\\til.no' holds spaces or control characters",
    ]
    assert parsed.invalid_lines == 7


def test_a_wrongly_typed_value_says_what_it_looks_like() -> None:
    parsed = read_list(b"evil.no\n", LoadDefaults(type=T.IPV4))
    assert problems(parsed) == [
        "line 1: value: 'evil.no' is not an IPv4 address (it looks like type domain)"
    ]


def test_a_file_over_the_limit_is_refused_unread() -> None:
    parsed = read_indicators(b"192.0.2.1\n" * 10, fmt=LoadFormat.LIST, defaults=INFER, max_bytes=50)
    assert problems(parsed) == ["file: is larger than 50 bytes; split it"]
    assert parsed.records == []


def test_problems_beyond_the_cap_are_counted_not_listed() -> None:
    parsed = read_list(b"bad\n" * (MAX_PROBLEMS + 5))
    listed = problems(parsed)
    assert len(listed) == MAX_PROBLEMS + 1
    assert listed[-1] == "file: and 5 more problems not listed"
    assert parsed.invalid_lines == MAX_PROBLEMS + 5


def test_csv_rows_carry_their_own_type_marking_validity_tags_and_description() -> None:
    data = (
        b"\xef\xbb\xbf# exported by the partner\r\n"
        b"Value,Type,TLP,Confidence,Valid_Until,Tags,Description\r\n"
        b"192.0.2.1,ipv4,TLP:RED,90,2026-12-31,emotet;botnet,C2 server\r\n"
        + MD5.encode()
        + b',ja3,,,,,"Cobalt Strike, default profile"\r\n'
        b"evil.no,,,,,,\r\n"
        b",,,,,,\r\n"
    )
    parsed = read_csv(data, LoadDefaults(tlp=Tlp.GREEN, confidence=40))
    assert problems(parsed) == []
    first, second, third = parsed.records
    assert (first.line, first.type, first.tlp, first.confidence) == (3, T.IPV4, Tlp.RED, 90)
    assert first.valid_until == datetime(2027, 1, 1, tzinfo=UTC)
    assert first.tags == ("emotet", "botnet")
    assert first.description == "C2 server"
    assert (second.type, second.value, second.tlp, second.confidence) == (T.JA3, MD5, Tlp.GREEN, 40)
    assert second.description == "Cobalt Strike, default profile"
    assert (third.line, third.type, third.value) == (5, T.DOMAIN, "evil.no")


def test_csv_written_by_a_spreadsheet_with_semicolons_is_read() -> None:
    parsed = read_csv(b"value;type\nevil.no;domain\n192.0.2.1;\n")
    assert [(r.type, r.value) for r in parsed.records] == [
        (T.DOMAIN, "evil.no"),
        (T.IPV4, "192.0.2.1"),
    ]


def test_a_quoted_cell_over_several_lines_keeps_line_numbers_right() -> None:
    data = b'value,description\nevil.no,"first\nsecond"\n192.0.2.256,\n'
    parsed = read_csv(data)
    assert parsed.records[0].description == "first\nsecond"
    assert problems(parsed) == ["line 4: value: '192.0.2.256' is not a valid IP address"]


def test_every_bad_csv_row_is_named_by_line_and_column() -> None:
    data = b"\n".join(
        [
            b"value,type,tlp,confidence,valid_until,tags",
            b"192.0.2.1,ipv5,,,,",  # 2 unknown type
            b"192.0.2.1,ipv4,PURPLE,101,soon,",  # 3 three bad cells
            b"10.0.0.1/8,,,,,",  # 4 host bits
            MD5.encode() + b",,,,,",  # 5 ambiguous hash
            b"evil.no,domain",  # 6 too few cells
            b"evil.no\xff,,,,,",  # 7 invalid UTF-8
            b"evil.no\x00,,,,,",  # 8 NUL
            b'"evil.no,,,,,',  # 9 an unterminated quote
        ]
    )
    parsed = read_csv(data)
    assert parsed.records == []
    assert problems(parsed) == [
        "line 2: type: 'ipv5' is not an indicator type; write one of ipv4, ipv6, cidr, domain, "
        "url, email, md5, sha1, sha256, ja3, ja3s, ja4, tls-sni, http-host, asn, x509-sha1",
        "line 3: tlp: 'PURPLE' is not a TLP 2.0 label; write one of CLEAR, GREEN, AMBER, "
        "AMBER+STRICT, RED",
        "line 3: confidence: '101' is not a whole number from 0 to 100",
        "line 3: valid_until: 'soon' is not a date or time; write 2026-12-31 or "
        "2026-12-31T12:00:00+01:00",
        "line 4: value: '10.0.0.1/8' has host bits set; the network is 10.0.0.0/8, "
        "or write a single host as 10.0.0.1/32",
        f"line 5: value: '{MD5}' is 32 hex digits: an MD5 hash, a JA3 or a JA3S fingerprint; "
        "give the type (md5, ja3 or ja3s)",
        "line 6: has 2 cells; the header has 6 columns",
        "line 7: is not UTF-8 (byte 8); save the file as UTF-8",
        "line 8: holds a NUL byte at column 8",
        "line 9: is not valid CSV: unexpected end of data",
    ]
    assert parsed.invalid_lines == 8


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            b"indicator,type",
            [
                "line 1: header: unknown column 'indicator'; the columns are value, type, tlp, "
                "confidence, valid_until, tags, description",
                "line 1: header: has no 'value' column; the header must name at least value",
            ],
        ),
        (b"value,type,value", ["line 1: header: column 'value' appears more than once"]),
    ],
)
def test_a_bad_header_stops_the_file(header: bytes, expected: list[str]) -> None:
    parsed = read_csv(header + b"\n192.0.2.1,ipv4\n")
    assert problems(parsed) == expected
    assert parsed.records == []


def test_a_csv_file_without_a_header_says_so() -> None:
    assert problems(read_csv(b"# only a banner\n\n")) == [
        "line 1: holds no header; the first row must name the columns: value,type"
    ]


def test_csv_tags_and_descriptions_are_checked() -> None:
    data = b"value,tags,description\nevil.no," + b"x" * 65 + b",\x1b[31mred\n"
    assert problems(read_csv(data)) == [
        f"line 2: tags: tag {'x' * 20!r}... is longer than 64 characters",
        "line 2: description: holds control characters; remove them",
    ]
