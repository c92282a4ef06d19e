"""Statistics of cases for the CERT's own reporting: cases per period by classification,
sector and member, and the time to acknowledge, contain and close; as data, as CSV and (in
the console) as charts.

Counted in Python over the cases opened in the range, so SQLite and PostgreSQL agree on
periods and medians; a CERT's cases number in the thousands, not millions.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import as_utc
from vardeild.core.spreadsheet import guard_formula
from vardeild.incidents.model import CaseStatus
from vardeild.incidents.tables import CaseRow, InvolvedRow
from vardeild.members import service as members


class Period(StrEnum):
    """How cases are grouped in time."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def period_of(moment: datetime, period: Period) -> str:
    """Return the label of the period moment falls in: 2026-11, 2026-Q4, 2026."""
    if period is Period.YEAR:
        return f"{moment.year}"
    if period is Period.QUARTER:
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year}-{moment.month:02d}"


@dataclass(frozen=True)
class Durations:
    """How long cases took to reach one point, in hours."""

    cases: int
    median_hours: float | None
    mean_hours: float | None


def _durations(values: list[float]) -> Durations:
    if not values:
        return Durations(0, None, None)
    return Durations(
        len(values), round(statistics.median(values), 2), round(statistics.fmean(values), 2)
    )


def case_stats(
    session: Session,
    principal: Principal,
    *,
    since: datetime,
    until: datetime | None = None,
    period: Period = Period.MONTH,
) -> dict[str, Any]:
    """Return counts of the cases opened in [since, until) (until None: up to now and any
    later) per period by classification, by
    sector and by member, and their durations; PermissionDenied for members (the figures
    span the constituency). Merged cases are counted in the case they were merged into."""
    authorize(principal, Action.LIST_ALL)
    rows = list(
        session.scalars(
            select(CaseRow)
            .where(CaseRow.created_at >= since)
            .where(CaseRow.created_at < until if until is not None else true())
            .where(CaseRow.status != CaseStatus.MERGED.value)
            .order_by(CaseRow.id)
        )
    )
    involved: dict[int, set[int]] = {}
    if rows:
        for case_id, organisation_id in session.execute(
            select(InvolvedRow.case_id, InvolvedRow.organisation_id).where(
                InvolvedRow.case_id.in_([r.id for r in rows])
            )
        ):
            involved.setdefault(case_id, set()).add(organisation_id)
    names: dict[int, tuple[str, str]] = {}
    for organisation_id in {o for orgs in involved.values() for o in orgs}:
        org = members.get_organisation_row(session, organisation_id)
        names[organisation_id] = (org.name, org.sector) if org else (str(organisation_id), "")
    by_class: dict[tuple[str, str], int] = {}
    by_sector: dict[tuple[str, str], int] = {}
    by_member: dict[tuple[str, int], int] = {}
    waits: dict[str, list[float]] = {"acknowledge": [], "contain": [], "close": []}
    for row in rows:
        label = period_of(as_utc(row.created_at), period)
        key = (label, row.classification_taxonomy)
        by_class[key] = by_class.get(key, 0) + 1
        orgs = involved.get(row.id, set())
        for sector in sorted({names[o][1] for o in orgs}) or ["(none)"]:
            by_sector[(label, sector)] = by_sector.get((label, sector), 0) + 1
        for organisation_id in orgs:
            by_member[(label, organisation_id)] = by_member.get((label, organisation_id), 0) + 1
        opened = as_utc(row.created_at)
        for name, at in (
            ("acknowledge", row.acknowledged_at),
            ("contain", row.contained_at),
            ("close", row.closed_at),
        ):
            if at is not None:
                waits[name].append((as_utc(at) - opened).total_seconds() / 3600)
    periods = sorted({k[0] for k in by_class})
    return {
        "since": since,
        "until": until,
        "period": period.value,
        "periods": periods,
        "total": len(rows),
        "by_classification": [
            {"period": p, "taxonomy": t, "cases": n} for (p, t), n in sorted(by_class.items())
        ],
        "by_sector": [
            {"period": p, "sector": s, "cases": n} for (p, s), n in sorted(by_sector.items())
        ],
        "by_member": [
            {"period": p, "organisation_id": o, "organisation_name": names[o][0], "cases": n}
            for (p, o), n in sorted(by_member.items())
        ],
        "durations": {name: _durations(values).__dict__ for name, values in waits.items()},
    }


def stats_csv(stats: dict[str, Any]) -> str:
    """Return the statistics as one CSV table: period, dimension, key, cases, median and mean
    hours (durations over the whole range have the period `all`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period", "dimension", "key", "cases", "median_hours", "mean_hours"])
    for item in stats["by_classification"]:
        writer.writerow([item["period"], "classification", item["taxonomy"], item["cases"], "", ""])
    for item in stats["by_sector"]:
        writer.writerow([item["period"], "sector", item["sector"], item["cases"], "", ""])
    for item in stats["by_member"]:
        name = guard_formula(str(item["organisation_name"]))
        writer.writerow([item["period"], "member", name, item["cases"], "", ""])
    for name, figures in stats["durations"].items():
        writer.writerow(
            ["all", f"time_to_{name}", "", figures["cases"], _num(figures["median_hours"]),
             _num(figures["mean_hours"])]
        )  # fmt: skip
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
