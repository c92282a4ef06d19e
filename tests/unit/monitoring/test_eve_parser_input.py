"""Bad and unusual input to the EVE parser: each rule of the module docstring's "Input rules",
one test or more. Every bad line is a ParseError with a precise reason, nothing else escapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from vardeild.monitoring.model import Event, EventKind, ParseError, SensorStats, Severity
from vardeild.monitoring.parsers import eve_classify, eve_types
from vardeild.monitoring.parsers.eve import EveParser, parse_timestamp

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def record(**changes: Any) -> dict[str, Any]:
    """A Suricata 7 alert as a dict; `changes` replace or (with None) remove members."""
    base: dict[str, Any] = {
        "timestamp": "2024-01-02T03:04:05.123456+0100",
        "flow_id": 1000,
        "event_type": "alert",
        "src_ip": "10.0.0.1",
        "src_port": 50000,
        "dest_ip": "192.0.2.10",
        "dest_port": 80,
        "proto": "TCP",
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": 2000001,
            "rev": 2,
            "signature": "ET TEST signature",
            "category": "Misc Attack",
            "severity": 2,
        },
        "http": {"hostname": "www.example.com", "url": "/", "http_user_agent": "curl/8.0"},
        "app_proto": "http",
    }
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def line(**changes: Any) -> bytes:
    return json.dumps(record(**changes), separators=(",", ":")).encode() + b"\n"


def parse(data: bytes) -> Event | SensorStats:
    return EveParser().parse_line(data, observed_at=OBSERVED)


def event(data: bytes) -> Event:
    result = parse(data)
    assert isinstance(result, Event)
    return result


def reason(data: bytes) -> str:
    with pytest.raises(ParseError) as raised:
        parse(data)
    return str(raised.value)


# -- encoding, BOM, line endings, empty lines --------------------------------------------------


def test_invalid_utf8_names_the_byte() -> None:
    data = line().replace(b"ET TEST", b"ET \xffTEST")
    offset = data.index(b"\xff")
    assert reason(data) == f"invalid UTF-8 at byte {offset}: invalid start byte"


def test_a_bom_at_the_start_of_the_line_is_dropped() -> None:
    parsed = event(b"\xef\xbb\xbf" + line())
    assert parsed.raw.startswith('{"timestamp"')
    assert parsed.classification_identifier == "sid:1:2000001"


def test_byte_offsets_count_the_dropped_bom() -> None:
    data = b"\xef\xbb\xbf" + line().replace(b"ET TEST", b"ET \xffTEST")
    offset = data.index(b"\xff")
    assert reason(data).startswith(f"invalid UTF-8 at byte {offset}:")


def test_a_bom_anywhere_else_is_malformed_json() -> None:
    assert (
        reason(b" \xef\xbb\xbf" + line()) == "malformed JSON: invalid character '\u00ef' (byte 1)"
    )


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"", b"\r"])
def test_line_endings_are_dropped_from_raw(ending: bytes) -> None:
    data = line().rstrip(b"\n") + ending
    parsed = event(data)
    assert parsed.raw == data.decode().rstrip("\r\n")


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n", b"   \t \r\n", b"\xef\xbb\xbf\n"])
def test_an_empty_line_is_a_parse_error(data: bytes) -> None:
    assert reason(data) == "empty line"


# -- not one JSON object -----------------------------------------------------------------------


def test_truncated_json() -> None:
    data = line()[:40] + b"\n"
    assert reason(data) == "truncated JSON: the line ends inside a value after 40 bytes"


def test_two_objects_on_a_line() -> None:
    data = line().rstrip(b"\n") + line()
    assert reason(data).startswith("malformed JSON: trailing characters '{' (byte ")


def test_trailing_garbage() -> None:
    assert reason(line().rstrip(b"\n") + b" x\n").startswith("malformed JSON: trailing characters")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"[1, 2]", "array"),
        (b'"alert"', "string"),
        (b"42", "number"),
        (b"4.2", "number"),
        (b"true", "boolean"),
        (b"null", "null"),
    ],
)
def test_a_value_that_is_not_an_object(data: bytes, kind: str) -> None:
    assert reason(data + b"\n") == f"not a JSON object: the line is a JSON {kind}"


def test_a_pretty_printed_document_is_not_eve_but_one_line_may_hold_it() -> None:
    document = json.dumps(record(), indent=4).encode()
    for fragment in document.splitlines():
        with pytest.raises(ParseError):
            parse(fragment)
    assert event(document).classification_identifier == "sid:1:2000001"


# -- nesting, NaN, numbers, surrogates, NUL ----------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("where", ["unread", "alert"])
def test_deep_nesting_is_a_parse_error_not_a_recursion_error(depth: int, where: str) -> None:
    nested = "[" * depth + "]" * depth
    data = line().replace(b'"app_proto"', f'"{where}_x":{nested},"app_proto"'.encode())
    if where == "alert":
        data = line().replace(b'"action"', f'"x":{nested},"action"'.encode())
    assert reason(data) == "JSON nested too deeply for the decoder"


def test_deep_nesting_in_an_unknown_event_types_section() -> None:
    nested = "{" + '"a":{' * 1_000 + "}" * 1_001
    data = line(event_type="future", alert=None, future=json.loads("{}")).replace(
        b'"future":{}', f'"future":{nested}'.encode()
    )
    assert reason(data) == "JSON nested too deeply for the decoder"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(token: str) -> None:
    data = line().replace(b'"flow_id":1000', f'"flow_id":{token}'.encode())
    at = data.index(token.encode())
    assert reason(data) == f"{token} is not valid JSON (byte {at})"


def test_huge_numbers_in_read_fields_name_the_field() -> None:
    assert reason(line(src_port=10**40)) == f"src_port: not a port number: '{10**40}'"
    assert reason(line().replace(b'"src_port":50000', b'"src_port":1e400')) == (
        "src_port: number out of range"
    )
    assert reason(line(flow_id=2**64)) == "flow_id: expected int <= 9223372036854775807"
    alert = record()["alert"] | {"signature_id": 10**30}
    assert reason(line(alert=alert)) == "alert.signature_id: expected int <= 9223372036854775807"


def test_huge_numbers_in_unread_fields_stay_in_raw() -> None:
    data = line(pcap_cnt=10**30).replace(b'"app_proto"', b'"ratio":1e400,"app_proto"')
    parsed = event(data)
    assert "1e400" in parsed.raw
    assert str(10**30) in parsed.raw


def test_a_lone_surrogate_is_a_parse_error() -> None:
    data = line().replace(b"ET TEST", b"ET \\ud800TEST")
    at = data.index(b"\\ud800")
    assert reason(data) == f"lone UTF-16 surrogate escape \\ud800 at byte {at}"
    data = line().replace(b"ET TEST", b"ET \\udc00TEST")
    assert reason(data).startswith("lone UTF-16 surrogate escape \\udc00 at byte ")


def test_a_surrogate_pair_is_one_character() -> None:
    data = line().replace(b"ET TEST", b"ET \\ud83d\\ude00 TEST")
    assert event(data).event_description_text == "ET \U0001f600 TEST signature"


def test_nul_is_replaced_in_harmonised_and_extra_strings_but_kept_in_raw() -> None:
    data = line().replace(b"ET TEST", b"ET\\u0000TEST").replace(b"curl/8.0", b"curl\\u0000")
    parsed = event(data)
    assert parsed.event_description_text == "ET\ufffdTEST signature"
    assert parsed.extra["http_user_agent"] == "curl\ufffd"
    assert "\\u0000" in parsed.raw
    assert not any("\x00" in str(value) for value in parsed.extra.values())


def test_nul_in_an_unknown_sections_keys_and_lists() -> None:
    data = line(event_type="future", alert=None, future={"k\x00": ["v\x00"]})
    parsed = event(data)
    assert parsed.extra["future"] == {"k\ufffd": ["v\ufffd"]}


# -- duplicate keys, nulls, missing members, wrong types --------------------------------------


def test_duplicate_keys_the_last_wins() -> None:
    data = line().replace(b'"severity":2', b'"severity":3,"severity":1')
    assert event(data).severity is Severity.HIGH
    data = line().replace(b'"event_type":"alert"', b'"event_type":"alert","event_type":"http"')
    assert event(data).kind is EventKind.PROTOCOL


def test_null_members_are_absent() -> None:
    data = line().replace(b'"src_ip":"10.0.0.1"', b'"src_ip":null')
    data = data.replace(b'"src_port":50000', b'"src_port":null').replace(
        b'"proto":"TCP"', b'"proto":null'
    )
    data = data.replace(b'"http":{', b'"dns":null,"tls":null,"http":{')
    parsed = event(data)
    assert (parsed.source_ip, parsed.source_port, parsed.protocol_transport) == (None, None, None)
    assert parsed.tls_sni is None
    assert parsed.dns_query is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (line(event_type=None), "missing event_type"),
        (line().replace(b'"event_type":"alert"', b'"event_type":null'), "missing event_type"),
        (line(event_type=""), "missing event_type"),
        (line(timestamp=None), "missing timestamp"),
        (line().replace(b'"timestamp":"2024-01-02T03:04:05.123456+0100"', b'"timestamp":null'),
         "missing timestamp"),
        (line(alert=None), "alert event without an alert section"),
        (line().replace(b'"alert":{', b'"alert":null,"x":{'),
         "alert event without an alert section"),
        (line(alert={"signature": "x"}), "alert.signature_id: missing"),
        (line(event_type="anomaly"), "anomaly event without an anomaly section"),
        (line(event_type="stats"), "stats event without a stats section"),
    ],
)  # fmt: skip
def test_missing_members(data: bytes, message: str) -> None:
    assert reason(data) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"src_port": 80.5}, "src_port: expected int | str | null, got float"),
        ({"src_port": True}, "src_port: expected int | str | null, got bool"),
        ({"timestamp": 1704161045}, "timestamp: expected str | null, got int"),
        ({"event_type": ["alert"]}, "event_type: expected str | null, got array"),
        ({"flow_id": -1}, "flow_id: expected int >= 0"),
        ({"alert": []}, "alert: expected object, got array"),
        ({"alert": {"signature_id": "2000001"}},
         "alert.signature_id: expected int | null, got str"),
        ({"http": {"hostname": 7}}, "http.hostname: expected str | null, got int"),
        ({"tls": {"ja3": "abc"}}, "tls.ja3: expected object | null, got str"),
        ({"event_type": "stats", "stats": {"uptime": "1h"}},
         "stats.uptime: expected int | null, got str"),
        ({"event_type": "flow", "flow": {"bytes_toserver": -5}},
         "flow.bytes_toserver: expected int >= 0"),
    ],
)  # fmt: skip
def test_wrong_types_name_the_field(changes: dict[str, Any], message: str) -> None:
    assert reason(line(**changes)) == message


# -- ports and addresses -----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "port"), [(0, 0), (65535, 65535), ("80", 80), ("08080", 8080)])
def test_ports_as_integers_or_strings_of_digits(value: int | str, port: int) -> None:
    assert event(line(src_port=value)).source_port == port


@pytest.mark.parametrize("value", [-1, 65536, "", "http", "-80", "8 0", "65536", "123456", "８０"])
def test_anything_else_is_not_a_port(value: int | str) -> None:
    assert reason(line(dest_port=value)) == f"dest_port: not a port number: {str(value)!r}"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("10.0.0.1", "10.0.0.1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("FE80::1", "fe80::1"),
    ],
)
def test_addresses_are_validated_and_ipv6_made_canonical(written: str, canonical: str) -> None:
    parsed = event(line(src_ip=written, dest_ip=written))
    assert parsed.source_ip == parsed.destination_ip == canonical


@pytest.mark.parametrize(
    "value", ["10.0.0.256", "10.0.0", "010.0.0.1", " 10.0.0.1", "", "::g", "fe80::1%eth0", "x\x00"]
)
def test_an_invalid_address_names_the_field(value: str) -> None:
    assert reason(line(dest_ip=value)) == f"dest_ip: not an IP address: {value!r}"
    assert reason(line(src_ip=value)) == f"src_ip: not an IP address: {value!r}"


def test_an_invalid_alert_target_names_the_field() -> None:
    alert = record()["alert"] | {"target": {"ip": "999.1.1.1", "port": 80}}
    assert reason(line(alert=alert)) == "alert.target.ip: not an IP address: '999.1.1.1'"


def test_the_address_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eve_types, "ADDRESS_CACHE_SIZE", 3)
    eve_types.addresses.clear()
    for host in range(1, 10):
        assert event(line(src_ip=f"10.0.0.{host}")).source_ip == f"10.0.0.{host}"
        assert len(eve_types.addresses) <= 3
    assert reason(line(src_ip="10.0.0.300")) == "src_ip: not an IP address: '10.0.0.300'"


@pytest.mark.parametrize(
    ("proto", "transport"), [("TCP", "tcp"), ("IPv6-ICMP", "ipv6-icmp"), (254, "254")]
)
def test_proto_is_lower_cased(proto: str | int, transport: str) -> None:
    assert event(line(proto=proto)).protocol_transport == transport


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2024-01-02T03:04:05.123456+0100", datetime(2024, 1, 2, 2, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456-0400", datetime(2024, 1, 2, 7, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456+0000", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456+05:30", datetime(2024, 1, 1, 21, 34, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456Z", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05+0100", datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)),
    ],
)
def test_timestamps_become_utc_and_no_offset_means_utc(written: str, utc: datetime) -> None:
    for _ in range(2):  # the second time through the remembered offset
        parsed = parse_timestamp(written)
        assert parsed == utc
        assert parsed.utcoffset() == timedelta(0)
    assert event(line(timestamp=written)).time_source == utc


@pytest.mark.parametrize(
    "written",
    [
        "yesterday",
        "",
        "2024-01-02",
        "2024-13-02T03:04:05.123456+0100",
        "2024-01-02T25:04:05.123456+0100",
        "2024-01-02T03:04:05.123456+2500",
        "2024-01-02T03:04:05.12345x+0100",
        "0001-01-01T00:30:00.000000+0100",
        "02/01/2024-03:04:05.123456",
    ],
)
def test_a_garbled_timestamp_is_a_parse_error_quoting_it(written: str) -> None:
    assert reason(line(timestamp=written)) == (
        f"timestamp: not an ISO 8601 date and time: {written!r}"
    )


def test_a_remembered_offset_does_not_let_a_bad_time_through() -> None:
    assert parse_timestamp("2024-01-02T03:04:05.123456+0100").tzinfo is UTC
    with pytest.raises(ParseError):
        parse_timestamp("2024-01-02T03:04:61.123456+0100")


def test_observed_at_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EveParser().parse_line(line(), observed_at=datetime(2026, 1, 1))
    local = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=1)))
    assert event_at(local).time_observation == local


def event_at(observed: datetime) -> Event:
    result = EveParser().parse_line(line(), observed_at=observed)
    assert isinstance(result, Event)
    return result


# -- event types -------------------------------------------------------------------------------


def test_an_unknown_event_type_is_kept_with_its_section() -> None:
    section = {"len": 76, "nested": {"list": [1, 2]}}
    parsed = event(line(event_type="fake", alert=None, fake=section))
    assert parsed.kind is EventKind.PROTOCOL
    assert parsed.protocol_application == "fake"
    assert (parsed.classification_taxonomy, parsed.classification_type) == ("other", "undetermined")
    assert parsed.extra["fake"] == section
    assert parsed.http_host == "www.example.com"  # known sections still harmonised


def test_an_unknown_event_type_without_a_section_is_kept() -> None:
    parsed = event(line(event_type="engine", alert=None))
    assert parsed.kind is EventKind.PROTOCOL
    assert "engine" not in parsed.extra


def test_a_hyphenated_event_type_finds_its_underscored_section() -> None:
    parsed = event(
        line(event_type="bittorrent-dht", alert=None, bittorrent_dht={"request_type": "ping"})
    )
    assert parsed.extra["bittorrent-dht"] == {"request_type": "ping"}


def test_generic_sections_are_capped() -> None:
    section = {f"key{n:02}": "v" * 300 for n in range(40)}
    parsed = event(line(event_type="smb", alert=None, smb=section))
    assert len(parsed.extra["smb"]) == 24
    assert all(len(value) == 256 for value in parsed.extra["smb"].values())


def test_a_generic_section_that_is_not_an_object() -> None:
    assert event(line(event_type="smb", alert=None, smb="opaque")).extra["smb"] == {
        "value": "opaque"
    }


def test_http_targets_that_are_not_paths_give_no_url() -> None:
    connect = event(line(http={"hostname": "proxy.example", "url": "example.com:443"}))
    assert connect.destination_url is None
    assert connect.http_host == "proxy.example"
    ipv6 = event(line(http={"hostname": "2001:DB8::1", "url": "/x", "http_port": 8080}))
    assert ipv6.destination_url == "http://[2001:db8::1]:8080/x"
    no_host = event(line(http={"url": "/x"}))
    assert no_host.destination_url is None
    assert no_host.http_host is None


def test_app_proto_failed_is_no_application() -> None:
    assert event(line(app_proto="failed", http=None)).protocol_application is None


# -- the memos never change a result -----------------------------------------------------------


def test_a_repeated_alert_gives_an_equal_but_independent_event() -> None:
    first, second = event(line()), event(line())
    assert first == second
    first.extra["signature_id"] = 0
    first.extra["added"] = True
    third = event(line())
    assert third.extra["signature_id"] == 2000001
    assert "added" not in third.extra


def test_alerts_with_a_source_or_target_are_not_remembered() -> None:
    eve_classify.alerts.clear()
    alert = record()["alert"] | {"source": {"ip": "10.0.0.1", "port": 1}}
    event(line(alert=alert))
    assert eve_classify.alerts == {}
    event(line())
    assert len(eve_classify.alerts) == 1


def test_the_alert_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eve_classify, "ALERT_CACHE_SIZE", 2)
    eve_classify.alerts.clear()
    for sid in range(5):
        alert = record()["alert"] | {"signature_id": sid}
        assert event(line(alert=alert)).classification_identifier == f"sid:1:{sid}"
        assert len(eve_classify.alerts) <= 2
