"""The exposure inventory's use cases: record what a scan or import saw for a member, find and
track the CVEs of each exposure, and list them for the member or the CERT.

`record_scan` is the one way in for every source. It attributes each service to the member
(its registered networks and domains; anything else is refused by name), upserts exposures
(re-importing the same file changes nothing but last-seen), asks the vulnerability knowledge
about each product and version, and keeps findings and their history. With `complete=True`
the run covered its scope wholly: what it no longer sees there is closed as fixed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.core.identifiers import domain_and_parents
from vardeild.exposure.knowledge import enrich
from vardeild.exposure.model import (
    FindingStatus,
    ObservedService,
    ParsedScan,
    Priority,
    SlaDays,
    Source,
)
from vardeild.exposure.nmap import ScanOptions
from vardeild.exposure.notices import notify_finding
from vardeild.exposure.tables import ExposureRow, FindingHistoryRow, FindingRow, ScanRunRow
from vardeild.exposure.tracking import (
    Matcher,
    close_as_fixed,
    expire_acceptances,
    product_version,
    set_status,
    sort_key,
    upsert_finding,
)
from vardeild.exposure.vuln_model import VulnMatch
from vardeild.members import service as members
from vardeild.members.model import Criticality
from vardeild.notify.service import NotifyConfig


@dataclass(frozen=True)
class ExposureConfig:
    """What the exposure domain needs from the settings."""

    sla: SlaDays = field(default_factory=SlaDays)
    scan: ScanOptions = field(default_factory=ScanOptions)
    max_addresses: int = 4096
    window: str = ""  # 'HH:MM-HH:MM' local time when scans may run; empty: any time
    notify_from: Priority = Priority.P2  # new findings at or above this queue a notice
    scan_timeout_seconds: float = 3600.0
    scan_every: timedelta = timedelta(days=7)  # between scheduled scans; zero: no schedule


@dataclass
class RecordResult:
    """What recording one scan or import did."""

    scan_id: int
    services: int = 0
    new_findings: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    fixed: list[int] = field(default_factory=list)
    gone: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)
    notices: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as data."""
        return {
            "scan_id": self.scan_id,
            "services": self.services,
            "new_findings": len(self.new_findings),
            "reopened": len(self.reopened),
            "fixed": len(self.fixed),
            "gone": self.gone,
            "notices": len(self.notices),
            "refused": self.refused,
        }


def _belongs(service: ObservedService, networks: list[Any], domains: set[str]) -> bool:
    try:
        ip = ipaddress.ip_address(service.address)
    except ValueError:
        return any(d in domains for d in domain_and_parents(service.address))
    return any(ip in net for net in networks)


def _member_facts(
    session: Session, principal: Principal, member_id: int
) -> tuple[Criticality, list[Any], set[str]]:
    organisation = members.get_organisation_or_raise(session, principal, member_id)
    networks = [ipaddress.ip_network(n["cidr"]) for n in organisation.get("networks", [])]
    domains = {d["name"] for d in organisation.get("domains", [])}
    return Criticality(organisation.get("criticality", "medium")), networks, domains


def reported_matches(service: ObservedService) -> list[VulnMatch]:
    """Return the CVEs the source itself named for a service, as matches saying who named them."""
    found: dict[str, VulnMatch] = {}
    for weakness in service.weaknesses:
        for cve in weakness.cve_ids:
            if cve in found:
                continue
            found[cve] = VulnMatch(
                cve_id=cve,
                reason=f"reported by {weakness.reference}: {weakness.title}"[:500],
                cvss_score=weakness.cvss_score,
                cvss_version=None,
                kev=False,
                kev_ransomware=False,
                kev_due_date=None,
                epss=None,
                epss_percentile=None,
                summary=weakness.title,
            )
    return list(found.values())


def _upsert_exposure(
    session: Session,
    member_id: int,
    service: ObservedService,
    source: Source,
    now: datetime,
    known: dict[tuple[str, int, str], ExposureRow],
) -> ExposureRow:
    row = known.get(service.key)
    if row is None:
        row = ExposureRow(
            member_id=member_id,
            address=service.address,
            port=service.port,
            transport=service.transport.value,
            first_seen=now,
            sources=[],
            tls_weak_protocols=[],
            tls_weak_ciphers=[],
        )
        session.add(row)
        known[service.key] = row
    # A later source fills in what it knows; an empty field never wipes what another saw.
    for name in ("service", "product", "version", "cpe", "banner", "hostname", "http_title"):
        value = getattr(service, name)
        if value or getattr(row, name) is None:
            setattr(row, name, value)
    if service.tls is not None:
        row.tls_issuer = service.tls.issuer
        row.tls_subject = service.tls.subject
        row.tls_not_after = service.tls.not_after
        row.tls_weak_protocols = list(service.tls.weak_protocols)
        row.tls_weak_ciphers = list(service.tls.weak_ciphers)
    for name in ("tls_issuer", "tls_subject"):
        if getattr(row, name) is None:
            setattr(row, name, "")
    if source.value not in (row.sources or []):
        row.sources = [*(row.sources or []), source.value]
    row.last_seen = now
    row.present = True
    return row


def record_scan(
    session: Session,
    principal: Principal,
    member_id: int,
    parsed: ParsedScan,
    *,
    matcher: Matcher | None,
    config: ExposureConfig,
    now: datetime,
    complete: bool = False,
    command: list[str] | None = None,
    notify: NotifyConfig | None = None,
) -> RecordResult:
    """Store what parsed saw for the member and track its findings; return what changed.

    Services outside the member's registered networks and domains are refused by name, the
    rest land. With `notify`, each new or reopened finding at or above the configured priority
    queues a notice. NotFound for an unknown member (or another member's, for a member
    principal)."""
    authorize(principal, Action.IMPORT, member_id)
    criticality, networks, domains = _member_facts(session, principal, member_id)
    refused = [{"record": r.record, "reason": r.reason} for r in parsed.refused]
    run = ScanRunRow(
        member_id=member_id,
        source=parsed.source.value,
        name=parsed.name[:2000],
        command=command or [],
        complete=complete,
        started_at=now,
        status="running",
        hosts=len(parsed.hosts),
        services=0,
        refused=[],
        error="",
        actor=principal.actor,
    )
    session.add(run)
    session.flush()
    result = RecordResult(scan_id=run.id)
    expire_acceptances(session, now=now, member_id=member_id)
    # The member's exposures and findings are read once, not per service: an import of
    # thousands of services would otherwise cost a query each.
    known_exposures = {
        (row.address, row.port, row.transport): row
        for row in session.scalars(select(ExposureRow).where(ExposureRow.member_id == member_id))
    }
    accepted: list[tuple[ObservedService, ExposureRow]] = []
    for service in parsed.services:
        where = f"{parsed.name} {service.address} port {service.port}/{service.transport.value}"
        if not _belongs(service, networks, domains):
            refused.append(
                {
                    "record": where,
                    "reason": f"{service.address} is not in the registered networks or domains "
                    f"of member {member_id}",
                }
            )
            continue
        exposure = _upsert_exposure(
            session, member_id, service, parsed.source, now, known_exposures
        )
        accepted.append((service, exposure))
        result.services += 1
    session.flush()  # ids for the new exposures
    seen_exposures = {exposure.id for _, exposure in accepted}
    seen_findings: set[int] = set()
    known_findings = {
        (row.exposure_id, row.cve_id): row
        for row in session.scalars(select(FindingRow).where(FindingRow.member_id == member_id))
    }
    reported = {
        m.cve_id: m for m in enrich(session, [m for s, _ in accepted for m in reported_matches(s)])
    }
    for service, exposure in accepted:
        for match in _matches_for(exposure, service, matcher, reported):
            finding, outcome = upsert_finding(
                session, exposure, match, criticality=criticality, actor=principal.actor,
                now=now, sla=config.sla, known=known_findings,
            )  # fmt: skip
            seen_findings.add(finding.id)
            if outcome == "new":
                result.new_findings.append(finding.id)
            elif outcome == "reopened":
                result.reopened.append(finding.id)
            if notify is not None and outcome != "seen":
                notice = notify_finding(
                    session, principal, finding, exposure, outcome=outcome,
                    threshold=config.notify_from, config=notify, now=now,
                )  # fmt: skip
                if notice is not None:
                    result.notices.append(notice)
    if complete:
        _close_unseen(session, member_id, parsed, seen_exposures, seen_findings, result, now)
    run.services = result.services
    run.refused = refused[:1000]
    run.status = "done"
    run.finished_at = now
    result.refused = refused
    record_change(
        session,
        clock=FixedClock(now),
        actor=principal.actor,
        action="import" if command is None else "scan",
        entity_type="exposure_scan",
        entity_id=run.id,
        organisation_id=member_id,
        before=None,
        after={"source": run.source, "name": run.name, "complete": complete, **result.as_dict()},
    )
    return result


def _matches_for(
    exposure: ExposureRow,
    service: ObservedService,
    matcher: Matcher | None,
    enriched: dict[str, VulnMatch],
) -> list[VulnMatch]:
    found = {m.cve_id: m for m in reported_matches(service)}
    for cve_id, match in found.items():
        known = enriched.get(cve_id)
        if known is not None:
            # The knowledge's facts, with this service's own reason (who reported it).
            found[cve_id] = replace(known, reason=match.reason)
    item = product_version(exposure)
    if matcher is not None and item is not None:
        for match in matcher.match(item):
            found[match.cve_id] = match  # the knowledge's facts win over a source's say-so
    return list(found.values())


def _inside(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _port_set(ports: str) -> set[int] | None:
    """Return the ports an nmap port list covers, or None when unknown (covers all)."""
    if not ports:
        return None
    covered: set[int] = set()
    for part in ports.replace("T:", "").replace("U:", "").split(","):
        low, _, high = part.partition("-")
        if low.isdigit():
            covered.update(range(int(low), int(high or low) + 1))
    return covered or None


def _close_unseen(
    session: Session,
    member_id: int,
    parsed: ParsedScan,
    seen_exposures: set[int],
    seen_findings: set[int],
    result: RecordResult,
    now: datetime,
) -> None:
    """Close what a complete run covered but no longer saw: exposures on covered hosts and
    ports, and findings of seen exposures that no longer apply (e.g. after an upgrade)."""
    ports = _port_set(parsed.scanned_ports)
    networks = [ipaddress.ip_network(cidr) for cidr in parsed.covered]
    note = f"not seen by the complete {parsed.source.value} run {parsed.name!r}"
    exposures = session.scalars(
        select(ExposureRow).where(ExposureRow.member_id == member_id, ExposureRow.present)
    )
    for exposure in exposures:
        if exposure.address not in parsed.hosts and not _inside(exposure.address, networks):
            continue
        if ports is not None and exposure.port not in ports:
            continue
        gone = exposure.id not in seen_exposures
        if gone:
            exposure.present = False
            result.gone += 1
        for finding in session.scalars(
            select(FindingRow).where(FindingRow.exposure_id == exposure.id)
        ):
            if (gone or finding.id not in seen_findings) and close_as_fixed(
                session, finding, actor="system", now=now, note=note
            ):
                result.fixed.append(finding.id)


# --- reading -------------------------------------------------------------------------------


def exposure_dict(row: ExposureRow) -> dict[str, Any]:
    """Return an exposure as data."""
    return {
        "id": row.id,
        "member_id": row.member_id,
        "address": row.address,
        "port": row.port,
        "transport": row.transport,
        "service": row.service,
        "product": row.product,
        "version": row.version,
        "cpe": row.cpe,
        "banner": row.banner,
        "hostname": row.hostname,
        "http_title": row.http_title,
        "tls": {
            "issuer": row.tls_issuer,
            "subject": row.tls_subject,
            "not_after": row.tls_not_after.isoformat() if row.tls_not_after else None,
            "weak_protocols": list(row.tls_weak_protocols or []),
            "weak_ciphers": list(row.tls_weak_ciphers or []),
        },
        "sources": list(row.sources or []),
        "present": row.present,
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
    }


def finding_dict(row: FindingRow, exposure: ExposureRow) -> dict[str, Any]:
    """Return a finding, with where it is, as data."""
    return {
        "id": row.id,
        "member_id": row.member_id,
        "exposure_id": row.exposure_id,
        "address": exposure.address,
        "port": exposure.port,
        "transport": exposure.transport,
        "product": exposure.product,
        "version": exposure.version,
        "cve_id": row.cve_id,
        "summary": row.summary,
        "reason": row.reason,
        "cvss_score": row.cvss_score,
        "cvss_version": row.cvss_version,
        "kev": row.kev,
        "kev_ransomware": row.kev_ransomware,
        "epss": row.epss,
        "priority": row.priority,
        "priority_basis": row.priority_basis,
        "due_on": row.due_on.isoformat(),
        "status": row.status,
        "status_reason": row.status_reason,
        "accepted_until": row.accepted_until.isoformat() if row.accepted_until else None,
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


def list_exposures(
    session: Session, principal: Principal, member_id: int, *, present_only: bool = True
) -> list[dict[str, Any]]:
    """Return the member's exposures by address and port; NotFound for another member's."""
    authorize(principal, Action.READ, member_id)
    stmt = select(ExposureRow).where(ExposureRow.member_id == member_id)
    if present_only:
        stmt = stmt.where(ExposureRow.present)
    rows = session.scalars(stmt.order_by(ExposureRow.address, ExposureRow.port))
    return [exposure_dict(row) for row in rows]


def finding_rows(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    statuses: Iterable[FindingStatus] | None = None,
) -> list[tuple[FindingRow, ExposureRow]]:
    """Return the member's findings with their exposures, most urgent first."""
    authorize(principal, Action.READ, member_id)
    stmt = (
        select(FindingRow, ExposureRow)
        .join(ExposureRow, ExposureRow.id == FindingRow.exposure_id)
        .where(FindingRow.member_id == member_id)
    )
    if statuses is not None:
        stmt = stmt.where(FindingRow.status.in_([s.value for s in statuses]))
    pairs = [(f, e) for f, e in session.execute(stmt)]
    pairs.sort(key=lambda pair: (sort_key(*pair), pair[0].id))
    return pairs


def list_findings(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    statuses: Iterable[FindingStatus] | None = None,
) -> list[dict[str, Any]]:
    """Return the member's findings as data, most urgent first."""
    return [
        finding_dict(f, e)
        for f, e in finding_rows(session, principal, member_id, statuses=statuses)
    ]


def get_finding_or_raise(session: Session, principal: Principal, finding_id: int) -> FindingRow:
    """Return the finding; NotFound if absent or another member's."""
    row = session.get(FindingRow, finding_id)
    if row is None or (not principal.is_cert and row.member_id != principal.organisation_id):
        raise NotFound(f"finding {finding_id} not found")
    authorize(principal, Action.READ, row.member_id)
    return row


def finding_history(
    session: Session, principal: Principal, finding_id: int
) -> list[dict[str, Any]]:
    """Return the finding's history, oldest first."""
    get_finding_or_raise(session, principal, finding_id)
    rows = session.scalars(
        select(FindingHistoryRow)
        .where(FindingHistoryRow.finding_id == finding_id)
        .order_by(FindingHistoryRow.id)
    )
    return [
        {
            "at": r.at.isoformat(),
            "actor": r.actor,
            "event": r.event,
            "from_status": r.from_status,
            "to_status": r.to_status,
            "note": r.note,
        }
        for r in rows
    ]


def change_status(
    session: Session,
    principal: Principal,
    finding_id: int,
    status: FindingStatus,
    *,
    reason: str,
    now: datetime,
    until: date | None = None,
) -> dict[str, Any]:
    """Accept a finding's risk (reason and a future expiry required), mark it a false positive
    (reason required) or reopen it; return the finding. ValidationFailed names what is wrong."""
    finding = get_finding_or_raise(session, principal, finding_id)
    authorize(principal, Action.EDIT, finding.member_id)
    record = f"finding {finding_id}"
    reason = reason.strip()
    if status is FindingStatus.FIXED:
        raise ValidationFailed.one(record, "status", "fixed is set by a complete rescan only")
    if status is not FindingStatus.OPEN and not reason:
        raise ValidationFailed.one(record, "reason", "is required")
    if status is FindingStatus.ACCEPTED_RISK and (until is None or until <= now.date()):
        raise ValidationFailed.one(record, "until", "an accepted risk needs a future expiry date")
    before = set_status(
        session, finding, status, reason=reason[:2000], until=until, actor=principal.actor, now=now
    )
    exposure = session.get(ExposureRow, finding.exposure_id)
    assert exposure is not None
    after = finding_dict(finding, exposure)
    record_change(
        session,
        clock=FixedClock(now),
        actor=principal.actor,
        action="update",
        entity_type="exposure_finding",
        entity_id=finding.id,
        organisation_id=finding.member_id,
        before=before,
        after={
            "status": after["status"],
            "reason": after["status_reason"],
            "until": after["accepted_until"],
        },
    )
    return after


def list_scans(session: Session, principal: Principal, member_id: int) -> list[dict[str, Any]]:
    """Return the member's scan runs and imports, newest first."""
    authorize(principal, Action.READ, member_id)
    rows = session.scalars(
        select(ScanRunRow).where(ScanRunRow.member_id == member_id).order_by(ScanRunRow.id.desc())
    )
    return [
        {
            "id": r.id,
            "source": r.source,
            "name": r.name,
            "complete": r.complete,
            "status": r.status,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "hosts": r.hosts,
            "services": r.services,
            "refused": r.refused,
            "error": r.error,
        }
        for r in rows
    ]
