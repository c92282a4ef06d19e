"""The EVE parser on realistic lines of every event type, in Suricata 6, 7 and 8 layouts: each
test asserts the harmonised fields. The lines are in fixtures/eve/suricata{6,7,8}.jsonl,
written for these tests (documentation addresses and example names only)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import FIELDS, Event, EventKind, SensorStats, Severity
from vardeild.monitoring.parsers.eve import EveParser

FIXTURES = Path(__file__).parent / "fixtures" / "eve"
OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
VERSIONS = (6, 7, 8)


def fixture_lines(version: int) -> list[bytes]:
    return (FIXTURES / f"suricata{version}.jsonl").read_bytes().splitlines(keepends=True)


def eve(version: int, event_type: str, nth: int = 0) -> bytes:
    """The nth fixture line of `event_type` in the Suricata `version` file."""
    lines = [ln for ln in fixture_lines(version) if json.loads(ln)["event_type"] == event_type]
    return lines[nth]


def parse(line: bytes, sensor: str | None = None) -> Event:
    result = EveParser(sensor=sensor).parse_line(line, observed_at=OBSERVED)
    assert isinstance(result, Event)
    return result


def stats(line: bytes, sensor: str | None = None) -> SensorStats:
    result = EveParser(sensor=sensor).parse_line(line, observed_at=OBSERVED)
    assert isinstance(result, SensorStats)
    return result


def harmonised(event: Event) -> dict[str, Any]:
    """The fields a test compares: everything set, without raw and the observation time."""
    fields = msgspec.structs.asdict(event)
    for name in ("raw", "time_observation", "extra", "matched_indicators", "tlp", "feed_name"):
        fields.pop(name)
    return {name: value for name, value in fields.items() if value not in (None, "")}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- every line of every fixture ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_every_fixture_line_is_an_event_with_an_rsit_pair_and_known_fields(version: int) -> None:
    parser = EveParser()
    for line in fixture_lines(version):
        result = parser.parse_line(line, observed_at=OBSERVED)
        if isinstance(result, SensorStats):
            assert json.loads(line)["event_type"] == "stats"
            continue
        assert result.classification_type in TAXONOMY[result.classification_taxonomy]
        written = {name for name, value in msgspec.structs.asdict(result).items() if value}
        assert written <= set(FIELDS)
        assert result.time_observation == OBSERVED
        assert result.time_source is not None
        assert result.time_source.utcoffset() is not None
        assert result.time_source.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert result.feed_name == "suricata"
        assert result.feed_code == json.loads(line)["event_type"]
        assert result.raw == line.decode().rstrip("\n")
        assert msgspec.json.decode(msgspec.json.encode(result.extra)) == result.extra


def test_every_event_field_is_documented_in_fields() -> None:
    assert set(Event.__struct_fields__) == set(FIELDS)


# -- Suricata 6 --------------------------------------------------------------------------------


def test_suricata6_alert_on_http() -> None:
    event = parse(eve(6, "alert"))
    assert harmonised(event) == {
        "kind": EventKind.ALERT,
        "time_source": utc("2022-03-14T08:26:53.412345"),
        "feed_code": "alert",
        "classification_taxonomy": "other",
        "classification_type": "other",
        "classification_identifier": "sid:1:2014726",
        "event_description_text": "ET POLICY Outdated Windows Flash Version IE",
        "severity": Severity.HIGH,
        "source_ip": "10.20.30.40",
        "source_port": 51234,
        "destination_ip": "198.51.100.23",
        "destination_port": 80,
        "destination_url": "http://update.example.net/flash/check.php?v=11",
        "protocol_transport": "tcp",
        "protocol_application": "http",
        "http_host": "update.example.net",
    }
    assert event.extra == {
        "signature_id": 2014726,
        "gid": 1,
        "rev": 4,
        "category": "Potential Corporate Privacy Violation",
        "action": "allowed",
        "flow_id": 1234567890123456,
        "community_id": "1:Yx5Lr1mZ2a3zQe4g0NOPqrsTuvw=",
        "in_iface": "ens1f0",
        "app_proto": "http",
        "http_method": "GET",
        "http_status": 200,
        "http_user_agent": "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)",
    }


def test_suricata6_decoder_anomaly() -> None:
    event = parse(eve(6, "anomaly"))
    assert event.kind is EventKind.ANOMALY
    assert (event.classification_taxonomy, event.classification_type) == ("other", "undetermined")
    assert event.classification_identifier == "anomaly:decode:decoder.udp.pkt_too_small"
    assert event.event_description_text == "decoder.udp.pkt_too_small"
    assert event.severity is Severity.LOW
    assert event.protocol_application is None
    assert event.protocol_transport == "udp"
    assert event.extra["anomaly_type"] == "decode"


def test_suricata6_dns_v1_query_and_answers() -> None:
    query = parse(eve(6, "dns", 0))
    assert query.kind is EventKind.PROTOCOL
    assert query.protocol_application == "dns"
    assert query.dns_query == "wpad.sykehus.example"  # "WPAD.sykehus.example." lower-cased
    assert query.extra["dns_type"] == "query"
    assert query.extra["dns_rrtype"] == "A"
    assert "dns_answers" not in query.extra

    nxdomain = parse(eve(6, "dns", 1))
    assert nxdomain.dns_query == "wpad.sykehus.example"
    assert nxdomain.extra["dns_rcode"] == "NXDOMAIN"

    answer = parse(eve(6, "dns", 2))
    assert answer.dns_query == "www.helse.example"
    assert answer.extra["dns_answers"] == ["203.0.113.80"]
    assert answer.source_port == 53
    assert answer.destination_port == 50001


def test_suricata6_dns_v2_detailed_and_grouped_answers_are_not_doubled() -> None:
    event = parse(eve(6, "dns", 3))
    assert event.dns_query == "portal.helse.example"
    assert event.extra["dns_rrtype"] == "A"
    assert event.extra["dns_answers"] == ["edge.cdn.example", "203.0.113.81"]


def test_suricata6_http_on_another_port() -> None:
    event = parse(eve(6, "http"))
    assert event.http_host == "proxy.example.org"
    assert event.destination_url == "http://proxy.example.org:8080/api/v1/patients?id=12"
    assert event.destination_port == 8080
    assert event.extra["http_method"] == "POST"
    assert event.extra["http_status"] == 201
    assert event.extra["http_user_agent"] == "python-requests/2.25.1"


def test_suricata6_tls_with_ja3_and_ja3s() -> None:
    event = parse(eve(6, "tls"))
    assert event.tls_sni == "login.example.com"
    assert event.tls_ja3 == "e7d705a3286e19ea42f587b344ee6865"  # written upper-case
    assert event.tls_ja3s == "ec74a5c51106f0419184d0dd08fb05bc"
    assert event.tls_ja4 is None
    assert event.extra["tls_version"] == "TLS 1.2"
    assert event.extra["tls_subject"] == "CN=login.example.com"
    assert event.extra["tls_issuerdn"] == "C=US, O=Let's Encrypt, CN=R3"
    assert event.extra["tls_fingerprint"].startswith("a1:b2:c3")


def test_suricata6_fileinfo_hashes() -> None:
    event = parse(eve(6, "fileinfo"))
    assert event.protocol_application == "fileinfo"
    assert event.malware_hash_md5 == "44d88612fea8a8f36de82e1278abb02f"
    assert event.malware_hash_sha1 == "3395856ce81f2b7382dee72602f798b642f14140"
    assert event.malware_hash_sha256 == (
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    )
    assert event.extra["file_name"] == "/tools/setup.exe"
    assert event.extra["file_size"] == 1048576
    assert event.http_host == "downloads.example.net"
    assert event.destination_url == "http://downloads.example.net/tools/setup.exe"
    assert event.extra["app_proto"] == "http"


def test_suricata6_flow_and_netflow() -> None:
    flow = parse(eve(6, "flow"))
    assert flow.protocol_application == "flow"
    assert {k: v for k, v in flow.extra.items() if k.startswith("flow_")} == {
        "flow_id": 1234567890123464,
        "flow_pkts_toserver": 12,
        "flow_pkts_toclient": 10,
        "flow_bytes_toserver": 2100,
        "flow_bytes_toclient": 8900,
        "flow_age": 1,
        "flow_state": "closed",
        "flow_reason": "timeout",
        "flow_alerted": False,
    }
    netflow = parse(eve(6, "netflow"))
    assert netflow.protocol_application == "netflow"
    assert (netflow.extra["flow_pkts"], netflow.extra["flow_bytes"]) == (12, 2100)


def test_suricata6_ssh_and_smtp() -> None:
    ssh = parse(eve(6, "ssh"))
    assert ssh.extra["ssh_client_software"] == "OpenSSH_8.2p1"
    assert ssh.extra["ssh_server_software"] == "OpenSSH_7.4"
    smtp = parse(eve(6, "smtp"))
    assert smtp.extra["smtp_helo"] == "mail.sykehus.example"
    assert smtp.extra["smtp_mail_from"] == "<lab@sykehus.example>"


# event type -> a few of the scalar values its section keeps in extra[<event type>]
GENERIC: dict[tuple[int, str], dict[str, Any]] = {
    (6, "smb"): {"command": "SMB2_COMMAND_TREE_CONNECT", "share": "\\\\fileserver\\journal$"},
    (6, "nfs"): {"procedure": "READ", "filename": "export/results.csv"},
    (6, "ftp"): {"command": "RETR", "command_data": "firmware.bin", "dynamic_port": 60123},
    (6, "ftp_data"): {"filename": "firmware.bin", "command": "RETR"},
    (6, "tftp"): {"packet": "read", "file": "pxelinux.0"},
    (6, "dhcp"): {"dhcp_type": "ack", "assigned_ip": "10.20.30.56", "hostname": "ws-lab-12"},
    (6, "krb5"): {"cname": "nurse01", "realm": "SYKEHUS.EXAMPLE", "weak_encryption": True},
    (6, "ikev2"): {"exchange_type": 34, "alg_enc": "ENCR_AES_CBC"},
    (6, "rdp"): {"event_type": "initial_request", "cookie": "administrator"},
    (6, "sip"): {"method": "INVITE", "uri": "sip:helpdesk@voip.sykehus.example"},
    (6, "snmp"): {"version": 2, "pdu_type": "get_request", "community": "public"},
    (6, "rfb"): {"authentication.security_result": "OK", "framebuffer.name": "ws-radiology"},
    (6, "mqtt"): {"connect.client_id": "infusion-pump-17", "connect.username": "pump"},
    (6, "http2"): {"stream_id": 1},
    (6, "dcerpc"): {"request": "BIND", "response": "BINDACK", "call_id": 2},
    (6, "dnp3"): {"type": "request", "control.function_code": 4, "src": 1, "dst": 10},
    (6, "modbus"): {"request.function_code": "RdHoldRegs", "request.unit_id": 1},
    (6, "enip"): {"request.command": "ListIdentity"},
    (7, "ike"): {"exchange_type_verbose": "IKE_SA_INIT", "ikev2.errors": 0},
    (7, "bittorrent_dht"): {
        "request_type": "get_peers",
        "request.info_hash": "mnopqrstuvwxyz123456",
    },
    (7, "pgsql"): {"request.simple_query": "SELECT name FROM patients WHERE id = 42;"},
    (7, "frame"): {"type": "request_line", "payload_printable": "GET / HTTP/1.1.."},
    (8, "ldap"): {"request.operation": "search_request", "request.message_id": 2},
    (8, "websocket"): {"opcode": "text", "payload_base64": "aGVsbG8="},
    (8, "arp"): {"opcode": "request", "src_ip": "10.40.1.26", "dest_ip": "10.40.0.1"},
    (8, "sip"): {"method": "REGISTER"},
    (8, "pop3"): {"request.command": "USER", "response.success": True},
}


@pytest.mark.parametrize(("version", "event_type"), list(GENERIC))
def test_other_protocols_keep_their_scalar_values(version: int, event_type: str) -> None:
    event = parse(eve(version, event_type))
    assert event.kind is EventKind.PROTOCOL
    assert (event.classification_taxonomy, event.classification_type) == ("other", "undetermined")
    assert event.severity is Severity.INFO
    assert event.protocol_application == event_type
    section = event.extra[event_type]
    assert GENERIC[version, event_type].items() <= section.items()
    assert len(section) <= 24
    assert all(isinstance(value, str | int | float | bool) for value in section.values())


def test_lists_in_other_protocols_are_left_to_raw() -> None:
    event = parse(eve(6, "ftp"))
    assert "reply" not in event.extra["ftp"]
    assert "Transfer complete." in event.raw


def test_suricata6_stats() -> None:
    assert stats(eve(6, "stats"), sensor="sensor-oslo-1") == SensorStats(
        sensor="sensor-oslo-1",
        time_source=utc("2022-03-14T08:30:00.000021"),
        uptime_seconds=86400,
        packets=912345678,
        drops=1234,
        alerts=4321,
        raw=eve(6, "stats").decode().rstrip("\n"),
    )


# -- Suricata 7 --------------------------------------------------------------------------------


def test_suricata7_alert_on_a_dns_request_with_et_metadata() -> None:
    event = parse(eve(7, "alert", 0))
    assert (event.classification_taxonomy, event.classification_type) == (
        "malicious-code",
        "infected-system",
    )  # "Domain Observed Used for C2 Detected"
    assert event.classification_identifier == "sid:1:2044251"
    assert event.severity is Severity.HIGH
    assert event.malware_name == "lumma_stealer"
    assert event.dns_query == "example-cdn.xyz"  # from dns.query[0], lower-cased
    assert event.protocol_application == "dns"
    assert event.extra["signature_severity"] == "Major"
    assert event.extra["dns_rrtype"] == "A"
    assert event.extra["pkt_src"] == "wire/pcap"


def test_suricata7_alert_on_a_dns_response() -> None:
    event = parse(eve(7, "alert", 1))
    assert event.dns_query == "example-cdn.xyz"  # from dns.answer
    assert event.severity is Severity.MEDIUM
    assert (event.classification_taxonomy, event.classification_type) == (
        "intrusion-attempts",
        "ids-alert",
    )


def test_suricata7_blocked_alert_with_verdict_and_critical_metadata() -> None:
    event = parse(eve(7, "alert", 2))
    assert event.kind is EventKind.ALERT
    assert event.severity is Severity.CRITICAL  # priority 1 raised by signature_severity
    assert event.malware_name == "cobalt_strike"
    assert event.tls_sni == "cdn.example-beacon.net"
    assert event.tls_ja3 == "72a589da586844d7f0818ce684948eea"
    assert event.tls_ja4 is None
    assert event.extra["action"] == "blocked"
    assert event.extra["verdict"] == "drop"
    assert event.extra["direction"] == "to_server"


def test_suricata7_alert_with_target_keyword_and_files() -> None:
    event = parse(eve(7, "alert", 3))
    assert event.extra["alert_source_ip"] == "198.51.100.77"
    assert event.extra["alert_target_ip"] == "10.30.1.22"
    # the first file with a hash, not the first file
    assert event.malware_hash_md5 == "d41d8cd98f00b204e9800998ecf8427e"
    assert event.malware_hash_sha1 is None
    assert event.extra["file_name"] == "/cfg.bin"
    assert event.destination_url == "http://198.51.100.77/"


def test_suricata7_applayer_anomaly_names_its_protocol() -> None:
    event = parse(eve(7, "anomaly"))
    assert event.kind is EventKind.ANOMALY
    assert event.protocol_application == "http"
    assert event.classification_identifier == (
        "anomaly:applayer:UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"
    )
    assert event.extra["anomaly_layer"] == "proto_parser"


def test_suricata7_drop() -> None:
    event = parse(eve(7, "drop"))
    assert event.kind is EventKind.DROP
    assert (event.classification_taxonomy, event.classification_type) == ("other", "undetermined")
    assert event.classification_identifier == "drop"
    assert event.event_description_text == "rules"
    assert event.severity is Severity.LOW
    assert event.extra["verdict"] == "drop"
    assert event.extra["pkt_src"] == "wire/nfq"


def test_suricata7_dns_v2_with_authorities() -> None:
    event = parse(eve(7, "dns"))
    assert event.dns_query == "mail.helse.example"
    assert event.extra["dns_rrtype"] == "MX"
    assert event.extra["dns_answers"] == ["mx1.helse.example"]


def test_suricata7_http_redirect() -> None:
    event = parse(eve(7, "http"))
    assert event.destination_url == "http://journal.helse.example/login"
    assert event.extra["http_status"] == 302
    assert event.extra["http_user_agent"] == "curl/8.0.1"


def test_suricata7_quic_carries_tls_fingerprints() -> None:
    event = parse(eve(7, "quic"))
    assert event.protocol_application == "quic"
    assert event.tls_sni == "teams.example.com"
    assert event.tls_ja3 == "d6a0b3f2c8e1947be2f1e6b8f54a1c2e"
    assert event.extra["quic_version"] == "1"


def test_suricata7_tls_over_expanded_ipv6_with_an_empty_subject() -> None:
    event = parse(eve(7, "tls"))
    assert event.source_ip == "2001:db8::42"  # written 2001:0DB8:0000:...:0042
    assert event.destination_ip == "2001:db8:0:1::443"
    assert event.tls_sni == "intranet.sykehus.example"  # trailing dot dropped
    assert event.extra["tls_subject"] == ""  # an empty subject is information, kept
    assert event.tls_ja3 is None
    assert event.tls_ja4 is None


def test_suricata7_stats_with_worker_and_manager_flow_counters() -> None:
    result = stats(eve(7, "stats"))
    assert (result.uptime_seconds, result.packets, result.drops, result.alerts) == (160, 522, 3, 7)
    assert result.sensor is None


# -- Suricata 8 --------------------------------------------------------------------------------


def test_suricata8_alert_with_metadata_and_a_dns_v3_section() -> None:
    event = parse(eve(8, "alert"))
    assert harmonised(event) == {
        "kind": EventKind.ALERT,
        "time_source": utc("2025-09-18T06:13:41.532140"),
        "feed_code": "alert",
        "classification_taxonomy": "malicious-code",
        "classification_type": "infected-system",
        "classification_identifier": "sid:1:2052342",
        "event_description_text": (
            "ET MALWARE SocGholish Domain in DNS Lookup (update .example-cdn .com)"
        ),
        "severity": Severity.HIGH,
        "source_ip": "10.40.1.20",
        "source_port": 49175,
        "destination_ip": "10.40.0.53",
        "destination_port": 53,
        "protocol_transport": "udp",
        "protocol_application": "dns",
        "malware_name": "socgholish",
        "dns_query": "update.example-cdn.com",
    }
    assert event.extra["tx_guessed"] is True
    assert event.extra["signature_severity"] == "Major"
    assert event.extra["dns_type"] == "request"
    assert "rule" not in event.extra  # the rule text stays in raw
    assert "classtype:trojan-activity" in event.raw


def test_suricata8_dns_v3_request_and_response() -> None:
    request = parse(eve(8, "dns", 0))
    assert request.dns_query == "www.helsenorge.example"
    assert (request.extra["dns_type"], request.extra["dns_rrtype"]) == ("request", "AAAA")
    response = parse(eve(8, "dns", 1))
    assert response.dns_query == "www.helsenorge.example"
    assert response.extra["dns_type"] == "response"
    assert response.extra["dns_answers"] == ["helsenorge.example", "2001:db8::80"]


def test_suricata8_tls_with_ja3_ja3s_and_ja4() -> None:
    event = parse(eve(8, "tls"))
    assert event.tls_sni == "api.example.com"
    assert event.tls_ja3 == "cd08e31494f9531f560d64c695473da9"
    assert event.tls_ja3s == "f4febc55ea12b31ae17cfb7e614afda8"
    assert event.tls_ja4 == "t13d1516h2_8daaf6152771_02713d6af862"
    assert event.extra["tls_version"] == "TLS 1.3"


def test_suricata8_quic_with_ja4() -> None:
    event = parse(eve(8, "quic"))
    assert event.tls_ja4 == "q13d0310h3_55b375c5d22e_cd85d2d88918"
    assert event.tls_sni == "video.example.com"


def test_suricata8_arp_has_no_addresses_at_the_top() -> None:
    event = parse(eve(8, "arp"))
    assert event.source_ip is None
    assert event.destination_ip is None
    assert event.protocol_transport is None


def test_suricata8_mdns_fills_dns_query() -> None:
    event = parse(eve(8, "mdns"))
    assert event.dns_query == "_ipp._tcp.local"
    assert event.source_ip == "fe80::211:22ff:fe33:4477"
    assert event.extra["mdns"]["rcode"] == "NOERROR"


def test_suricata8_proxy_request_keeps_its_absolute_url() -> None:
    event = parse(eve(8, "http"))
    assert event.destination_url == "http://www.example.org/index.html"
    assert event.destination_port == 3128


def test_suricata8_drop() -> None:
    event = parse(eve(8, "drop"))
    assert event.kind is EventKind.DROP
    assert event.event_description_text == "flow drop"


def test_sensor_is_the_constructors_else_the_records_host() -> None:
    assert stats(eve(8, "stats")).sensor == "sensor-bergen-2"
    assert stats(eve(8, "stats"), sensor="sensor-oslo-1").sensor == "sensor-oslo-1"
    assert parse(eve(8, "dns")).sensor is None
    assert parse(eve(8, "dns"), sensor="sensor-oslo-1").sensor == "sensor-oslo-1"
    result = stats(eve(8, "stats"))
    assert (result.uptime_seconds, result.packets, result.drops, result.alerts) == (
        3600,
        123456789,
        42,
        17,
    )
