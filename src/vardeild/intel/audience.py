"""Naming the members a TLP:AMBER or AMBER+STRICT indicator is shared with.

AMBER travels only to the recipients named, so the CERT names them: `share_indicators` adds
members to indicators' audiences, `unshare_indicators` takes them out. Each call is one change:
checked whole (every indicator and organisation must exist, every indicator must be AMBER or
AMBER+STRICT), applied, and audited with one entry per member, carrying that member's
organisation id, so that a member's audit trail shows what was shared with it and nothing of
who else received it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import FieldProblem, NotFound, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.audience_tables import IndicatorAudienceRow
from vardeild.intel.sharing import NAMED_TLPS
from vardeild.intel.tables import IndicatorRow
from vardeild.members.service import get_organisation_row

MAX_IDS = 10_000  # one change, one audit entry per member: bounded


@dataclass(frozen=True)
class AudienceMember:
    """One member named as a recipient of an indicator."""

    indicator_id: int
    organisation_id: int
    added_at: datetime
    added_by: str


def _checked(
    session: Session, indicator_ids: Iterable[int], organisation_ids: Iterable[int]
) -> tuple[list[int], list[int]]:
    """Return the ids sorted and unique, after checking that they exist (NotFound) and that
    every indicator is AMBER or AMBER+STRICT (ValidationFailed naming each other one)."""
    indicators = sorted(set(indicator_ids))
    organisations = sorted(set(organisation_ids))
    problems = []
    if not indicators:
        problems.append(FieldProblem("options", "indicators", "name at least one indicator id"))
    if not organisations:
        problems.append(FieldProblem("options", "organisations", "name at least one member"))
    if len(indicators) > MAX_IDS:
        problems.append(FieldProblem("options", "indicators", f"at most {MAX_IDS} at once"))
    if problems:
        raise ValidationFailed(problems)
    found: dict[int, str] = {}
    for i in range(0, len(indicators), 1000):
        chunk = indicators[i : i + 1000]
        for row in session.execute(
            select(IndicatorRow.id, IndicatorRow.tlp).where(IndicatorRow.id.in_(chunk))
        ):
            found[row[0]] = row[1]
    missing = [i for i in indicators if i not in found]
    if missing:
        raise NotFound(f"indicator {', '.join(str(i) for i in missing[:20])} not found")
    for organisation_id in organisations:
        if get_organisation_row(session, organisation_id) is None:
            raise NotFound(f"organisation {organisation_id} not found")
    wrong = [
        FieldProblem(
            f"indicator {i}",
            "tlp",
            f"is TLP:{found[i]}; only AMBER and AMBER+STRICT are shared with named members"
            + (" (TLP:RED never leaves the CERT)" if found[i] == Tlp.RED.value else ""),
        )
        for i in indicators
        if Tlp(found[i]) not in NAMED_TLPS
    ]
    if wrong:
        raise ValidationFailed(wrong)
    return indicators, organisations


def share_indicators(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    indicator_ids: Iterable[int],
    organisation_ids: Iterable[int],
    note: str = "",
) -> int:
    """Name the members as recipients of the AMBER indicators and return how many (indicator,
    member) pairs were new. Raise NotFound for an unknown id, ValidationFailed for an
    indicator that is not AMBER or AMBER+STRICT, PermissionDenied unless the principal may
    edit (CERT staff)."""
    authorize(principal, Action.EDIT)
    indicators, organisations = _checked(session, indicator_ids, organisation_ids)
    now = clock.now()
    added = 0
    for organisation_id in organisations:
        present = _named(session, indicators, organisation_id)
        new = [i for i in indicators if i not in present]
        session.add_all(
            IndicatorAudienceRow(
                indicator_id=i,
                organisation_id=organisation_id,
                added_at=now,
                added_by=principal.actor,
            )
            for i in new
        )
        added += len(new)
        if new:
            _audit(session, principal, clock, "indicator.share", organisation_id, new, note)
    session.flush()
    return added


def unshare_indicators(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    indicator_ids: Iterable[int],
    organisation_ids: Iterable[int],
    note: str = "",
) -> int:
    """Take the members out of the indicators' audiences and return how many (indicator,
    member) pairs were removed. Raise as share_indicators does, except that an indicator of
    any TLP may be unshared."""
    authorize(principal, Action.EDIT)
    indicators = sorted(set(indicator_ids))
    organisations = sorted(set(organisation_ids))
    if not indicators or not organisations:
        raise ValidationFailed.one("options", "", "name indicator ids and members")
    removed = 0
    for organisation_id in organisations:
        if get_organisation_row(session, organisation_id) is None:
            raise NotFound(f"organisation {organisation_id} not found")
        present = sorted(_named(session, indicators, organisation_id))
        for i in range(0, len(present), 1000):
            session.execute(
                delete(IndicatorAudienceRow).where(
                    IndicatorAudienceRow.organisation_id == organisation_id,
                    IndicatorAudienceRow.indicator_id.in_(present[i : i + 1000]),
                )
            )
        removed += len(present)
        if present:
            _audit(session, principal, clock, "indicator.unshare", organisation_id, present, note)
    return removed


def list_audience(
    session: Session, principal: Principal, indicator_id: int
) -> list[AudienceMember]:
    """Return the members an indicator is named to, in organisation order. Raise NotFound for
    an unknown indicator, PermissionDenied for members (an audience is the CERT's to know)."""
    authorize(principal, Action.LIST_ALL)
    if session.get(IndicatorRow, indicator_id) is None:
        raise NotFound(f"indicator {indicator_id} not found")
    rows = session.scalars(
        select(IndicatorAudienceRow)
        .where(IndicatorAudienceRow.indicator_id == indicator_id)
        .order_by(IndicatorAudienceRow.organisation_id)
    )
    return [
        AudienceMember(
            indicator_id=row.indicator_id,
            organisation_id=row.organisation_id,
            added_at=row.added_at,
            added_by=row.added_by,
        )
        for row in rows
    ]


def _named(session: Session, indicators: list[int], organisation_id: int) -> set[int]:
    """Return which of the indicators are already named to the member."""
    present: set[int] = set()
    for i in range(0, len(indicators), 1000):
        present.update(
            session.scalars(
                select(IndicatorAudienceRow.indicator_id).where(
                    IndicatorAudienceRow.organisation_id == organisation_id,
                    IndicatorAudienceRow.indicator_id.in_(indicators[i : i + 1000]),
                )
            )
        )
    return present


def _audit(
    session: Session,
    principal: Principal,
    clock: Clock,
    action: str,
    organisation_id: int,
    ids: list[int],
    note: str,
) -> None:
    """Record one entry for a change of one member's share (ids listed up to 1,000)."""
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="indicator_audience",
        entity_id=str(organisation_id),
        organisation_id=organisation_id,
        before=None,
        after={"count": len(ids), "indicator_ids": ids[:1000]},
        note=note,
    )
