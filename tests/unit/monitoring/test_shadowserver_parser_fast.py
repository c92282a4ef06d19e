"""The Shadowserver parser's fast path (`parse_records`) on the cases its inline tests treat
apart: it gives what `iter_file` gives for the same rows, or declines (None) so that the general
path parses the batch and names what is wrong."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import msgspec
import pytest

from vardeild.monitoring.parsers.shadowserver import ShadowserverParser

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HEADER = b'"timestamp","ip","protocol","port","hostname","tag","asn","geo","banner"\n'


def records(header: bytes, rows: list[bytes]) -> list[bytes]:
    return [header + row for row in rows]


def general(header: bytes, rows: list[bytes], filename: str) -> list[bytes]:
    parser = ShadowserverParser()
    document = io.BytesIO(header + b"".join(r if r.endswith(b"\n") else r + b"\n" for r in rows))
    return [
        msgspec.json.encode(o)
        for _, o in parser.iter_file(document, filename=filename, observed_at=OBSERVED)
    ]


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        (
            HEADER,
            [b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,"h1.example","telnet",64500,,"a"\n'],
        ),
        (  # unquoted, as some exports write it; several rows sharing a second
            HEADER.replace(b'"', b""),
            [b"2024-05-01 10:00:00,192.0.2.1,tcp,23,,telnet,64500,NO,ok\n"] * 3,
        ),
        (  # CRLF line ends, a BOM, a last row without its newline
            b"\xef\xbb\xbf" + HEADER.replace(b"\n", b"\r\n"),
            [
                b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"telnet",64500,"NO","x"\r\n',
                b'"2024-05-01 10:00:01","192.0.2.2","tcp",23,,"telnet",64500,"NO","y"',
            ],
        ),
        (  # the converters' paths: T and Z, IPv6, a host name ending in a digit or an
            # address, AS0 and "AS64500", a port with spaces, an empty timestamp's neighbour
            HEADER,
            [
                b'"2024-05-01T10:00:00Z","2001:DB8::1","TCP"," 23","host-1","t","AS64500",,""\n',
                b'"2024-05-01 10:00:00 UTC","192.0.2.9","tcp",23,"192.0.2.9","telnet",0,,"b,c"\n',
                b'"2024-05-01 10:00:00+02:00","192.0.2.9","tcp",,"Mx.Example.","t",,,"\xc3\xa6"\n',
            ],
        ),
    ],
)
def test_the_fast_path_gives_the_general_paths_events(header: bytes, rows: list[bytes]) -> None:
    fast = ShadowserverParser().parse_records(
        records(header, rows), filename="scan_telnet.csv", observed_at=OBSERVED
    )
    assert fast is not None
    assert [msgspec.json.encode(e) for e in fast] == general(header, rows, "scan_telnet.csv")


def test_a_network_in_a_blocklist_stays_in_extra_on_the_fast_path() -> None:
    header = b"timestamp,ip,asn,source\n"
    rows = [b"2024-05-01 10:00:00,192.0.2.0/24,64500,spamhaus\n"]
    fast = ShadowserverParser().parse_records(
        records(header, rows), filename="blocklist.csv", observed_at=OBSERVED
    )
    assert fast is not None
    assert fast[0].source_ip is None
    assert fast[0].extra["ip"] == "192.0.2.0/24"
    assert [msgspec.json.encode(e) for e in fast] == general(header, rows, "blocklist.csv")


GOOD = b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"telnet",64500,"NO","ok"\n'


@pytest.mark.parametrize(
    ("header", "rows", "filename"),
    [
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.300","tcp",23,,"t",1,"NO","x"\n'], None),
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.1","tcp"\n'], None),  # short row
        (HEADER, [GOOD, b'"","192.0.2.1","tcp",23,,"telnet",64500,"NO","ok"\n'], None),
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"t",1,"NO","a\nb"\n'], None),
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"t",1,"NO","\x00"\n'], None),
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"t",1,"NO","\xe6"\n'], None),
        (HEADER, [GOOD, b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"t",1,"NO","a\rb"\n'], None),
        (HEADER, [GOOD, b"\n"], None),  # a blank row
        (HEADER, [b'"2024-05-01 10:00:00","192.0.2.1","tcp",23,,"t",1,"NO","open\n', GOOD], None),
        (HEADER, [GOOD], "2024-05-01-scan_nothing_we_know-no.csv"),  # unknown: lenient
        (b'"ip","port"\n', [b'"192.0.2.1",23\n'], None),  # no timestamp column
    ],
)
def test_the_fast_path_declines_what_the_general_path_must_judge(
    header: bytes, rows: list[bytes], filename: str | None
) -> None:
    assert (
        ShadowserverParser().parse_records(
            records(header, rows), filename=filename or "scan_telnet.csv", observed_at=OBSERVED
        )
        is None
    )


def test_records_with_different_headers_are_declined() -> None:
    other = HEADER.replace(b'"banner"', b'"motd"')
    assert (
        ShadowserverParser().parse_records(
            [HEADER + GOOD, other + GOOD], filename="scan_telnet.csv", observed_at=OBSERVED
        )
        is None
    )
