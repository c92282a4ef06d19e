"""Every Shadowserver report in the shared corpus (../shared/data/shadowserver) parses: each is
recognised by its name, every data row is an event or a precise quarantine reason, and nothing
else is raised. The per-file counts are asserted, so a silent drop or a new failure shows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import Event, ParseError
from vardeild.monitoring.parsers.shadowserver import (
    ShadowserverParser,
    report_for_header,
    report_name_from_filename,
)
from vardeild.monitoring.parsers.shadowserver_reports import REPORTS

pytestmark = pytest.mark.acceptance

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# file -> (events, quarantined). IntelMQ's fixtures keep a few rows that are broken on purpose.
EXPECTED: dict[str, tuple[int, int]] = {
    "blocklist.csv": (3, 0),
    "compromised_website.csv": (3, 0),
    "device_id.csv": (3, 0),
    "event4_honeypot_brute_force.csv": (6, 0),
    "event4_honeypot_darknet.csv": (8, 0),
    "event4_honeypot_ddos.csv": (0, 3),  # 59 cells under a 60-column header
    "event4_honeypot_ddos_target.csv": (3, 0),
    "event4_honeypot_http_scan.csv": (2, 0),
    "event4_ip_spoofer.csv": (6, 0),
    "event4_microsoft_sinkhole_http.csv": (5, 0),
    "event4_sinkhole.csv": (2, 1),  # dst_ip 148.81.111.11.12
    "event4_sinkhole_dns.csv": (3, 0),
    "event4_sinkhole_http_referer.csv": (5, 0),
    "event6_sinkhole_http.csv": (3, 0),
    "malware_url.csv": (3, 0),
    "population_http_proxy.csv": (3, 0),
    "sandbox_conn.csv": (3, 0),
    "sandbox_dns.csv": (3, 0),
    "scan_adb.csv": (2, 0),
    "scan_afp.csv": (2, 0),
    "scan_amqp.csv": (3, 0),
    "scan_chargen.csv": (3, 0),
    "scan_cisco_smart_install.csv": (2, 0),
    "scan_coap.csv": (3, 0),
    "scan_cwmp.csv": (2, 0),
    "scan_db2.csv": (2, 0),
    "scan_ddos_middlebox.csv": (3, 0),
    "scan_docker.csv": (3, 0),
    "scan_dvr_dhcpdiscover.csv": (3, 0),
    "scan_elasticsearch.csv": (3, 0),
    "scan_ftp.csv": (2, 0),
    "scan_hadoop.csv": (2, 0),
    "scan_http.csv": (2, 0),
    "scan_http_vulnerable.csv": (3, 0),
    "scan_ics.csv": (3, 0),
    "scan_ipmi.csv": (95, 0),
    "scan_isakmp.csv": (2, 0),
    "scan_kubernetes.csv": (3, 0),
    "scan_ldap_tcp.csv": (3, 0),
    "scan_mdns.csv": (3, 0),
    "scan_memcached.csv": (3, 0),
    "scan_mongodb.csv": (10, 0),
    "scan_mqtt_anon.csv": (3, 0),
    "scan_mssql.csv": (3, 0),
    "scan_mysql.csv": (3, 0),
    "scan_netbios.csv": (3, 0),
    "scan_netis_router.csv": (3, 0),
    "scan_ntp.csv": (3, 0),
    "scan_portmapper.csv": (3, 0),
    "scan_postgres.csv": (3, 0),
    "scan_qotd.csv": (3, 0),
    "scan_radmin.csv": (9, 0),
    "scan_rdp.csv": (0, 2),  # 31 cells under a 32-column header
    "scan_rdpeudp.csv": (3, 0),
    "scan_rsync.csv": (3, 0),
    "scan_sip.csv": (3, 0),
    "scan_slp.csv": (3, 0),
    "scan_smtp_vulnerable.csv": (2, 0),
    "scan_snmp.csv": (3, 0),
    "scan_socks.csv": (3, 0),
    "scan_ssh.csv": (3, 0),
    "scan_ssl.csv": (3, 0),
    "scan_ssl_freak.csv": (45, 0),
    "scan_stun.csv": (3, 0),
    "scan_synfulknock.csv": (2, 1),  # one row of 18 cells under a 19-column header
    "scan_telnet.csv": (2, 0),
    "scan_ubiquiti.csv": (3, 0),
    "scan_vnc.csv": (2, 0),
    "scan_ws_discovery.csv": (3, 0),
    "special.csv": (3, 0),
}


def reports(corpus: Path) -> list[Path]:
    return sorted((corpus / "shadowserver").glob("*.csv"))


def data_rows(data: bytes) -> int:
    """The file's data rows, counted by csv alone: every record after the header, not blank."""
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    return sum(1 for cells in csv.reader(io.StringIO(text, newline="")) if cells) - 1


def test_the_corpus_is_the_one_counted_here(corpus: Path) -> None:
    assert sorted(path.name for path in reports(corpus)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_report_parses_without_silent_drops(corpus: Path, name: str) -> None:
    path = corpus / "shadowserver" / name
    report_type, _ = report_name_from_filename(name)
    assert report_type in REPORTS, f"{name} is not recognised by its name"
    report = REPORTS[report_type]
    assert report.type in TAXONOMY[report.taxonomy]

    with path.open("rb") as stream:
        outcomes = list(
            ShadowserverParser().iter_file(stream, filename=str(path), observed_at=OBSERVED)
        )
    events = [o for _, o in outcomes if isinstance(o, Event)]
    errors = [o for _, o in outcomes if isinstance(o, ParseError)]
    assert len(events) + len(errors) == len(outcomes)  # nothing but events and ParseErrors
    assert len(outcomes) == data_rows(path.read_bytes())  # one outcome per row: no drops
    assert (len(events), len(errors)) == EXPECTED[name], [str(e) for e in errors]

    lines = [line for line, _ in outcomes]
    assert lines == sorted(set(lines))
    assert all(line >= 2 for line in lines)
    for error in errors:
        assert str(error).startswith(f"{name} line "), str(error)
    for event in events:
        assert event.feed_code == report_type
        assert (event.classification_taxonomy, event.classification_type) == (
            report.taxonomy,
            report.type,
        )
        assert event.classification_identifier
        assert event.time_source is not None
        assert event.time_source.utcoffset() is not None
        assert event.raw
        assert "\x00" not in event.raw
        # The member's side is named: an address, or for sandbox DNS the name it looked up.
        assert event.source_ip or event.destination_ip or event.dns_query or event.extra.get("ip")


def test_headers_alone_never_contradict_the_file_names(corpus: Path) -> None:
    """Where a header identifies a report by itself, it is the one the file name says."""
    found = 0
    for path in reports(corpus):
        with path.open(newline="", encoding="utf-8") as stream:
            header = next(csv.reader(stream))
        matched = report_for_header(header)
        if matched is not None:
            found += 1
            assert matched.name == report_name_from_filename(path.name)[0], path.name
    assert found >= 40


def test_every_row_becomes_the_same_event_when_read_alone(corpus: Path) -> None:
    """The pipeline may parse a row with its header alone (batches, quarantine replay)."""
    parser = ShadowserverParser()
    for path in reports(corpus):
        data = path.read_bytes()
        whole = parser.parse_bytes(data, filename=path.name, observed_at=OBSERVED)
        header, _, body = data.partition(b"\n")
        for (line, outcome), record in zip(whole, _records(body), strict=True):
            [(_, alone)] = parser.parse_bytes(
                header + b"\n" + record, filename=path.name, observed_at=OBSERVED
            )
            assert type(alone) is type(outcome), (path.name, line)
            if isinstance(outcome, Event):
                assert alone == outcome, (path.name, line)


def _records(body: bytes) -> list[bytes]:
    """The records of a body, one per line: the corpus has no quoted newlines."""
    return [line + b"\n" for line in body.split(b"\n") if line.strip()]
