"""The layout of a Suricata EVE record, as typed msgspec Structs, and how its values are read.

Only the members the EVE parser reads are declared: msgspec skips every other key without
building Python objects for it, which is what makes typed decoding several times faster than
decoding into dicts (../shared/LIMITS.md). Sections that only some event types need are kept as
`msgspec.Raw` (the undecoded bytes) and decoded when the event type asks for them. Every member
is optional, and JSON `null` reads as absent. Types follow Suricata's EVE schema
(etc/schema.json); where Suricata's own documentation shows another type for the same key (an
HTTP status written as a string), the union admits both.

Below the layout: decoding with every failure turned into a ParseError with a precise reason,
and the readers of timestamps, addresses, ports and host names (rules in eve.py's docstring).
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

import msgspec

from vardeild.monitoring.model import ParseError

# An absent section is this very object (msgspec hands out the default as it is), so
# `section is NO_SECTION` tells, without touching the Raw's buffer (len() of a Raw costs more
# than a small decode). A section written as null is Raw(b"null"): section decoders admit None.
NO_SECTION = msgspec.Raw()
# Counters, ids and sizes: non-negative and within int64 (what PostgreSQL bigint holds);
# beyond is a ParseError.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
# Sections are frozen and gc=False: they hold no cycles, so the collector need not track them.


class AlertMetadata(msgspec.Struct, frozen=True, gc=False):
    """The rule's `metadata` keyword (Suricata 6+); ET rules write lists of strings."""

    signature_severity: list[str] | None = None
    malware_family: list[str] | None = None


class Endpoint(msgspec.Struct, frozen=True, gc=False):
    """`alert.source` / `alert.target`, written when the rule uses the `target` keyword."""

    ip: str | None = None
    port: int | None = None


class Alert(msgspec.Struct, frozen=True, gc=False):
    """The `alert` section of an alert event."""

    action: str | None = None
    gid: Count | None = None
    signature_id: Count | None = None
    rev: Count | None = None
    signature: str | None = None
    category: str | None = None
    severity: int | None = None
    metadata: AlertMetadata | None = None
    source: Endpoint | None = None
    target: Endpoint | None = None


class Anomaly(msgspec.Struct, frozen=True, gc=False):
    """The `anomaly` section: a decoder, stream or app-layer event."""

    type: str | None = None
    event: str | None = None
    layer: str | None = None
    app_proto: str | None = None
    code: int | None = None


class Drop(msgspec.Struct, frozen=True, gc=False):
    """The `drop` section (IPS mode)."""

    reason: str | None = None
    len: int | None = None


class Verdict(msgspec.Struct, frozen=True, gc=False):
    """The `verdict` object of Suricata 7+ (alert, drop, pass)."""

    action: str | None = None


class Http(msgspec.Struct, frozen=True, gc=False):
    """The `http` section (HTTP/1 and, nested under `http2`, HTTP/2)."""

    hostname: str | None = None
    http_port: int | None = None
    url: str | None = None
    http_user_agent: str | None = None
    http_method: str | None = None
    status: int | str | None = None


class Fingerprint(msgspec.Struct, frozen=True, gc=False):
    """A JA3 or JA3S object: the MD5 `hash` and the `string` it was computed from."""

    hash: str | None = None


class Tls(msgspec.Struct, frozen=True, gc=False):
    """The `tls` section; `ja4` is a plain string (Suricata 7.0.? with JA4 enabled, 8)."""

    sni: str | None = None
    version: str | None = None
    subject: str | None = None
    issuerdn: str | None = None
    fingerprint: str | None = None
    ja3: Fingerprint | None = None
    ja3s: Fingerprint | None = None
    ja4: str | None = None


class Quic(msgspec.Struct, frozen=True, gc=False):
    """The `quic` section, which carries the same client fingerprints as TLS."""

    sni: str | None = None
    version: str | None = None
    ja3: Fingerprint | None = None
    ja3s: Fingerprint | None = None
    ja4: str | None = None


class DnsQuery(msgspec.Struct, frozen=True, gc=False):
    """One query: an element of v3 `queries`, or of the v2-era alert `query` list."""

    rrname: str | None = None
    rrtype: str | None = None


class DnsAnswer(msgspec.Struct, frozen=True, gc=False):
    """One resource record of a v2/v3 `answers` list."""

    rrname: str | None = None
    rrtype: str | None = None
    rdata: str | None = None


class Dns(msgspec.Struct, frozen=True, gc=False):
    """The `dns` section in all of its layouts.

    v1 (Suricata <= 6 default, one record per query or answer): type query|answer with rrname,
    rrtype, rcode, ttl and rdata at the top. v2 (6-7): type answer with rrname/rrtype at the
    top and `answers` (detailed) and/or `grouped` (by rrtype); queries as in v1. Alerts of 7
    carry `query` (a list) or `answer` (an object). v3 (8 default): type request|response,
    `queries` list, `answers` list, no top-level rrname.
    """

    version: int | None = None
    type: str | None = None
    rrname: str | None = None
    rrtype: str | None = None
    rcode: str | None = None
    rdata: str | None = None
    queries: list[DnsQuery] | None = None
    query: list[DnsQuery] | None = None
    answer: DnsQuery | None = None
    answers: list[DnsAnswer] | None = None
    grouped: dict[str, list[Any]] | None = None


class Fileinfo(msgspec.Struct, frozen=True, gc=False):
    """The `fileinfo` section, also the elements of an alert's `files` list."""

    filename: str | None = None
    size: Count | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    magic: str | None = None


class SshEnd(msgspec.Struct, frozen=True, gc=False):
    """One side of an SSH handshake."""

    software_version: str | None = None
    proto_version: str | None = None


class Ssh(msgspec.Struct, frozen=True, gc=False):
    """The `ssh` section."""

    client: SshEnd | None = None
    server: SshEnd | None = None


class Smtp(msgspec.Struct, frozen=True, gc=False):
    """The `smtp` section (the `email` section beside it is left in `raw`)."""

    helo: str | None = None
    mail_from: str | None = None


class Flow(msgspec.Struct, frozen=True, gc=False):
    """The `flow` section of a flow or netflow event."""

    pkts_toserver: Count | None = None
    pkts_toclient: Count | None = None
    bytes_toserver: Count | None = None
    bytes_toclient: Count | None = None
    pkts: Count | None = None
    bytes: Count | None = None
    age: int | None = None
    state: str | None = None
    reason: str | None = None
    alerted: bool | None = None


class Capture(msgspec.Struct, frozen=True, gc=False):
    """`stats.capture`: what the kernel handed to Suricata and what it dropped."""

    kernel_packets: Count | None = None
    kernel_drops: Count | None = None


class Detect(msgspec.Struct, frozen=True, gc=False):
    """`stats.detect`."""

    alert: Count | None = None


class Stats(msgspec.Struct, frozen=True, gc=False):
    """The `stats` section: only the counters a sensor's health needs."""

    uptime: Count | None = None
    capture: Capture | None = None
    detect: Detect | None = None


class EveRecord(msgspec.Struct, gc=False):
    """One EVE line: the common part, and each section the parser may harmonise."""

    timestamp: str | None = None
    event_type: str | None = None
    src_ip: str | None = None
    src_port: int | str | None = None
    dest_ip: str | None = None
    dest_port: int | str | None = None
    proto: str | int | None = None
    flow_id: Count | None = None
    community_id: str | None = None
    in_iface: str | None = None
    app_proto: str | None = None
    direction: str | None = None
    host: str | None = None
    pkt_src: str | None = None
    tx_guessed: bool | None = None
    verdict: Verdict | None = None
    # Raw: the parser looks the section's bytes up among alerts it has seen (see eve.py).
    alert: msgspec.Raw = NO_SECTION
    anomaly: Anomaly | None = None
    drop: Drop | None = None
    http: Http | None = None
    tls: Tls | None = None
    quic: Quic | None = None
    dns: Dns | None = None
    fileinfo: Fileinfo | None = None
    files: list[Fileinfo] | None = None
    ssh: Ssh | None = None
    smtp: Smtp | None = None
    flow: msgspec.Raw = NO_SECTION
    netflow: msgspec.Raw = NO_SECTION
    stats: msgspec.Raw = NO_SECTION


class ProtocolSections(msgspec.Struct, gc=False):
    """The sections of protocols the parser keeps only the scalar values of (see eve.py).

    They are not members of EveRecord: every member makes msgspec's key lookup longer for every
    line, while these are only read for their own event types, with a second decode.
    """

    arp: msgspec.Raw = NO_SECTION
    bittorrent_dht: msgspec.Raw = NO_SECTION
    dcerpc: msgspec.Raw = NO_SECTION
    dhcp: msgspec.Raw = NO_SECTION
    dnp3: msgspec.Raw = NO_SECTION
    doh2: msgspec.Raw = NO_SECTION
    enip: msgspec.Raw = NO_SECTION
    frame: msgspec.Raw = NO_SECTION
    ftp: msgspec.Raw = NO_SECTION
    ftp_data: msgspec.Raw = NO_SECTION
    http2: msgspec.Raw = NO_SECTION
    ike: msgspec.Raw = NO_SECTION
    ikev2: msgspec.Raw = NO_SECTION
    imap: msgspec.Raw = NO_SECTION
    krb5: msgspec.Raw = NO_SECTION
    ldap: msgspec.Raw = NO_SECTION
    llmnr: msgspec.Raw = NO_SECTION
    mdns: msgspec.Raw = NO_SECTION
    modbus: msgspec.Raw = NO_SECTION
    mqtt: msgspec.Raw = NO_SECTION
    nfs: msgspec.Raw = NO_SECTION
    ntp: msgspec.Raw = NO_SECTION
    pgsql: msgspec.Raw = NO_SECTION
    pop3: msgspec.Raw = NO_SECTION
    rdp: msgspec.Raw = NO_SECTION
    rfb: msgspec.Raw = NO_SECTION
    sip: msgspec.Raw = NO_SECTION
    smb: msgspec.Raw = NO_SECTION
    snmp: msgspec.Raw = NO_SECTION
    telnet: msgspec.Raw = NO_SECTION
    tftp: msgspec.Raw = NO_SECTION
    websocket: msgspec.Raw = NO_SECTION


GENERIC_SECTIONS: frozenset[str] = frozenset(ProtocolSections.__struct_fields__)
RECORD_DECODER = msgspec.json.Decoder(EveRecord)
ALERT_DECODER = msgspec.json.Decoder(Alert)
SECTIONS_DECODER = msgspec.json.Decoder(ProtocolSections)
DNS_DECODER = msgspec.json.Decoder(Dns | None)
FLOW_DECODER = msgspec.json.Decoder(Flow | None)
STATS_DECODER = msgspec.json.Decoder(Stats | None)
ANY_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder()


# -- reading the values of a record ------------------------------------------------------------

DECODE_ERRORS: Final = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)
# A high surrogate escape not followed by a low one, or a low one not after a high one (a
# backslash before the escape would make it literal text).
_LONE_SURROGATE: Final = re.compile(
    rb"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_NOT_JSON_TOKENS: Final = (b"NaN", b"-Infinity", b"Infinity")
_JSON_KINDS: Final = {"str": "string", "int": "number", "float": "number", "bool": "boolean"}
# Canonical form of each address seen lately. Sensors see the same hosts over and over, and a
# dict hit costs a fifth of validating again; cleared whole when full, so it stays bounded.
addresses: dict[str, str] = {}
ADDRESS_CACHE_SIZE = 32_768
# UTC offsets ("+0100") of Suricata's timestamp layout, as timedeltas; at most 2,880 exist.
_offsets: dict[str, timedelta] = {}
_fromisoformat = datetime.fromisoformat
_inet_pton = socket.inet_pton
_inet_ntop = socket.inet_ntop
_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6


def line_error(exc: Exception, line: bytes, start: int) -> ParseError:
    """Return the ParseError for a line that failed to decode, as if without its line ending
    (which msgspec takes for whitespace, or for a bad character inside a cut string)."""
    stripped = line.rstrip(b"\r\n")
    if stripped is not line and isinstance(exc, msgspec.DecodeError):
        try:
            RECORD_DECODER.decode(stripped)
        except DECODE_ERRORS as again:
            exc = again
    return decode_error(exc, stripped, "", start)


def decode_error(exc: Exception, data: bytes, where: str, start: int = 0) -> ParseError:
    """Return the ParseError for a failure to decode `data` (the whole line, or the section
    named `where`); `start` is the offset of `data` in the line, for byte positions."""
    if isinstance(exc, msgspec.ValidationError):
        return ParseError(_validation_reason(str(exc), where))
    if isinstance(exc, RecursionError):
        return ParseError("JSON nested too deeply for the decoder")
    return ParseError(_malformed_reason(str(exc), data, start))


def decode_section(decoder: msgspec.json.Decoder[Any], data: bytes, where: str) -> Any:
    """Return `data` (the section named `where`, or with `where` empty the whole line) decoded
    with `decoder`; raise ParseError saying why it cannot be."""
    try:
        return decoder.decode(data)
    except DECODE_ERRORS as exc:
        raise decode_error(exc, data, where) from None


def _validation_reason(message: str, where: str) -> str:
    """Rewrite a msgspec ValidationError ("Expected `int`, got `str` - at `$.src_port`")."""
    text, _, path = message.partition(" - at `$")
    text = text.replace("`", "")
    if not path and not where:
        if text.startswith("Expected object, got "):
            got = text.rsplit(" ", 1)[1]
            return f"not a JSON object: the line is a JSON {_JSON_KINDS.get(got, got)}"
        return text
    field = (where + path.rstrip("`")).lstrip(".")
    return f"{field}: {text[0].lower()}{text[1:]}"


def _malformed_reason(message: str, data: bytes, start: int) -> str:
    """Rewrite a msgspec DecodeError into a reason naming what is wrong and where."""
    if not data.strip():
        return "empty line"
    surrogate = _LONE_SURROGATE.search(data)
    if surrogate is not None:  # msgspec reports these as truncation or a bad hex escape
        escape = surrogate.group().decode()
        return f"lone UTF-16 surrogate escape {escape} at byte {surrogate.start() + start}"
    if message == "Input data was truncated":
        return f"truncated JSON: the line ends inside a value after {len(data)} bytes"
    position = re.search(r"\(byte (\d+)\)", message)
    if position is not None:
        at = int(position.group(1))
        if "trailing characters" in message:
            at -= 1  # msgspec points one past the first trailing character
        for token in _NOT_JSON_TOKENS:
            if data.startswith(token, at) or data.startswith(token, at - 1):
                at = data.index(token, at - 1)
                return f"{token.decode()} is not valid JSON (byte {at + start})"
        found = repr(chr(data[at])) if 0 <= at < len(data) else "end of line"
        message = message.replace(position.group(), f"{found} (byte {at + start})")
    return message.replace("JSON is malformed: ", "malformed JSON: ")


def parse_timestamp(value: str) -> datetime:
    """Return an EVE timestamp as an aware UTC datetime (no offset means UTC); raise
    ParseError quoting the value when it is not an ISO 8601 date and time."""
    if len(value) == 31:
        # Suricata's own layout, 2024-01-02T03:04:05.123456+0100: parsed as UTC wall time and
        # shifted by the offset, remembered from the first line that had it (a third faster
        # than astimezone).
        offset = _offsets.get(value[26:])
        if offset is not None:
            try:
                return _fromisoformat(value[:26] + "+00:00") - offset
            except (ValueError, OverflowError):
                pass
    if len(value) >= 19 and (value[10] == "T" or value[10] == " "):
        try:
            parsed = _fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = _fromisoformat(value + "+00:00")  # faster than replace(tzinfo=)
            elif len(value) == 31 and value[19] == "." and value[26] in "+-":
                delta = parsed.utcoffset()
                if delta is not None:
                    _offsets[value[26:]] = delta
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    raise ParseError(f"timestamp: not an ISO 8601 date and time: {value[:60]!r}")


def address(value: str, field: str) -> str:
    """Return a valid IP address in canonical form (and remember it); raise ParseError
    naming the field."""
    try:
        if ":" in value:
            canonical = _inet_ntop(_AF_INET6, _inet_pton(_AF_INET6, value))
        else:
            # glibc's inet_pton accepts only canonical dotted quads (no leading zeros).
            _inet_pton(_AF_INET, value)
            canonical = value
    except (OSError, ValueError):
        raise ParseError(f"{field}: not an IP address: {value[:60]!r}") from None
    if len(addresses) >= ADDRESS_CACHE_SIZE:
        addresses.clear()
    addresses[value] = canonical
    return canonical


def port_number(value: int | str, field: str) -> int:
    """Return a port number 0-65535 from an integer or a string of 1-5 ASCII digits."""
    if isinstance(value, str) and 0 < len(value) <= 5 and value.isascii() and value.isdigit():
        port = int(value)
        if port <= 65535:
            return port
    raise ParseError(f"{field}: not a port number: {str(value)[:60]!r}")


def host_name(name: str | None) -> str | None:
    """Return a host name lower-cased without its trailing dot; None when nothing is left."""
    if not name:
        return None
    if name[-1] == ".":
        name = name[:-1]
    return name.lower() or None
