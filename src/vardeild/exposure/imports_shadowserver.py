"""Shadowserver's scan reports (`scan_*`, vulnerable hosts) into exposures: the events the
monitoring pipeline already stored for a member, read through monitoring's event read service
(monitoring.event_reads), never its tables.

A Shadowserver scan event names the member's own host as `source.ip`, with the port, transport
and application it answered on; what the report knew of the service rides in `extra` (server
header, product, version, TLS certificate names and expiry, tags with CVE ids). A report that
is about a weakness (`classification.taxonomy` vulnerable) becomes a reported weakness of the
exposure, so that it shows in the inventory even without a CVE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.exposure.model import (
    ObservedService,
    ParsedScan,
    ReportedWeakness,
    Source,
    TlsFacts,
    Transport,
    canonical_address,
    clip,
)
from vardeild.monitoring.event_reads import iter_member_events

_CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_WEAK_BY_REPORT = {"scan_ssl_poodle": "SSLv3", "scan_ssl_freak": "EXPORT ciphers"}


def _extra(event: Mapping[str, Any]) -> Mapping[str, Any]:
    extra = event.get("extra")
    return extra if isinstance(extra, Mapping) else {}


def _product(extra: Mapping[str, Any]) -> tuple[str, str]:
    product = str(extra.get("product") or "").strip()
    version = str(extra.get("version") or "").strip()
    if not product:
        server = str(extra.get("server") or extra.get("http_server") or "").strip()
        if server:
            name, _, rest = server.partition("/")
            product, version = name.strip(), version or rest.split(" ")[0].strip()
    return product, version


def _tls(code: str, extra: Mapping[str, Any]) -> TlsFacts | None:
    subject = str(extra.get("subject_common_name") or "")
    issuer = str(extra.get("issuer_common_name") or "")
    expiry = str(extra.get("cert_expiration_date") or "")
    weak = _WEAK_BY_REPORT.get(code)
    if not (subject or issuer or expiry or weak):
        return None
    not_after = None
    if expiry:
        try:
            parsed = datetime.fromisoformat(expiry.replace("Z", "+00:00"))
            not_after = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            not_after = None
    return TlsFacts(
        issuer=clip(f"commonName={issuer}" if issuer else ""),
        subject=clip(f"commonName={subject}" if subject else ""),
        not_after=not_after,
        weak_protocols=(weak,) if weak == "SSLv3" else (),
        weak_ciphers=(weak,) if weak and weak != "SSLv3" else (),
    )


def observed_from_event(event: Mapping[str, Any]) -> ObservedService:
    """Return the exposure a Shadowserver scan event shows; ValueError says why it shows none."""
    address = canonical_address(str(event.get("source_ip") or ""))
    if address is None:
        raise ValueError(f"source_ip {event.get('source_ip')!r} is not an IP address")
    port = event.get("source_port")
    if port is None:
        port = 0
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"source_port {port!r} is not a port")
    try:
        transport = Transport(str(event.get("protocol_transport") or "tcp").lower())
    except ValueError:
        raise ValueError(
            f"protocol_transport {event.get('protocol_transport')!r} is not tcp or udp"
        ) from None
    extra = _extra(event)
    code = str(event.get("feed_code") or "")
    product, version = _product(extra)
    weaknesses: tuple[ReportedWeakness, ...] = ()
    if event.get("classification_taxonomy") == "vulnerable" or _CVE.search(str(extra)):
        cves = sorted({m.upper() for m in _CVE.findall(" ".join(str(v) for v in extra.values()))})
        weaknesses = (
            ReportedWeakness(
                reference=f"shadowserver:{code}",
                title=clip(str(event.get("event_description_text") or code)),
                cve_ids=tuple(cves),
            ),
        )
    return ObservedService(
        address=address,
        port=port,
        transport=transport,
        service=clip(str(event.get("protocol_application") or ""), 100),
        product=clip(product, 200),
        version=clip(version, 100),
        hostname=clip(str(event.get("source_reverse_dns") or ""), 253).lower(),
        banner=clip(str(extra.get("banner") or extra.get("server") or ""), 1000),
        http_title=clip(str(extra.get("http_title") or extra.get("title") or "")),
        tls=_tls(code, extra),
        weaknesses=weaknesses,
    )


def is_scan_event(event: Mapping[str, Any]) -> bool:
    """Return True for a Shadowserver scan or vulnerable-host report event."""
    code = str(event.get("feed_code") or "")
    return event.get("feed_name") == "shadowserver" and (
        code.startswith("scan") or event.get("classification_taxonomy") == "vulnerable"
    )


def scan_from_events(events: Iterable[Mapping[str, Any]], name: str) -> ParsedScan:
    """Return the exposures the Shadowserver scan events show; others are skipped, bad ones
    refused naming the event."""
    scan = ParsedScan(source=Source.SHADOWSERVER, name=name)
    for index, event in enumerate(events, start=1):
        if not is_scan_event(event):
            continue
        record = f"{name} event #{index} ({event.get('feed_code')}, {event.get('source_ip')})"
        try:
            scan.services.append(observed_from_event(event))
        except ValueError as exc:
            scan.refuse(record, str(exc))
    return scan


def member_scan_events(
    session: Session, principal: Principal, member_id: int, *, since: datetime | None
) -> list[dict[str, Any]]:
    """Return every Shadowserver event stored for the member (not only its alerts' samples),
    through monitoring's read service; PermissionDenied/NotFound for another member's, as that
    service answers."""
    return list(
        iter_member_events(session, principal, member_id, feed_name="shadowserver", since=since)
    )
