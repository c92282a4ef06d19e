"""When each member is scanned next: the scan schedule.

A member in the vulnerability-overview programme is due for a scan when its last complete,
finished scan by Vardeild (not an import) is older than `exposure_scan_every_days`, or when it
was never scanned. `vardeild exposure scan --due`, run hourly by cron or a systemd timer, scans
the members due, inside the scan window, and nothing else: running it more often changes
nothing, and a member whose scan failed stays due for the next run. The schedule is computed
from the scans recorded, so there is nothing to keep in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import as_utc
from vardeild.exposure.model import Source
from vardeild.exposure.tables import ScanRunRow


@dataclass(frozen=True)
class ScheduleEntry:
    """One member's place in the schedule."""

    member_id: int
    last_scan: datetime | None  # when its last complete scan finished; None: never scanned
    due_at: datetime  # when it is due (now, if never scanned)
    due: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "member_id": self.member_id,
            "last_scan": self.last_scan.isoformat() if self.last_scan else None,
            "due_at": self.due_at.isoformat(),
            "due": self.due,
        }


def scan_schedule(
    session: Session,
    principal: Principal,
    member_ids: Sequence[int],
    *,
    every: timedelta,
    now: datetime,
) -> list[ScheduleEntry]:
    """Return the schedule of the members (those taking the service; the caller picks them),
    soonest due first. CERT staff only (PermissionDenied otherwise)."""
    authorize(principal, Action.LIST_ALL)
    last: dict[int, datetime] = {}
    if member_ids:
        rows = session.execute(
            select(ScanRunRow.member_id, func.max(ScanRunRow.finished_at))
            .where(
                ScanRunRow.member_id.in_(list(member_ids)),
                ScanRunRow.source == Source.SCAN.value,
                ScanRunRow.status == "done",
                ScanRunRow.complete.is_(True),
            )
            .group_by(ScanRunRow.member_id)
        )
        last = {int(member): as_utc(at) for member, at in rows if at is not None}
    entries = []
    for member_id in member_ids:
        scanned = last.get(member_id)
        due_at = now if scanned is None else scanned + every
        entries.append(ScheduleEntry(member_id, scanned, due_at, due_at <= now))
    return sorted(entries, key=lambda e: (e.due_at, e.member_id))
