"""The Shadowserver report table is data a reviewer can trust: valid RSIT classifications,
real Event fields, distinct names, and header signatures that never tie."""

from __future__ import annotations

import re

import pytest

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import FIELDS
from vardeild.monitoring.parsers.shadowserver import report_for_header
from vardeild.monitoring.parsers.shadowserver_reports import GENERIC, REPORTS, Report

# Fields the pipeline fills or the parser sets itself: never from a report's column.
NOT_FROM_COLUMNS = {
    "kind",
    "time_observation",
    "feed_name",
    "feed_provider",
    "feed_code",
    "extra",
    "raw",
    "tlp",
    "sensor",
    "source_member",
    "destination_member",
    "matched_indicators",
    "fingerprint",
}
ALL = sorted(REPORTS.values(), key=lambda report: report.name)


def names(reports: list[Report]) -> list[str]:
    return [report.name for report in reports]


@pytest.mark.parametrize("report", ALL, ids=names(ALL))
def test_every_report_is_well_formed(report: Report) -> None:
    assert report.type in TAXONOMY[report.taxonomy], "not an RSIT (taxonomy, type) pair"
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", report.name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", report.identifier)
    assert report.columns["timestamp"] == ("time_source",)
    for column, fields in report.columns.items():
        assert fields, column
        for field in fields:
            assert field in FIELDS, f"{column} -> {field}: no such Event field"
            assert field not in NOT_FROM_COLUMNS, f"{column} -> {field}"
    if report.url_host:
        assert any(f.endswith("_url") for fs in report.columns.values() for f in fs)
    for column in report.detect:
        assert re.fullmatch(r"[a-z0-9_]+", column)


def test_generic_guesses_only_real_fields() -> None:
    for fields in GENERIC.values():
        assert set(fields) <= set(FIELDS) - NOT_FROM_COLUMNS


def test_the_table_covers_shadowserver_families() -> None:
    families = {re.sub(r"_.*", "", name) for name in REPORTS}
    assert {"scan", "scan6", "event4", "event6", "sandbox", "population", "population6"} <= (
        families
    )
    for name in ("blocklist", "compromised_website", "device_id", "malware_url", "special"):
        assert name in REPORTS
    assert len(REPORTS) >= 150


@pytest.mark.parametrize(
    ("name", "classification"),
    [
        ("scan_ftp", ("vulnerable", "potentially-unwanted-accessible", "accessible-ftp")),
        ("scan_smb", ("vulnerable", "potentially-unwanted-accessible", "accessible-smb")),
        ("scan_rdp", ("vulnerable", "potentially-unwanted-accessible", "accessible-rdp")),
        ("scan_ssl_freak", ("vulnerable", "weak-crypto", "ssl-freak")),
        ("scan_ssl_poodle", ("vulnerable", "weak-crypto", "ssl-poodle")),
        ("scan_http_vulnerable", ("vulnerable", "vulnerable-system", "vulnerable-http")),
        ("scan_smtp_vulnerable", ("vulnerable", "vulnerable-system", "vulnerable-smtp")),
        ("scan_chargen", ("vulnerable", "ddos-amplifier", "open-chargen")),
        ("scan_elasticsearch", ("vulnerable", "information-disclosure", "open-elasticsearch")),
        ("event4_sinkhole", ("malicious-code", "infected-system", "sinkhole")),
        ("event4_honeypot_brute_force", ("intrusion-attempts", "brute-force", None)),
        ("event4_honeypot_http_scan", ("information-gathering", "scanner", None)),
        ("event4_ip_spoofer", ("fraud", "masquerade", "ip-spoofer")),
        ("event4_honeypot_ddos_target", ("availability", "ddos", None)),
        ("compromised_website", ("intrusions", "system-compromise", "compromised-website")),
        ("malware_url", ("malicious-code", "malware-distribution", "malware-url")),
        ("blocklist", ("other", "blacklist", "blacklisted-ip")),
        ("device_id", ("other", "undetermined", "device-identification")),
    ],
)
def test_classifications(name: str, classification: tuple[str, str, str | None]) -> None:
    report = REPORTS[name]
    taxonomy, kind, identifier = classification
    assert (report.taxonomy, report.type) == (taxonomy, kind)
    if identifier:
        assert report.identifier == identifier


def test_every_vulnerable_scan_is_a_vulnerable_system() -> None:
    vulnerable = [r for r in ALL if r.name.endswith("_vulnerable")]
    assert len(vulnerable) >= 6
    for report in vulnerable:
        assert (report.taxonomy, report.type) == ("vulnerable", "vulnerable-system"), report.name


def test_scans_name_the_member_host_as_source_and_events_both_sides() -> None:
    for report in ALL:
        if report.name.startswith(("scan_", "scan6_", "population")):
            assert report.columns["ip"] == ("source_ip",), report.name
        if report.name.startswith(("event4_", "event6_")):
            assert report.columns.get("dst_ip") == ("destination_ip",), report.name
            side = "http_referer_ip" if "referer" in report.name else "src_ip"
            assert report.columns[side] == ("source_ip",), report.name


def test_ipv6_twins_mirror_their_ipv4_report() -> None:
    twins = [r for r in ALL if r.name.startswith(("scan6_", "event6_", "population6_"))]
    assert len(twins) >= 40
    for twin in twins:
        v4 = REPORTS[
            twin.name.replace("scan6_", "scan_")
            .replace("event6_", "event4_")
            .replace("population6_", "population_")
        ]
        assert (twin.taxonomy, twin.type, twin.identifier) == (v4.taxonomy, v4.type, v4.identifier)
        assert twin.columns == v4.columns
        assert twin.detect == ()


@pytest.mark.parametrize(
    "report", [r for r in ALL if r.detect], ids=names([r for r in ALL if r.detect])
)
def test_each_header_signature_finds_its_own_report(report: Report) -> None:
    """A header with the report's distinctive columns (and the usual ones) matches it alone."""
    header = ["timestamp", "ip", "port", "hostname", "asn", "geo", *report.detect]
    assert report_for_header(header) is report


def test_a_header_nothing_distinguishes_matches_nothing() -> None:
    assert report_for_header(["timestamp", "ip", "port", "hostname", "tag", "banner"]) is None
