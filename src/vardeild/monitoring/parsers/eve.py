"""Suricata EVE JSON, one line at a time, into harmonised `Event`s (and `SensorStats`).

    parser = EveParser(sensor="sensor-oslo-1")
    item = parser.parse_line(line, observed_at=now)   # Event | SensorStats, or ParseError

`parse_line` takes one line as bytes, as read from eve.json or received from a sensor, and
returns an `Event`, or a `SensorStats` for a `stats` record; whatever cannot become either raises
`ParseError` with a reason precise enough to fix the line (the caller quarantines the line with
its position). No other exception escapes for any input, except ValueError for an `observed_at`
without a timezone (a caller's bug, not the line's). One parser serves any number of lines and
threads: it holds only the sensor name. Module-level memos (addresses, UTC offsets, alert
sections) are bounded and make no result differ. The line length is not limited here: the ways
in bound what they read.

What each event type becomes
  alert      kind alert. RSIT classification from `alert.category` (the rule's classtype; table
             and reasons in eve_classify.py; unknown or empty -> intrusion-attempts/ids-alert).
             classification_identifier "sid:<gid>:<signature_id>" (gid 1 when absent; the rev is
             left out so that a rule update does not split an alert), event_description_text the
             signature, severity from `alert.severity` 1 high, 2 medium, 3 low, other info, raised
             to critical/high by metadata signature_severity Critical/Major, malware_name the first
             metadata malware_family, lower-cased. protocol_application is `app_proto` (not
             "failed"). `action: blocked` stays an alert (extra.action says so). extra signature_id,
             gid, rev, category, action, signature_severity, and alert_source_ip/alert_target_ip
             (validated) when the rule used `target`. An alert without an `alert` section or
             without `alert.signature_id` is a ParseError.
  anomaly    kind anomaly, other/undetermined, severity low, identifier
             "anomaly:<type>:<event>", description the anomaly's event name, protocol_application
             its app_proto; extra anomaly_type/layer/code. Without its section: ParseError.
  drop       kind drop, other/undetermined, severity low, identifier "drop", description and
             extra.drop_reason the drop reason.
  stats      SensorStats: uptime, capture.kernel_packets/kernel_drops, detect.alert of the global
             counters (per-thread counters are not summed; absent counters are None). Without its
             section: ParseError.
  any other  kind protocol, other/undetermined (no protocol record implies more by itself;
             indicator matching upgrades it later), severity info, protocol_application the
             event type. That covers every app-layer type Suricata 6-8 writes (dns, http, tls,
             fileinfo, flow, netflow, ssh, smtp, smb, nfs, ftp, ftp_data, tftp, dhcp, krb5, ike,
             ikev2, rdp, sip, snmp, rfb, mqtt, http2, pgsql, quic, bittorrent_dht, dcerpc, modbus,
             dnp3, enip, ldap, websocket, arp, frame, mdns, pop3, ...), and any event type no
             Suricata wrote yet: kept, never rejected, its whole section in extra[<event_type>]
             (found under the name with "-" read as "_" too).

Harmonised fields, from whichever of these sections a record carries (an alert carries the
app-layer section of its transaction, so an alert on HTTP gets http_host too)
  src_ip, dest_ip   validated with inet_pton; IPv6 rewritten to its canonical compressed form
                    (EVE may write "2a03:b0c0:0002:00d0:0000:..."); an invalid address is a
                    ParseError naming the field. Absent or null: None (stats, arp).
  src/dest_port     an integer 0-65535; a string of 1-5 ASCII digits ("80") is accepted and
                    converted, as some shippers re-encode EVE; anything else is a ParseError.
  proto             protocol_transport, lower-cased ("tcp", "ipv6-icmp"); a number as its digits.
  http              http_host (hostname); destination_url "http://host[:http_port]<url>", or the
                    url itself when it is absolute (proxy requests), none for CONNECT's or
                    OPTIONS' targets or without a hostname; extra http_method, http_status,
                    http_user_agent. The `http2` event type is read the same way.
  tls, quic         tls_sni, tls_ja3 and tls_ja3s (the MD5 `hash`, lower-cased), tls_ja4; extra
                    tls_version, tls_subject, tls_issuerdn, tls_fingerprint (quic: quic_version).
  dns, mdns, llmnr  dns_query: v3 queries[0].rrname, or the v2-era alert's query[0] or answer,
                    else the v1/v2 top-level rrname. extra dns_type, dns_rrtype, dns_rcode,
                    dns_answers (rdata of v1, of v2/v3 `answers`, else the string values of v2
                    `grouped`; at most 16).
  fileinfo, files   malware_hash_md5/sha1/sha256 (lower-cased), extra file_name, file_size; from
                    an alert's `files` list, the first file that has a hash.
  ssh, smtp         extra ssh_client_software/ssh_server_software, smtp_helo/smtp_mail_from.
  flow, netflow     (flow and netflow events) extra flow_<counter>: packets, bytes, age, state,
                    reason, alerted.
  other protocols   extra[<event_type>]: the section's scalar values, nested objects flattened one
                    level ("request.operation"), lists left out, at most 24 values, strings cut
                    at 256 characters. `raw` keeps everything.
  always            extra flow_id, community_id, in_iface, app_proto, direction, pkt_src,
                    tx_guessed and verdict (its action) when the line has them. Host names
                    (http_host, tls_sni, dns_query) are lower-cased and lose one trailing dot.
                    sensor is the constructor's `sensor`, else the record's `host` (sensor-name).
                    raw is the line as UTF-8 text without BOM and line ending. feed_name
                    "suricata", feed_code the event type, time_observation the caller's
                    `observed_at`.

Input rules (each tested in tests/unit/monitoring/test_eve_parser_input.py)
  encoding          UTF-8; invalid UTF-8 is a ParseError with the byte offset. A UTF-8 BOM at the
                    start of the line is dropped (anywhere else it is malformed JSON). LF, CRLF
                    and CR endings are dropped.
  empty line        a line of only whitespace is ParseError("empty line"): a stage never drops a
                    record silently. Callers that prefer to skip blank lines test `line.strip()`
                    first.
  not an object     truncated JSON, trailing data, two objects on a line, a top-level array or
                    scalar: ParseError naming the byte or the JSON type. A pretty-printed document
                    spread over lines is not EVE: fed line by line each fragment is a ParseError.
                    Whitespace inside one `line`, newlines included, is allowed, so a caller may
                    pass a whole document as one line.
  nesting           nesting deeper than msgspec's limit raises RecursionError inside msgspec, also
                    in a member the parser skips; it becomes ParseError("JSON nested too deeply
                    for the decoder").
  NaN, Infinity     not JSON: ParseError naming the token and its byte.
  huge numbers      1e400 or integers beyond 2**63-1 in a member the parser reads (ports, ids,
                    counters, sizes) are a ParseError naming the member; in members it skips they
                    stay in raw, untouched.
  lone surrogates   a \\ud800-style escape without its pair is a ParseError naming it (it cannot be
                    encoded as UTF-8 downstream); a proper pair is one character.
  NUL               a \\u0000 escape is decoded as U+0000 and replaced by U+FFFD in harmonised and
                    extra strings (PostgreSQL rejects NUL in text); raw keeps the escape as text.
  duplicate keys    the last occurrence wins, as with Python's json, Go and jq.
  null              a null member is the same as an absent one. A missing, null or empty
                    `event_type`, and a missing or null `timestamp`, are a ParseError.
  wrong types       a member the parser reads with another JSON type than EVE's (a port of 80.5,
                    a signature_id in quotes, a section that is a list) is a ParseError naming
                    the member and both types.
  timestamp         ISO 8601 as Suricata writes it (2024-01-02T03:04:05.123456+0100), or with a
                    colon in the offset, or Z, or a space for the T; converted to UTC; without an
                    offset it is UTC (issue 3). Anything else is a ParseError quoting the value.

Speed (benches/eve_parse.py): msgspec decodes into the typed Structs of eve_types.py, which
declare only the members read; rarer sections stay msgspec.Raw and are decoded when their event
type needs them. Event attributes are assigned one by one (a constructor call with every
keyword costs twice as much), and three memos skip repeated work: canonical addresses, UTC
offsets, and the meaning of each alert section by its bytes. In the pipeline most protocol
lines never get here: eve_screen.py counts those that touch no indicator without a full parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from vardeild.monitoring.model import Event, EventKind, ParseError, SensorStats, Severity
from vardeild.monitoring.parsers.eve_classify import alert_meaning, alerts
from vardeild.monitoring.parsers.eve_types import (
    ANY_DECODER,
    DECODE_ERRORS,
    DNS_DECODER,
    FLOW_DECODER,
    GENERIC_SECTIONS,
    NO_SECTION,
    RECORD_DECODER,
    SECTIONS_DECODER,
    STATS_DECODER,
    Dns,
    EveRecord,
    Fileinfo,
    Flow,
    Http,
    Quic,
    Tls,
    address,
    addresses,
    decode_error,
    decode_section,
    host_name,
    line_error,
    parse_timestamp,
    port_number,
)

__all__ = ["EveParser", "parse_timestamp"]

FEED_NAME: Final = "suricata"
_BOM: Final = b"\xef\xbb\xbf"
_NUL_ESCAPE: Final = b"\\u0000"
_MAX_ANSWERS: Final = 16
_MAX_GENERIC_VALUES: Final = 24
_MAX_GENERIC_TEXT: Final = 256
_OTHER: Final = "other"
_UNDETERMINED: Final = "undetermined"
# Enum members as module constants: `EventKind.ALERT` is a slow class-attribute lookup.
_ALERT: Final = EventKind.ALERT
_ANOMALY: Final = EventKind.ANOMALY
_DROP: Final = EventKind.DROP
_PROTOCOL: Final = EventKind.PROTOCOL
_INFO: Final = Severity.INFO
_LOW: Final = Severity.LOW
# Event types parse_line harmonises itself; every other type goes through _other_sections.
_INLINE: Final = frozenset(("alert", "anomaly", "drop", "http", "tls", "dns", "fileinfo"))
# Event types whose sections are members of EveRecord: no second decode of the line.
_KNOWN: Final = _INLINE | {"quic", "ssh", "smtp", "flow", "netflow", "stats"}

_decode_record = RECORD_DECODER.decode


class EveParser:
    """Parses Suricata EVE lines (Suricata 6, 7 and 8 layouts) into events."""

    feed_name: Final = FEED_NAME

    def __init__(self, *, sensor: str | None = None) -> None:
        self.sensor = sensor

    def parse_line(self, line: bytes, *, observed_at: datetime) -> Event | SensorStats:
        """Return the Event (or, for `stats`, the SensorStats) of one EVE line; raise
        ParseError saying what is wrong with the line when it cannot become one."""
        if observed_at.tzinfo is None:
            raise ValueError("observed_at must be timezone-aware")
        start = 0
        if line[:3] == _BOM:
            line = line[3:]
            start = 3
        try:
            raw = line.decode()
            record: EveRecord = _decode_record(line)
        except UnicodeDecodeError as exc:
            raise ParseError(f"invalid UTF-8 at byte {exc.start + start}: {exc.reason}") from None
        except DECODE_ERRORS as exc:
            raise line_error(exc, line, start) from None
        last = raw[-1:]
        if last == "\n" or last == "\r":
            raw = raw.rstrip("\r\n")  # cheaper on the text than on the bytes before decoding

        event_type = record.event_type
        if not event_type:
            raise ParseError("missing event_type")
        timestamp = record.timestamp
        if timestamp is None:
            raise ParseError("missing timestamp")
        time_source = parse_timestamp(timestamp)
        if event_type == "stats":
            return _sensor_stats(record, time_source, self.sensor or record.host, raw)

        extra: dict[str, Any] = {}
        app_proto = record.app_proto
        if event_type == "alert":
            section = bytes(record.alert)
            meaning = alerts.get(section)
            if meaning is None:
                meaning = alert_meaning(section)
            taxonomy, ctype, identifier, description, severity, malware, fields = meaning
            event = Event(
                kind=_ALERT,
                time_observation=observed_at,
                feed_name=FEED_NAME,
                classification_taxonomy=taxonomy,
                classification_type=ctype,
                extra=extra,
                raw=raw,
            )
            event.classification_identifier = identifier
            event.event_description_text = description
            event.severity = severity
            if malware is not None:
                event.malware_name = malware
            extra.update(fields)
            if app_proto is not None and app_proto != "failed":
                event.protocol_application = app_proto
        elif event_type == "anomaly" or event_type == "drop":
            event = Event(
                kind=_ANOMALY if event_type == "anomaly" else _DROP,
                time_observation=observed_at,
                feed_name=FEED_NAME,
                classification_taxonomy=_OTHER,
                classification_type=_UNDETERMINED,
                severity=_LOW,
                extra=extra,
                raw=raw,
            )
            if app_proto is not None and app_proto != "failed":
                event.protocol_application = app_proto
            if event_type == "anomaly":
                _anomaly(record, event, extra)
            else:
                event.classification_identifier = "drop"
                if record.drop is not None and record.drop.reason is not None:
                    event.event_description_text = extra["drop_reason"] = record.drop.reason
        else:
            event = Event(
                kind=_PROTOCOL,
                time_observation=observed_at,
                feed_name=FEED_NAME,
                classification_taxonomy=_OTHER,
                classification_type=_UNDETERMINED,
                severity=_INFO,
                protocol_application=event_type,
                extra=extra,
                raw=raw,
            )
        # Attributes set one by one: msgspec looks each keyword up among Event's 44 fields,
        # which made one constructor call with every field twice as slow.
        event.time_source = time_source
        event.feed_code = event_type
        event.sensor = self.sensor or record.host
        src_ip = record.src_ip
        if src_ip is not None:
            event.source_ip = addresses.get(src_ip) or address(src_ip, "src_ip")
        dest_ip = record.dest_ip
        if dest_ip is not None:
            event.destination_ip = addresses.get(dest_ip) or address(dest_ip, "dest_ip")
        port = record.src_port
        if port is not None:
            if type(port) is not int or port < 0 or port > 65535:
                port = port_number(port, "src_port")
            event.source_port = port
        port = record.dest_port
        if port is not None:
            if type(port) is not int or port < 0 or port > 65535:
                port = port_number(port, "dest_port")
            event.destination_port = port
        proto = record.proto
        if proto is not None:
            event.protocol_transport = proto.lower() if type(proto) is str else str(proto)

        if record.flow_id is not None:
            extra["flow_id"] = record.flow_id
        if record.community_id is not None:
            extra["community_id"] = record.community_id
        if record.in_iface is not None:
            extra["in_iface"] = record.in_iface
        if app_proto is not None:
            extra["app_proto"] = app_proto
        if record.direction is not None:
            extra["direction"] = record.direction
        if record.pkt_src is not None:
            extra["pkt_src"] = record.pkt_src
        if record.tx_guessed is not None:
            extra["tx_guessed"] = record.tx_guessed
        if record.verdict is not None and record.verdict.action is not None:
            extra["verdict"] = record.verdict.action
        if record.http is not None:
            _http(record.http, event, extra)
        if record.tls is not None:
            _tls(record.tls, event, extra)
        if record.dns is not None:
            _dns(record.dns, event, extra)
        if record.fileinfo is not None:
            _file(record.fileinfo, event, extra)
        elif record.files:
            _file(
                next((f for f in record.files if f.md5 or f.sha1 or f.sha256), None), event, extra
            )
        if (
            event_type not in _INLINE
            or record.quic is not None
            or record.ssh is not None
            or record.smtp is not None
        ):
            _other_sections(record, event, event_type, extra, line, start)
        # find() of one byte is a memchr; a search for the whole escape scans 1 KB slowly.
        if line.find(b"\\") != -1 and _NUL_ESCAPE in line:
            _replace_nul(event)
        return event


def _anomaly(record: EveRecord, event: Event, extra: dict[str, Any]) -> None:
    """Set what an anomaly section says; raise ParseError when there is none."""
    anomaly = record.anomaly
    if anomaly is None:
        raise ParseError("anomaly event without an anomaly section")
    event.event_description_text = description = anomaly.event or ""
    event.classification_identifier = f"anomaly:{anomaly.type or ''}:{description}"
    if anomaly.app_proto is not None:
        event.protocol_application = anomaly.app_proto
    if anomaly.type is not None:
        extra["anomaly_type"] = anomaly.type
    if anomaly.layer is not None:
        extra["anomaly_layer"] = anomaly.layer
    if anomaly.code is not None:
        extra["anomaly_code"] = anomaly.code


def _other_sections(
    record: EveRecord, event: Event, event_type: str, extra: dict[str, Any], line: bytes, start: int
) -> None:
    """Harmonise the sections that are rarer than alert, http, tls, dns and fileinfo."""
    if record.quic is not None:
        _quic(record.quic, event, extra)
    if record.ssh is not None:
        if record.ssh.client is not None and record.ssh.client.software_version is not None:
            extra["ssh_client_software"] = record.ssh.client.software_version
        if record.ssh.server is not None and record.ssh.server.software_version is not None:
            extra["ssh_server_software"] = record.ssh.server.software_version
    if record.smtp is not None:
        if record.smtp.helo is not None:
            extra["smtp_helo"] = record.smtp.helo
        if record.smtp.mail_from is not None:
            extra["smtp_mail_from"] = record.smtp.mail_from
    if event_type == "flow" or event_type == "netflow":
        section = record.flow if event_type == "flow" else record.netflow
        flow = None
        if section is not NO_SECTION:  # identity: len() of a Raw costs more than a decode
            flow = decode_section(FLOW_DECODER, section, event_type)
        if flow is not None:
            _flow(flow, extra)
    elif event_type in GENERIC_SECTIONS:
        try:
            sections = SECTIONS_DECODER.decode(line)
        except DECODE_ERRORS as exc:
            raise decode_error(exc, line, "", start) from None
        section = getattr(sections, event_type)
        if section is not NO_SECTION:
            if event_type in ("mdns", "llmnr") and record.dns is None:
                dns = decode_section(DNS_DECODER, section, event_type)
                if dns is not None:
                    _dns(dns, event, extra)
            values = decode_section(ANY_DECODER, section, event_type)
            if values is not None:
                extra[event_type] = _scalars(values)
    elif event_type not in _KNOWN:
        # An event type this parser does not know: keep its whole section.
        try:
            document = ANY_DECODER.decode(line)
        except DECODE_ERRORS as exc:
            raise decode_error(exc, line, "", start) from None
        section = document.get(event_type)
        if section is None:
            section = document.get(event_type.replace("-", "_"))
        if section is not None:
            extra[event_type] = section


def _flow(flow: Flow, extra: dict[str, Any]) -> None:
    if flow.pkts_toserver is not None:
        extra["flow_pkts_toserver"] = flow.pkts_toserver
    if flow.pkts_toclient is not None:
        extra["flow_pkts_toclient"] = flow.pkts_toclient
    if flow.bytes_toserver is not None:
        extra["flow_bytes_toserver"] = flow.bytes_toserver
    if flow.bytes_toclient is not None:
        extra["flow_bytes_toclient"] = flow.bytes_toclient
    if flow.pkts is not None:
        extra["flow_pkts"] = flow.pkts
    if flow.bytes is not None:
        extra["flow_bytes"] = flow.bytes
    if flow.age is not None:
        extra["flow_age"] = flow.age
    if flow.state is not None:
        extra["flow_state"] = flow.state
    if flow.reason is not None:
        extra["flow_reason"] = flow.reason
    if flow.alerted is not None:
        extra["flow_alerted"] = flow.alerted


def _http(http: Http, event: Event, extra: dict[str, Any]) -> None:
    host = host_name(http.hostname)
    event.http_host = host
    url = http.url
    if url is None or url[:1] == "/":
        if host is not None:
            authority = f"[{host}]" if ":" in host else host
            if http.http_port is not None and http.http_port != 80:
                authority = f"{authority}:{http.http_port}"
            event.destination_url = f"http://{authority}{url or '/'}"
    elif "://" in url:  # a proxy request: the URL is already absolute
        event.destination_url = url
    # else CONNECT's authority or OPTIONS' "*": no URL to build.
    if http.http_method is not None:
        extra["http_method"] = http.http_method
    if http.status is not None:
        extra["http_status"] = http.status
    if http.http_user_agent is not None:
        extra["http_user_agent"] = http.http_user_agent


def _tls(tls: Tls, event: Event, extra: dict[str, Any]) -> None:
    event.tls_sni = host_name(tls.sni)
    if tls.ja3 is not None and tls.ja3.hash:
        event.tls_ja3 = tls.ja3.hash.lower()
    if tls.ja3s is not None and tls.ja3s.hash:
        event.tls_ja3s = tls.ja3s.hash.lower()
    event.tls_ja4 = tls.ja4 or None
    if tls.version is not None:
        extra["tls_version"] = tls.version
    if tls.subject is not None:
        extra["tls_subject"] = tls.subject
    if tls.issuerdn is not None:
        extra["tls_issuerdn"] = tls.issuerdn
    if tls.fingerprint is not None:
        extra["tls_fingerprint"] = tls.fingerprint


def _quic(quic: Quic, event: Event, extra: dict[str, Any]) -> None:
    event.tls_sni = event.tls_sni or host_name(quic.sni)
    if event.tls_ja3 is None and quic.ja3 is not None and quic.ja3.hash:
        event.tls_ja3 = quic.ja3.hash.lower()
    if event.tls_ja3s is None and quic.ja3s is not None and quic.ja3s.hash:
        event.tls_ja3s = quic.ja3s.hash.lower()
    event.tls_ja4 = event.tls_ja4 or quic.ja4 or None
    if quic.version is not None:
        extra["quic_version"] = quic.version


def _dns(dns: Dns, event: Event, extra: dict[str, Any]) -> None:
    queries = dns.queries or dns.query
    if queries:
        query, rrtype = queries[0].rrname, queries[0].rrtype
    elif dns.answer is not None:
        query, rrtype = dns.answer.rrname, dns.answer.rrtype
    else:
        query, rrtype = dns.rrname, dns.rrtype
    event.dns_query = host_name(query)
    if dns.type is not None:
        extra["dns_type"] = dns.type
    if rrtype is not None:
        extra["dns_rrtype"] = rrtype
    if dns.rcode is not None:
        extra["dns_rcode"] = dns.rcode
    answers: list[str] = []
    if dns.rdata is not None:
        answers.append(dns.rdata)
    if dns.answers:
        answers.extend(answer.rdata for answer in dns.answers if answer.rdata is not None)
    elif dns.grouped:  # the same records again when both formats are enabled
        for values in dns.grouped.values():
            answers.extend(value for value in values if isinstance(value, str))
    if answers:
        extra["dns_answers"] = answers[:_MAX_ANSWERS]


def _file(info: Fileinfo | None, event: Event, extra: dict[str, Any]) -> None:
    if info is None:
        return
    event.malware_hash_md5 = info.md5.lower() if info.md5 else None
    event.malware_hash_sha1 = info.sha1.lower() if info.sha1 else None
    event.malware_hash_sha256 = info.sha256.lower() if info.sha256 else None
    if info.filename is not None:
        extra["file_name"] = info.filename
    if info.size is not None:
        extra["file_size"] = info.size


def _scalars(section: Any) -> dict[str, Any]:
    """Return the scalar values of a protocol section, nested objects flattened one level."""
    values: dict[str, Any] = {}
    if not isinstance(section, dict):
        section = {"value": section}
    for key, value in section.items():
        items = value.items() if isinstance(value, dict) else ((None, value),)
        for sub, item in items:
            if isinstance(item, str):
                item = item[:_MAX_GENERIC_TEXT]
            elif item is None or isinstance(item, dict | list):
                continue
            values[key if sub is None else f"{key}.{sub}"] = item
            if len(values) >= _MAX_GENERIC_VALUES:
                return values
    return values


def _replace_nul(event: Event) -> None:
    """Replace U+0000 by U+FFFD in every string of the event but raw (PostgreSQL rejects NUL)."""
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if name != "raw" and isinstance(value, str) and "\x00" in value:
            setattr(event, name, value.replace("\x00", "\ufffd"))
    event.extra = _replace_nul_in(event.extra)


def _replace_nul_in(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_replace_nul_in(key): _replace_nul_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_nul_in(item) for item in value]
    return value


def _sensor_stats(
    record: EveRecord, time_source: datetime, sensor: str | None, raw: str
) -> SensorStats:
    stats = None
    if record.stats is not NO_SECTION:
        stats = decode_section(STATS_DECODER, record.stats, "stats")
    if stats is None:
        raise ParseError("stats event without a stats section")
    capture, detect = stats.capture, stats.detect
    return SensorStats(
        sensor=sensor,
        time_source=time_source,
        uptime_seconds=stats.uptime,
        packets=None if capture is None else capture.kernel_packets,
        drops=None if capture is None else capture.kernel_drops,
        alerts=None if detect is None else detect.alert,
        raw=raw,
    )
