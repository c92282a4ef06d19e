"""The one event model every source is parsed into, and the parser contract.

Field names follow IntelMQ's data format wherever it has one (`source.ip` is `source_ip` here,
because Python attributes cannot hold dots); `FIELDS` maps each attribute to its dotted name,
its meaning, and is what docs/events.md is generated from. Events are msgspec Structs because
the pipeline builds hundreds of thousands a second and msgspec builds them several times
faster than dataclasses or dicts (../shared/LIMITS.md).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

import msgspec


class EventKind(StrEnum):
    """What kind of observation an event is."""

    ALERT = "alert"  # a sensor's signature fired (EVE alert)
    ANOMALY = "anomaly"  # a sensor saw malformed or unexpected protocol data (EVE anomaly)
    DROP = "drop"  # a sensor in IPS mode dropped a packet (EVE drop)
    PROTOCOL = "protocol"  # a protocol record (dns, http, tls, flow, ...) kept as evidence
    REPORT = "report"  # a row of an external report (Shadowserver)


class Severity(IntEnum):
    """How urgent an event or alert is; higher is worse."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One observation, harmonised. Only `time_observation`, `feed_name`, `kind`,
    the classification and `raw` are always present."""

    kind: EventKind
    time_observation: datetime
    time_source: datetime | None = None
    feed_name: str
    feed_provider: str = ""
    feed_code: str = ""  # the report type (Shadowserver) or event type (EVE)
    classification_taxonomy: str
    classification_type: str
    classification_identifier: str = ""
    event_description_text: str = ""  # the signature or report description
    severity: Severity = Severity.LOW
    source_ip: str | None = None
    source_port: int | None = None
    source_asn: int | None = None
    source_fqdn: str | None = None
    source_url: str | None = None
    source_reverse_dns: str | None = None
    destination_ip: str | None = None
    destination_port: int | None = None
    destination_asn: int | None = None
    destination_fqdn: str | None = None
    destination_url: str | None = None
    protocol_transport: str | None = None
    protocol_application: str | None = None
    malware_name: str | None = None
    malware_hash_md5: str | None = None
    malware_hash_sha1: str | None = None
    malware_hash_sha256: str | None = None
    tls_ja3: str | None = None
    tls_ja3s: str | None = None
    tls_ja4: str | None = None
    tls_sni: str | None = None
    http_host: str | None = None
    dns_query: str | None = None
    sensor: str | None = None
    tlp: str = "AMBER"
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    raw: str = ""
    # Filled in by the pipeline, not by parsers:
    source_member: int | None = None
    destination_member: int | None = None
    matched_indicators: list[int] = msgspec.field(default_factory=list)
    fingerprint: str = ""


class SensorStats(msgspec.Struct, kw_only=True):
    """A sensor's own health report (EVE `stats`): not an event, feeds the sensor registry."""

    sensor: str | None
    time_source: datetime
    uptime_seconds: int | None = None
    packets: int | None = None
    drops: int | None = None
    alerts: int | None = None
    raw: str = ""


class ParseError(ValueError):
    """A record that cannot become an event. The message says what is wrong with it, precisely
    enough that whoever reads the quarantine knows what to fix."""


# attribute -> (IntelMQ-style dotted name, description). Kept as data: it generates the docs
# and the IntelMQ-compatible export, and a test checks it covers every field of Event.
FIELDS: dict[str, tuple[str, str]] = {
    "kind": ("event.kind", "alert, anomaly, drop, protocol or report"),
    "time_observation": ("time.observation", "When Vardeild received the record (UTC)"),
    "time_source": (
        "time.source",
        "When the source saw it (UTC; EVE times without offset are UTC)",
    ),
    "feed_name": ("feed.name", "The feed: suricata, shadowserver, ..."),
    "feed_provider": ("feed.provider", "Who runs the feed"),
    "feed_code": ("feed.code", "The report type (Shadowserver) or EVE event type"),
    "classification_taxonomy": ("classification.taxonomy", "RSIT taxonomy"),
    "classification_type": ("classification.type", "RSIT type"),
    "classification_identifier": (
        "classification.identifier",
        "What exactly: a signature id, a vulnerability, a malware family",
    ),
    "event_description_text": ("event_description.text", "The signature or report description"),
    "severity": ("extra.severity", "0 info, 1 low, 2 medium, 3 high, 4 critical"),
    "source_ip": ("source.ip", "Source address"),
    "source_port": ("source.port", "Source port"),
    "source_asn": ("source.asn", "Source AS number"),
    "source_fqdn": ("source.fqdn", "Source host name"),
    "source_url": ("source.url", "Source URL"),
    "source_reverse_dns": ("source.reverse_dns", "Reverse DNS of the source"),
    "destination_ip": ("destination.ip", "Destination address"),
    "destination_port": ("destination.port", "Destination port"),
    "destination_asn": ("destination.asn", "Destination AS number"),
    "destination_fqdn": ("destination.fqdn", "Destination host name"),
    "destination_url": ("destination.url", "Destination URL"),
    "protocol_transport": ("protocol.transport", "tcp, udp, icmp, ..."),
    "protocol_application": ("protocol.application", "http, dns, tls, ssh, ..."),
    "malware_name": ("malware.name", "Malware family, lower case"),
    "malware_hash_md5": ("malware.hash.md5", "MD5 of a file seen"),
    "malware_hash_sha1": ("malware.hash.sha1", "SHA-1 of a file seen"),
    "malware_hash_sha256": ("malware.hash.sha256", "SHA-256 of a file seen"),
    "tls_ja3": ("extra.tls.ja3", "JA3 client fingerprint (MD5 hex)"),
    "tls_ja3s": ("extra.tls.ja3s", "JA3S server fingerprint (MD5 hex)"),
    "tls_ja4": ("extra.tls.ja4", "JA4 client fingerprint"),
    "tls_sni": ("extra.tls.sni", "TLS server name indication"),
    "http_host": ("extra.http.host", "HTTP Host header"),
    "dns_query": ("extra.dns.query", "DNS query name"),
    "sensor": ("extra.sensor", "The sensor that reported it"),
    "tlp": ("tlp", "TLP 2.0 label: CLEAR, GREEN, AMBER, AMBER+STRICT, RED"),
    "extra": ("extra", "Source-specific fields that have no harmonised name"),
    "raw": ("raw", "The original record, as received"),
    "source_member": ("source.member", "Member organisation owning the source (attributed)"),
    "destination_member": (
        "destination.member",
        "Member organisation owning the destination (attributed)",
    ),
    "matched_indicators": ("extra.matched_indicators", "Ids of indicators the event matched"),
    "fingerprint": (
        "event.fingerprint",
        "Stable hash identifying the event; makes ingest idempotent",
    ),
}


# The events table's columns (monitoring.tables.EventRow) in the order both stores write them
# (store_pg, store_sqlite), and the order of the Shadowserver lane's rows
# (parsers/shadowserver_lane.py, _report_lane.c).
EVENT_COLUMNS = (
    "id",
    "fingerprint",
    "time_source",
    "time_observation",
    "kind",
    "feed_name",
    "feed_code",
    "classification_taxonomy",
    "classification_type",
    "classification_identifier",
    "severity",
    "source_ip",
    "source_port",
    "destination_ip",
    "destination_port",
    "source_member_id",
    "destination_member_id",
    "sensor",
    "alert_id",
    "data",
    "raw",
)

# Where each column stands in a row of values (a lane row, a store's insert).
EVENT_POSITION: dict[str, int] = {name: n for n, name in enumerate(EVENT_COLUMNS)}

# The Event fields that have columns of their own (the member columns carry `_id`), raw
# included. The stored JSON, `events.data`, leaves them out (alerts.stored_event puts them back):
# on the EVE bench data fell from 777 to 321 bytes an event on average (raw: 586).
COLUMN_FIELDS: frozenset[str] = frozenset(
    {"source_member_id": "source_member", "destination_member_id": "destination_member"}.get(c, c)
    for c in EVENT_COLUMNS
    if c not in ("id", "alert_id", "data")
)


def _stored_data_fields() -> list[tuple[str, Any, Any]]:
    """Event's other fields, in its order, with its defaults (so that `omit_defaults` leaves
    out the same values); typed Any, because the values come from an Event already."""
    stored: list[tuple[str, Any, Any]] = []
    for field in msgspec.structs.fields(Event):
        if field.name in COLUMN_FIELDS:
            continue
        if field.default_factory is not msgspec.NODEFAULT:
            default = msgspec.field(default_factory=field.default_factory)
        else:
            default = field.default
        stored.append((field.name, Any, default))
    return stored


# What `events.data` holds: msgspec.convert(event, StoredEventData, from_attributes=True).
StoredEventData = msgspec.defstruct(
    "StoredEventData", _stored_data_fields(), kw_only=True, omit_defaults=True, gc=False
)
