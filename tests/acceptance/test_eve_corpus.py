"""Every line of every EVE file in the shared corpus (../shared/data/eve, edge cases included)
is an event with the right fields or a ParseError with a precise reason; nothing else is raised.
Counts per outcome are asserted per file, so a silent drop or a new failure shows.

The edge cases (see ../shared/data/MANIFEST.md) include pretty-printed single documents: EVE is
one object per line, so line by line every fragment is a ParseError, and the tests also pass
each whole document as one `line` (JSON allows newlines between tokens) to check its fields."""

from __future__ import annotations

import collections
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import FIELDS, Event, EventKind, ParseError, SensorStats, Severity
from vardeild.monitoring.parsers.eve import EveParser

pytestmark = pytest.mark.acceptance

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# file -> outcome -> count, line by line. Outcomes: an event's kind, "stats", or "error".
EXPECTED: dict[str, dict[str, int]] = {
    "eve_alerts.jsonl": {"alert": 302},
    "eve_protocol_events.jsonl": {"protocol": 24, "alert": 1, "drop": 1, "anomaly": 1, "stats": 2},
    "edge_cases/fever_jsonparse_eve_broken_truncated.jsonl": {"protocol": 2, "error": 1},
    "edge_cases/fever_jsonparse_eve_nulls.jsonl": {"protocol": 1},
    "edge_cases/telegraf_test1.json": {"stats": 1},  # one 27 KB line without a newline
    "edge_cases/telegraf_test2.json": {"error": 21},  # pretty-printed
    "edge_cases/telegraf_test3.json": {"alert": 1},  # "severity" twice
    "edge_cases/telegraf_v2_alert.json": {"error": 35},
    "edge_cases/telegraf_v2_dns.json": {"error": 18},
    "edge_cases/telegraf_v2_drop.json": {"error": 29},
    "edge_cases/telegraf_v2_flow.json": {"error": 21},
    "edge_cases/telegraf_v2_http.json": {"error": 22},
    "edge_cases/telegraf_v2_invalid_event.json": {"error": 7},
    "edge_cases/telegraf_v2_status.json": {"error": 30},
}

# What a reason may say: each names the problem, and where one exists, the byte or the field.
PRECISE = re.compile(
    r"^(truncated JSON: the line ends inside a value after \d+ bytes"
    r"|not a JSON object: the line is a JSON (string|number|array|boolean|null)"
    r"|malformed JSON: .+ \(byte \d+\)"
    r"|empty line)$"
)


def outcome(result: Event | SensorStats) -> str:
    return "stats" if isinstance(result, SensorStats) else result.kind.value


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def parse(data: bytes) -> Event | SensorStats:
    return EveParser().parse_line(data, observed_at=OBSERVED)


def event(data: bytes) -> Event:
    result = parse(data)
    assert isinstance(result, Event)
    return result


def test_every_file_is_counted(corpus: Path) -> None:
    found = {str(p.relative_to(corpus / "eve")) for p in (corpus / "eve").rglob("*") if p.is_file()}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_line_is_an_event_or_a_precise_parse_error(corpus: Path, name: str) -> None:
    counts: collections.Counter[str] = collections.Counter()
    imprecise = []
    for number, data in enumerate(lines_of(corpus / "eve" / name), 1):
        try:
            result = parse(data)
        except ParseError as error:
            if not PRECISE.match(str(error)):
                imprecise.append((number, str(error)))
            counts["error"] += 1
            continue
        counts[outcome(result)] += 1
        if isinstance(result, Event):
            assert result.classification_type in TAXONOMY[result.classification_taxonomy]
            written = {field for field, value in msgspec.structs.asdict(result).items() if value}
            assert written <= set(FIELDS)
            assert result.raw == data.decode().rstrip("\r\n")
            msgspec.json.encode(result)  # storable as it is
    assert dict(counts) == EXPECTED[name]
    assert imprecise == []


def test_alerts_are_classified_from_their_categories(corpus: Path) -> None:
    events = [event(data) for data in lines_of(corpus / "eve" / "eve_alerts.jsonl")]
    pairs = collections.Counter((e.classification_taxonomy, e.classification_type) for e in events)
    assert pairs == {
        ("other", "other"): 119,
        ("intrusion-attempts", "ids-alert"): 68,
        ("intrusion-attempts", "exploit"): 47,
        ("malicious-code", "infected-system"): 38,  # every "A Network Trojan was detected"
        ("information-gathering", "scanner"): 25,
        ("availability", "dos"): 3,
        ("information-content-security", "unauthorised-information-access"): 1,
        ("intrusions", "unprivileged-account-compromise"): 1,
    }
    severities = collections.Counter(e.severity for e in events)
    assert severities == {Severity.HIGH: 128, Severity.MEDIUM: 95, Severity.LOW: 79}
    assert all(e.classification_identifier.startswith("sid:1:") for e in events)
    assert all(e.event_description_text for e in events)
    assert sum(1 for e in events if e.http_host) == 171
    assert sum(1 for e in events if e.tls_sni) == 8
    # line 300: the rule used the target keyword
    assert events[299].extra["alert_source_ip"] == "10.0.0.5"
    assert events[299].extra["alert_target_ip"] == "179.60.192.3"
    # line 302: Suricata 7 with ET metadata; priority 1 and signature_severity Major
    last = events[301]
    assert last.severity is Severity.HIGH
    assert last.extra["signature_severity"] == "Major"
    assert last.extra["pkt_src"] == "wire/pcap"
    assert last.extra["direction"] == "to_client"
    assert last.time_source == datetime(2023, 9, 18, 6, 13, 41, 532140, tzinfo=UTC)


def test_protocol_events_keep_their_fields(corpus: Path) -> None:
    events = {
        number: parse(data)
        for number, data in enumerate(lines_of(corpus / "eve" / "eve_protocol_events.jsonl"), 1)
    }
    types = collections.Counter(
        e.feed_code
        for e in events.values()
        if isinstance(e, Event) and e.kind is EventKind.PROTOCOL
    )
    assert types == {"http": 5, "dns": 4, "tls": 4, "fileinfo": 4, "flow": 3, "pgsql": 2,
                     "ssh": 1, "mqtt": 1}  # fmt: skip
    dns_v2 = events[2]
    assert isinstance(dns_v2, Event)
    assert dns_v2.dns_query == "static.programme-tv.net"
    assert dns_v2.extra["dns_answers"] == ["programme-tv.net.edgesuite.net", "a1859.g.akamai.net"]
    tls_v6 = events[3]  # fully expanded IPv6
    assert isinstance(tls_v6, Event)
    assert (tls_v6.source_ip, tls_v6.destination_ip) == (
        "2a03:b0c0:2:d0::bd3:4001",
        "2606:2800:220:1:248:1893:25c8:1946",
    )
    assert (tls_v6.tls_ja3, tls_v6.tls_ja3s, tls_v6.tls_sni) == (
        "1fe4c7a3544eb27afec2adfb3a3dbf60",
        "5d79edf64e03689ff559a54e9d9487bc",
        "example.com",
    )
    fileinfo = events[11]
    assert isinstance(fileinfo, Event)
    assert fileinfo.malware_hash_sha256 == (
        "f610428ebddf6f8cf9e39322e672583c45fcdcf885efad0ab48fd53a3dfc2c4b"
    )
    assert isinstance(events[13], SensorStats)
    assert (events[13].uptime_seconds, events[13].packets, events[13].alerts) == (5400, 430313, 2)
    trailing_dot = events[14]
    assert isinstance(trailing_dot, Event)
    assert trailing_dot.tls_sni == "p33-btmmdns.icloud.com"
    empty_issuer, empty_subject = events[16], events[17]
    assert isinstance(empty_issuer, Event)
    assert empty_issuer.extra["tls_issuerdn"] == ""
    assert isinstance(empty_subject, Event)
    assert empty_subject.extra["tls_subject"] == ""
    assert empty_subject.tls_ja3s == "ae4edc6faf64d08308082ad26be60767"
    drop = events[19]
    assert isinstance(drop, Event)
    assert drop.kind is EventKind.DROP
    assert drop.time_source == datetime(2023, 4, 6, 16, 21, 1, 318245, tzinfo=UTC)  # +0800
    anomaly = events[25]
    assert isinstance(anomaly, Event)
    assert anomaly.protocol_application == "http"
    mqtt = events[27]
    assert isinstance(mqtt, Event)
    assert mqtt.source_ip == "::1"
    assert mqtt.extra["mqtt"]["publish.topic"] == "house/bulbs/bulb1"


def test_the_truncated_line_is_the_one_quarantined(corpus: Path) -> None:
    lines = lines_of(corpus / "eve" / "edge_cases" / "fever_jsonparse_eve_broken_truncated.jsonl")
    with pytest.raises(ParseError, match=r"^truncated JSON: .* after 33 bytes$"):
        parse(lines[1])
    assert event(lines[0]).dns_query == "test.test.local"
    assert event(lines[2]).http_host == "foobar"


def test_nulls_read_as_absent(corpus: Path) -> None:
    (data,) = lines_of(corpus / "eve" / "edge_cases" / "fever_jsonparse_eve_nulls.jsonl")
    nulls = event(data)
    assert (nulls.source_ip, nulls.source_port, nulls.destination_ip) == (None, None, None)
    assert nulls.malware_hash_md5 is None
    assert "flow_id" not in nulls.extra
    assert nulls.http_host == "api.icndb.com"
    assert nulls.destination_url == "http://api.icndb.com/"


def test_the_duplicate_key_alert(corpus: Path) -> None:
    (data,) = lines_of(corpus / "eve" / "edge_cases" / "telegraf_test3.json")
    alert = event(data)
    assert alert.severity is Severity.LOW  # "severity": 3 twice
    assert (alert.classification_taxonomy, alert.classification_type) == ("other", "other")


def test_stats_with_delta_counters(corpus: Path) -> None:
    result = parse((corpus / "eve" / "edge_cases" / "telegraf_test1.json").read_bytes())
    assert isinstance(result, SensorStats)
    assert (result.uptime_seconds, result.packets, result.drops) == (15, 135, 0)


# whole pretty-printed document -> (outcome, a few fields)
DOCUMENTS: dict[str, tuple[str, dict[str, object]]] = {
    "telegraf_test2.json": ("stats", {"uptime_seconds": None, "alerts": None}),  # per thread only
    "telegraf_v2_alert.json": ("alert", {"classification_identifier": "sid:1:6"}),
    "telegraf_v2_dns.json": ("protocol", {"dns_query": "reddit.com"}),
    "telegraf_v2_drop.json": ("drop", {"event_description_text": "stream error"}),
    "telegraf_v2_flow.json": ("protocol", {"protocol_application": "flow"}),
    "telegraf_v2_http.json": ("protocol", {"http_host": "hkminorshort.weixin.qq.com"}),
    "telegraf_v2_invalid_event.json": ("protocol", {"extra": {"fake": {"len": 76}}}),
    "telegraf_v2_status.json": ("stats", {"uptime_seconds": 160, "packets": 522}),
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_each_pretty_printed_document_parses_as_one_line(corpus: Path, name: str) -> None:
    result = parse((corpus / "eve" / "edge_cases" / name).read_bytes())
    kind, fields = DOCUMENTS[name]
    assert outcome(result) == kind
    for field, value in fields.items():
        assert getattr(result, field) == value, field
