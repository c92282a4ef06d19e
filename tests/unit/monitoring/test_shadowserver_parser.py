"""Shadowserver reports become harmonised events: each report type's fields, its
classification, and the side the member is on. Fixtures in fixtures/shadowserver/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from vardeild.monitoring.model import Event, EventKind, ParseError, Severity
from vardeild.monitoring.parsers.shadowserver import (
    FEED_NAME,
    ShadowserverParser,
    report_name_from_filename,
)

FIXTURES = Path(__file__).parent / "fixtures" / "shadowserver"
OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def parse(name: str, parser: ShadowserverParser | None = None) -> list[tuple[int, Event]]:
    """Every row of a fixture, all expected to be events."""
    data = (FIXTURES / name).read_bytes()
    outcomes = (parser or ShadowserverParser()).parse_bytes(
        data, filename=name, observed_at=OBSERVED
    )
    errors = [str(o) for _, o in outcomes if isinstance(o, ParseError)]
    assert not errors, errors
    return [(line, o) for line, o in outcomes if isinstance(o, Event)]


def test_accessible_smb_the_member_host_is_the_source() -> None:
    (line, first), (_, second) = parse("2024-05-01-scan_smb-norway-geo.csv")
    assert line == 2
    assert first.kind is EventKind.REPORT
    assert (first.feed_name, first.feed_provider, first.feed_code) == (
        FEED_NAME,
        "Shadowserver",
        "scan_smb",
    )
    assert (
        first.classification_taxonomy,
        first.classification_type,
        first.classification_identifier,
    ) == ("vulnerable", "potentially-unwanted-accessible", "accessible-smb")
    assert first.time_source == datetime(2024, 5, 1, 2, 14, 7, tzinfo=UTC)
    assert first.time_observation == OBSERVED
    assert (first.source_ip, first.source_port, first.source_asn) == ("192.0.2.10", 445, 64500)
    assert first.source_reverse_dns == "smb01.helse-eksempel.no"
    assert (first.protocol_transport, first.protocol_application) == ("tcp", "smb")
    assert first.destination_ip is None
    assert first.severity is Severity.HIGH  # the row's own severity column
    assert first.extra == {
        "tag": "smb",
        "geo": "NO",
        "region": "VESTLAND",
        "city": "BERGEN",
        "naics": "622110",
        "hostname_source": "ptr",
        "sector": "Healthcare and Social Assistance",
        "smb_major_number": "2",
        "smb_minor_number": "1",
        "smb_revision": "0",
        "smb_version_string": "SMB 2.1",
    }
    assert first.raw.startswith('"2024-05-01 02:14:07","high","192.0.2.10"')
    assert first.raw.endswith('"SMB 2.1"')
    # Empty cells are absent; AS 0 would be "unknown"; a row's severity overrides the default.
    assert second.source_reverse_dns is None
    assert "hostname_source" not in second.extra
    assert "key" not in second.extra
    assert second.severity is Severity.CRITICAL


def test_accessible_ftp_and_its_defaults() -> None:
    [(_, event)] = parse("scan_ftp.csv")
    assert (event.classification_type, event.classification_identifier) == (
        "potentially-unwanted-accessible",
        "accessible-ftp",
    )
    assert event.severity is Severity.MEDIUM
    assert event.source_reverse_dns == "ftp.kommune-eksempel.no"  # trailing dot dropped
    assert event.protocol_application == "ftp"
    assert event.extra["banner"].startswith("220 ProFTPD")
    assert event.extra["auth_tls_response"] == "234 AUTH TLS successful"
    assert "auth_ssl_response" not in event.extra


def test_sinkhole_http_infected_host_is_the_source_and_the_family_is_the_identifier() -> None:
    (line, first), (second_line, second) = parse("2024-05-01-event4_sinkhole_http-norway-geo.csv")
    assert (line, second_line) == (2, 3)
    assert (first.classification_taxonomy, first.classification_type) == (
        "malicious-code",
        "infected-system",
    )
    assert first.malware_name == "andromeda"  # lower-cased `infection`
    assert first.classification_identifier == "andromeda"
    assert (first.source_ip, first.source_port, first.source_asn) == ("203.0.113.45", 51234, 64502)
    assert first.source_reverse_dns == "pc-45.legekontor-eksempel.no"
    assert (first.destination_ip, first.destination_port) == ("192.0.2.200", 80)
    assert first.destination_fqdn == "sinkholed.example.com"
    # A request line in http_url is joined to http_host.
    assert first.destination_url == "http://sinkholed.example.com/gate.php?id=4"
    assert first.protocol_application == "http"
    assert first.extra["http_agent"].startswith("Mozilla/4.0")
    assert first.raw.endswith(",,,,,")  # CRLF file: the row's text without its line end
    # `family` stands in when `infection` is empty; an absolute URL is kept as it is.
    assert second.malware_name == "qakbot"
    assert second.destination_url == "http://other-sinkhole.example.net/a.php"
    assert second.protocol_application == "https"


def test_honeypot_brute_force_attacker_is_the_source() -> None:
    [(_, event)] = parse("event4_honeypot_brute_force.csv")
    assert (event.classification_taxonomy, event.classification_type) == (
        "intrusion-attempts",
        "brute-force",
    )
    assert event.source_ip == "198.51.100.77"  # the member's compromised VPN box
    assert event.destination_ip == "192.0.2.50"  # the honeypot
    assert event.protocol_application == "ssh"
    assert event.malware_name is None  # "ssh-brute-force" names the attack, not malware
    assert event.extra["infection"] == "ssh-brute-force"
    assert event.malware_hash_md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert event.extra["username"] == "root"


def test_ddos_target_member_is_the_destination() -> None:
    [(_, event)] = parse("event4_honeypot_ddos_target.csv")
    assert (event.classification_taxonomy, event.classification_type) == ("availability", "ddos")
    assert event.destination_ip == "192.0.2.80"
    assert event.destination_fqdn == "portal.helse-eksempel.no"
    assert event.source_ip == "203.0.113.9"
    assert event.malware_name == "mirai"  # the botnet family, not `infection` ("ddos")
    assert event.protocol_application is None  # `application` is the botnet here
    assert event.extra["application"] == "mirai"
    assert event.protocol_transport == "udp"


def test_blocklist_network_rows_keep_the_network_in_extra() -> None:
    (_, host), (_, network) = parse("blocklist.csv")
    assert (host.classification_taxonomy, host.classification_type) == ("other", "blacklist")
    assert host.source_ip == "203.0.113.60"
    assert network.source_ip is None
    assert network.extra["ip"] == "203.0.113.0/25"


def test_compromised_website_url_is_built_from_host_and_path() -> None:
    [(_, event)] = parse("compromised_website.csv")
    assert (event.classification_taxonomy, event.classification_type) == (
        "intrusions",
        "system-compromise",
    )
    assert event.source_fqdn == "www.tannlege-eksempel.no"
    assert event.source_url == "http://www.tannlege-eksempel.no/checkout/index.php"
    assert event.malware_name == "magecart"
    assert event.protocol_application == "https"
    assert event.extra["cc_url"] == "https://cc.example.org/gate"


def test_ipv6_addresses_are_normalised_and_offsets_become_utc() -> None:
    [(_, event)] = parse("event6_sinkhole.csv")
    assert event.feed_code == "event6_sinkhole"
    assert event.source_ip == "2001:db8::1f"
    assert event.destination_ip == "2001:db8:ffff::10"
    assert event.time_source == datetime(2024, 5, 1, 4, 5, 6, tzinfo=UTC)
    assert event.malware_name == "emotet"


def test_unknown_report_type_is_parsed_generically() -> None:
    [(_, event)] = parse("2024-05-01-scan_newthing-norway-geo.csv")
    assert event.feed_code == "scan_newthing"
    assert (event.classification_taxonomy, event.classification_type) == ("other", "undetermined")
    assert event.classification_identifier == "scan_newthing"
    assert (event.source_ip, event.source_port, event.source_asn) == ("192.0.2.99", 8443, 64500)
    assert event.source_reverse_dns == "box.kommune-eksempel.no"
    # Generic: every column is kept in extra, and a guessed column that does not convert is
    # only there instead of costing the row.
    assert event.destination_ip is None
    assert event.extra["dst_ip"] == "not-an-address"
    assert event.extra["ip"] == "192.0.2.99"
    assert event.extra["newthing_version"] == "1.2.3"
    assert event.severity is Severity.MEDIUM


def test_the_intelmq_anchor_report_is_found_by_its_header() -> None:
    """report.csv: the Accessible-SMB layout the IntelMQ benchmark replicates; its name says
    nothing, so the header decides."""
    (_, member), (_, outside) = parse("report.csv")
    assert member.feed_code == "scan_smb"
    assert member.classification_identifier == "accessible-smb"
    assert (member.source_ip, member.source_port, member.source_asn) == ("198.18.4.17", 445, 64512)
    assert member.protocol_transport == "tcp"  # the report's constant: it has no protocol column
    assert member.extra["smb_version_string"] == "SMB 2.1"
    assert outside.extra["smbv1_support"] == "Y"


def test_file_name_wins_over_the_parser_report_type_which_wins_over_the_header() -> None:
    data = (FIXTURES / "report.csv").read_bytes()
    by_name = ShadowserverParser("scan_rdp").parse_bytes(
        data, filename="2024-03-01-scan_smb-x.csv", observed_at=OBSERVED
    )
    by_type = ShadowserverParser("scan_rdp").parse_bytes(
        data, filename="report.csv", observed_at=OBSERVED
    )
    unknown_type = ShadowserverParser("scan_brandnew").parse_bytes(
        data, filename="report.csv", observed_at=OBSERVED
    )
    codes = [
        [o.feed_code for _, o in outcomes if isinstance(o, Event)]
        for outcomes in (by_name, by_type, unknown_type)
    ]
    assert codes == [["scan_smb"] * 2, ["scan_rdp"] * 2, ["scan_brandnew"] * 2]


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("2024-05-01-scan_ftp-norway-geo.csv", ("scan_ftp", True)),
        ("/var/spool/shadowserver/2020-04-03-scan_ics-sample-asn-delayed.csv", ("scan_ics", True)),
        ("2024-07-04-dns_openresolver-123-sample-asn.csv", ("dns_openresolver", True)),
        ("scan_ftp.csv", ("scan_ftp", False)),
        ("C:\\reports\\Event4_Sinkhole.CSV", ("event4_sinkhole", False)),
        ("report.csv", ("report", False)),
        ("my report (1).csv", (None, False)),
    ],
)
def test_report_names_from_file_names(filename: str, expected: tuple[str | None, bool]) -> None:
    assert report_name_from_filename(filename) == expected


def test_observed_at_is_utc_even_if_given_naive_or_with_an_offset() -> None:
    data = (FIXTURES / "scan_ftp.csv").read_bytes()
    oslo = timezone(timedelta(hours=2))
    for given in (datetime(2026, 11, 28, 14, 0, tzinfo=oslo), datetime(2026, 11, 28, 12, 0)):
        [(_, event)] = ShadowserverParser().parse_bytes(
            data, filename="scan_ftp.csv", observed_at=given
        )
        assert isinstance(event, Event)
        assert event.time_observation == OBSERVED
        assert event.time_observation.utcoffset() == timedelta(0)


def test_events_never_share_mutable_fields() -> None:
    (_, first), (_, second) = parse("2024-05-01-scan_smb-norway-geo.csv")
    first.matched_indicators.append(1)
    first.extra["x"] = "y"
    assert second.matched_indicators == []
    assert "x" not in second.extra


def test_iter_file_streams_from_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "2024-05-01-scan_smb-norway-geo.csv"
    path.write_bytes((FIXTURES / path.name).read_bytes())
    with path.open("rb") as stream:
        outcomes = ShadowserverParser().iter_file(stream, filename=str(path), observed_at=OBSERVED)
        first = next(outcomes)  # lazily: one row at a time
        rest = list(outcomes)
    assert first[0] == 2
    assert isinstance(first[1], Event)
    assert [line for line, _ in rest] == [3]
