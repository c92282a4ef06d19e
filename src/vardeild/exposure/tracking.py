"""Findings through their life: found, fixed when a complete rescan no longer sees them,
reopened when seen again, accepted (with a reason and an expiry) or a false positive; each step
a history row. The functions work on rows in the caller's session; `service` decides when.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.exposure.model import FindingStatus, Priority, SlaDays
from vardeild.exposure.priority import RiskFacts, ServiceExposure, prioritise, service_exposure
from vardeild.exposure.tables import ExposureRow, FindingHistoryRow, FindingRow
from vardeild.exposure.vuln_model import ProductVersion, VulnMatch
from vardeild.members.model import Criticality


class Matcher(Protocol):
    """What tracking needs of the vulnerability knowledge (`vuln_matcher.VulnMatcher`)."""

    def match(self, item: ProductVersion) -> list[VulnMatch]:
        """Return the CVEs that apply to item."""
        ...


def add_history(
    session: Session,
    finding: FindingRow,
    *,
    event: str,
    from_status: str | None,
    actor: str,
    at: datetime,
    note: str = "",
) -> None:
    """Add one history row for a change of finding."""
    session.add(
        FindingHistoryRow(
            finding_id=finding.id,
            at=at,
            actor=actor,
            event=event,
            from_status=from_status,
            to_status=finding.status,
            note=note[:2000],
        )
    )


def product_version(exposure: ExposureRow) -> ProductVersion | None:
    """Return what to ask the matcher about for an exposure; None if it saw no product."""
    if not exposure.cpe and not exposure.product:
        return None
    return ProductVersion(
        cpe=exposure.cpe or None,
        vendor=None,
        product=exposure.product or None,
        version=exposure.version or None,
    )


def apply_priority(
    finding: FindingRow,
    exposure: ExposureRow,
    criticality: Criticality,
    *,
    today: date,
    sla: SlaDays,
) -> bool:
    """Set the finding's priority, due date and basis; return True if the label changed.

    A finding keeps its due date while its label stays: the SLA clock starts when it is found,
    not at every rescan."""
    facts = RiskFacts(
        kev=finding.kev,
        kev_ransomware=finding.kev_ransomware,
        kev_due_date=finding.kev_due_date,
        epss=finding.epss,
        cvss=finding.cvss_score,
        exposure=service_exposure(exposure.port, exposure.service),
        criticality=criticality,
    )
    result = prioritise(facts, today=today, sla=sla)
    changed = finding.priority != result.priority.value
    finding.priority_basis = result.basis
    if changed or finding.due_on is None:
        finding.priority = result.priority.value
        finding.due_on = result.due_on
    return changed


def sort_key(finding: FindingRow, exposure: ExposureRow) -> tuple[float, ...]:
    """Return the key that orders findings most urgent first."""
    return (
        float(Priority(finding.priority).rank),
        -float(finding.kev_ransomware),
        -float(finding.kev),
        -(finding.epss or 0.0),
        -(finding.cvss_score or 0.0),
        -float(service_exposure(exposure.port, exposure.service) is ServiceExposure.SENSITIVE),
    )


def upsert_finding(
    session: Session,
    exposure: ExposureRow,
    match: VulnMatch,
    *,
    criticality: Criticality,
    actor: str,
    now: datetime,
    sla: SlaDays,
    known: dict[tuple[int, str], FindingRow] | None = None,
) -> tuple[FindingRow, str]:
    """Record that exposure has match's CVE; return the finding and what happened to it:
    'new', 'reopened' (it had been fixed), or 'seen'. `known` holds the member's findings by
    (exposure id, CVE) when the caller read them at once; a new finding is added to it."""
    if known is not None:
        finding = known.get((exposure.id, match.cve_id))
    else:
        finding = session.scalar(
            select(FindingRow).where(
                FindingRow.exposure_id == exposure.id, FindingRow.cve_id == match.cve_id
            )
        )
    outcome = "seen"
    if finding is None:
        finding = FindingRow(
            exposure_id=exposure.id,
            member_id=exposure.member_id,
            cve_id=match.cve_id,
            status=FindingStatus.OPEN.value,
            first_seen=now,
            last_seen=now,
            status_reason="",
        )
        outcome = "new"
    _copy_knowledge(finding, match)
    finding.last_seen = now
    apply_priority(finding, exposure, criticality, today=now.date(), sla=sla)
    if outcome == "new":
        session.add(finding)
        session.flush()
        if known is not None:
            known[(exposure.id, match.cve_id)] = finding
        add_history(
            session, finding, event="found", from_status=None, actor=actor, at=now,
            note=f"{finding.priority}: {finding.priority_basis}; {match.reason}",
        )  # fmt: skip
    elif finding.status == FindingStatus.FIXED.value:
        finding.status = FindingStatus.OPEN.value
        finding.closed_at = None
        finding.status_reason = "seen again"
        add_history(
            session, finding, event="reopened", from_status=FindingStatus.FIXED.value,
            actor=actor, at=now, note="seen again after it was fixed",
        )  # fmt: skip
        outcome = "reopened"
    return finding, outcome


def _copy_knowledge(finding: FindingRow, match: VulnMatch) -> None:
    finding.reason = match.reason[:2000]
    finding.summary = match.summary
    # A reported CVE carries only the source's score; keep what the knowledge said before.
    if match.cvss_score is not None or finding.cvss_score is None:
        finding.cvss_score = match.cvss_score
        finding.cvss_version = match.cvss_version
    finding.kev = match.kev or bool(finding.kev)
    finding.kev_ransomware = match.kev_ransomware or bool(finding.kev_ransomware)
    finding.kev_due_date = match.kev_due_date or finding.kev_due_date
    if match.epss is not None:
        finding.epss = match.epss
        finding.epss_percentile = match.epss_percentile


def close_as_fixed(
    session: Session, finding: FindingRow, *, actor: str, now: datetime, note: str
) -> bool:
    """Mark an open finding fixed (no longer seen); return False if it was not open."""
    if finding.status != FindingStatus.OPEN.value:
        return False
    finding.status = FindingStatus.FIXED.value
    finding.status_reason = note
    finding.closed_at = now
    add_history(
        session, finding, event="fixed", from_status=FindingStatus.OPEN.value, actor=actor,
        at=now, note=note,
    )  # fmt: skip
    return True


def set_status(
    session: Session,
    finding: FindingRow,
    status: FindingStatus,
    *,
    reason: str,
    until: date | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Move a finding to status with a reason (and an expiry for accepted risk); return the
    before-state for the audit trail."""
    before = {"status": finding.status, "reason": finding.status_reason}
    previous = finding.status
    finding.status = status.value
    finding.status_reason = reason
    finding.accepted_until = until if status is FindingStatus.ACCEPTED_RISK else None
    finding.closed_at = None if status is FindingStatus.OPEN else now
    event = {
        FindingStatus.ACCEPTED_RISK: "accepted",
        FindingStatus.FALSE_POSITIVE: "false_positive",
        FindingStatus.OPEN: "reopened",
        FindingStatus.FIXED: "fixed",
    }[status]
    note = reason + (f" (until {until.isoformat()})" if until else "")
    add_history(session, finding, event=event, from_status=previous, actor=actor, at=now, note=note)
    return before


def expire_acceptances(session: Session, *, now: datetime, member_id: int | None = None) -> int:
    """Reopen every accepted risk whose expiry has passed; return how many."""
    stmt = select(FindingRow).where(
        FindingRow.status == FindingStatus.ACCEPTED_RISK.value,
        FindingRow.accepted_until < now.date(),
    )
    if member_id is not None:
        stmt = stmt.where(FindingRow.member_id == member_id)
    count = 0
    for finding in session.scalars(stmt):
        until = finding.accepted_until
        finding.status = FindingStatus.OPEN.value
        finding.closed_at = None
        finding.status_reason = f"risk acceptance expired on {until}"
        add_history(
            session, finding, event="expired", from_status=FindingStatus.ACCEPTED_RISK.value,
            actor="system", at=now, note=finding.status_reason,
        )  # fmt: skip
        count += 1
    return count
