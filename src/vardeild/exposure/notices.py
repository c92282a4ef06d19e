"""Telling members about their exposures through the notice machinery (`notify.queue_notice`):
a notice per new high-priority finding, and a weekly summary per member.

Source keys are stable, so a rerun of the same import or the same week's summary queues
nothing twice: `exposure-finding:<id>` for a finding found, `exposure-finding:<id>:reopened:
<date>` when it comes back, `exposure-weekly:<member>:<ISO year>-W<week>` for the summary.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.exposure.model import FindingStatus, Priority
from vardeild.exposure.tables import ExposureRow, FindingRow
from vardeild.monitoring.model import Severity
from vardeild.notify.model import NoticeKind
from vardeild.notify.service import NotifyConfig, queue_notice

_SEVERITY = {Priority.P1: Severity.CRITICAL, Priority.P2: Severity.HIGH}

ADVICE = (
    "Update or patch the product to a version that fixes the vulnerability, or take the service "
    "off the Internet (firewall, VPN) until you can. If you have good reason to keep it as it "
    "is, tell us, and we record the accepted risk with an expiry."
)


def _systems(exposure: ExposureRow) -> list[str]:
    product = " ".join(p for p in (exposure.product, exposure.version) if p)
    where = f"{exposure.address}:{exposure.port}/{exposure.transport}"
    return [f"{where} {product}".strip()]


def notify_finding(
    session: Session,
    principal: Principal,
    finding: FindingRow,
    exposure: ExposureRow,
    *,
    outcome: str,
    threshold: Priority,
    config: NotifyConfig,
    now: datetime,
) -> int | None:
    """Queue a notice for a new (or reopened) finding at or above threshold; return its id."""
    priority = Priority(finding.priority)
    if priority.rank > threshold.rank or finding.status != FindingStatus.OPEN.value:
        return None
    key = f"exposure-finding:{finding.id}"
    if outcome == "reopened":
        key += f":reopened:{now.date().isoformat()}"
    known = "; known exploited (CISA KEV)" if finding.kev else ""
    score = f"CVSS {finding.cvss_score:.1f}" if finding.cvss_score is not None else "no CVSS"
    text = (
        f"{finding.cve_id} ({score}{known}) affects a service of yours that faces the Internet. "
        f"Priority {priority.value}: {finding.priority_basis}. Fix by {finding.due_on}.\n"
        f"{finding.summary}\nWhy we think so: {finding.reason}"
    )
    row, _ = queue_notice(
        session,
        principal,
        member_id=finding.member_id,
        kind=NoticeKind.MESSAGE,
        title=f"{priority.value} {finding.cve_id} on {exposure.address}:{exposure.port}",
        severity=_SEVERITY.get(priority, Severity.MEDIUM),
        content={"details": {"text": text, "action": ADVICE}, "systems": _systems(exposure)},
        source_key=key,
        config=config,
        now=now,
    )
    finding.notice_id = row.id
    return row.id


def queue_weekly_summary(
    session: Session,
    principal: Principal,
    member_id: int,
    open_findings: list[tuple[FindingRow, ExposureRow]],
    *,
    config: NotifyConfig,
    now: datetime,
) -> tuple[int, bool] | None:
    """Queue this ISO week's summary of the member's open findings (none if it has none);
    return the notice id and whether it was made now. Idempotent per member and week."""
    if not open_findings:
        return None
    year, week, _ = now.isocalendar()
    counts = Counter(f.priority for f, _ in open_findings)
    overdue = sum(1 for f, _ in open_findings if f.due_on < now.date())
    lines = [
        f"Open findings: {len(open_findings)} "
        f"({', '.join(f'{p.value}: {counts.get(p.value, 0)}' for p in Priority)}); "
        f"overdue: {overdue}.",
        "Most urgent:",
    ]
    for finding, exposure in open_findings[:10]:
        lines.append(
            f"- {finding.priority} {finding.cve_id} {exposure.address}:{exposure.port} "
            f"{exposure.product} {exposure.version} (fix by {finding.due_on})"
        )
    row, made = queue_notice(
        session,
        principal,
        member_id=member_id,
        kind=NoticeKind.MESSAGE,
        title=f"Weekly vulnerability overview {year}-W{week:02d}",
        severity=Severity.MEDIUM,
        content={
            "details": {"text": "\n".join(lines), "action": ADVICE},
            "systems": sorted({s for _, e in open_findings for s in _systems(e)})[:50],
        },
        source_key=f"exposure-weekly:{member_id}:{year}-W{week:02d}",
        config=config,
        now=now,
    )
    return row.id, made
