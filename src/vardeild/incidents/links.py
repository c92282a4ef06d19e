"""What a case points at: links to alerts, events, indicators, findings and notices (each
checked to exist and to be visible to the one linking), and the candidate observables found in
what reached the case (IPs, domains, URLs, hashes, CVE ids), which an analyst promotes to an
indicator or dismisses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.exposure.service import get_finding_or_raise
from vardeild.incidents.model import (
    SHORT_MAX,
    EntrySource,
    LinkKind,
    ObservableKind,
    ObservableStatus,
    normalise_observable,
)
from vardeild.incidents.service import (
    audit,
    case_row_or_raise,
    clean,
    editable_case,
    require_editor,
)
from vardeild.incidents.tables import LinkRow, ObservableRow
from vardeild.intel.model import IndicatorFilter, IndicatorType
from vardeild.intel.service import get_indicator_or_raise, list_indicators, load_indicators
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.tables import EventRow
from vardeild.notify.records import get_notice_or_raise

OBSERVABLES_MAX = 1000  # per call: a mail can name many, a case need not hold thousands


def link_dict(row: LinkRow) -> dict[str, Any]:
    """Return a link as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "kind": row.kind,
        "target_id": row.target_id,
        "note": row.note,
        "created_at": row.created_at,
        "created_by": row.created_by,
    }


def check_target(session: Session, principal: Principal, kind: LinkKind, target_id: int) -> None:
    """Return if the record exists and principal may see it; NotFound else."""
    if kind is LinkKind.ALERT:
        get_alert_or_raise(session, principal, target_id)
    elif kind is LinkKind.EVENT:
        # monitoring offers no read of one event by id; its row is read for existence and its
        # members only (a CERT principal sees every event).
        event = session.get(EventRow, target_id)
        if event is None or not principal.is_cert:
            raise NotFound(f"event {target_id} not found")
    elif kind is LinkKind.INDICATOR:
        get_indicator_or_raise(session, principal, target_id)
    elif kind is LinkKind.FINDING:
        get_finding_or_raise(session, principal, target_id)
    elif kind is LinkKind.NOTICE:
        get_notice_or_raise(session, principal, target_id)
    else:
        raise NotFound(f"{kind.value} {target_id} not found: advisories are not kept yet")


def add_link(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    kind: LinkKind,
    target_id: int,
    note: str = "",
) -> dict[str, Any]:
    """Link the record to the case and return the link. NotFound if the record does not
    exist (ValidationFailed naming it), Conflict if linked already."""
    case = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    try:
        check_target(session, principal, kind, target_id)
    except NotFound as exc:
        raise ValidationFailed.one(record, "target_id", str(exc)) from exc
    exists = session.scalar(
        select(LinkRow.id).where(
            LinkRow.case_id == case.id, LinkRow.kind == kind.value, LinkRow.target_id == target_id
        )
    )
    if exists is not None:
        raise Conflict(f"{kind.value} {target_id} is linked to case {case_id} already")
    row = LinkRow(
        case_id=case.id,
        kind=kind.value,
        target_id=target_id,
        note=clean(record, "note", note, max_length=SHORT_MAX * 5),
        created_at=clock.now(),
        created_by=principal.actor,
    )
    session.add(row)
    session.flush()
    audit(
        session, principal, clock=clock, action="link", case_id=case.id, before=None,
        after={"kind": kind.value, "target_id": target_id},
    )  # fmt: skip
    return link_dict(row)


def remove_link(
    session: Session, principal: Principal, case_id: int, link_id: int, *, clock: Clock
) -> None:
    """Remove a link from the case; NotFound for a link of another case."""
    case = editable_case(session, principal, case_id)
    row = session.get(LinkRow, link_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"link {link_id} of case {case_id} not found")
    audit(
        session, principal, clock=clock, action="unlink", case_id=case.id,
        before={"kind": row.kind, "target_id": row.target_id}, after=None,
    )  # fmt: skip
    session.delete(row)


def list_links(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the case's links; PermissionDenied for members (links lead into other
    members' data)."""
    case_row_or_raise(session, principal, case_id)
    if not principal.is_cert:
        raise PermissionDenied("a case's links are the CERT's working notes")
    rows = session.scalars(select(LinkRow).where(LinkRow.case_id == case_id).order_by(LinkRow.id))
    return [link_dict(r) for r in rows]


# --- candidate observables -----------------------------------------------------------------


def observable_dict(row: ObservableRow) -> dict[str, Any]:
    """Return a candidate observable as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "kind": row.kind,
        "value": row.value,
        "status": row.status,
        "source": row.source,
        "found_at": row.found_at,
        "found_by": row.found_by,
        "indicator_id": row.indicator_id,
    }


def add_observables(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    observables: Iterable[tuple[ObservableKind | str, str]],
    source: EntrySource = EntrySource.EMAIL,
) -> list[dict[str, Any]]:
    """Store candidate observables on the case (once each; one seen before is kept as it
    was) and return what each became: `{"kind", "value", "id"}` for the stored, `{"kind",
    "value", "problem"}` for the refused. Only the CERT (or the system's intake) may add."""
    case = editable_case(session, principal, case_id)
    wanted = list(observables)
    if len(wanted) > OBSERVABLES_MAX:
        raise ValidationFailed.one(
            f"case {case_id}", "observables", f"{len(wanted)} given; at most {OBSERVABLES_MAX}"
        )
    now = clock.now()
    results: list[dict[str, Any]] = []
    added = 0
    for given_kind, given_value in wanted:
        try:
            kind = ObservableKind(given_kind)
            value = normalise_observable(kind, given_value)
        except ValueError as exc:
            results.append(
                {"kind": str(given_kind), "value": given_value[:200], "problem": str(exc)}
            )
            continue
        row = session.scalar(
            select(ObservableRow).where(
                ObservableRow.case_id == case.id,
                ObservableRow.kind == kind.value,
                ObservableRow.value == value,
            )
        )
        if row is None:
            row = ObservableRow(
                case_id=case.id,
                kind=kind.value,
                value=value,
                status=ObservableStatus.CANDIDATE.value,
                source=source.value,
                found_at=now,
                found_by=principal.actor,
                indicator_id=None,
            )
            session.add(row)
            session.flush()
            added += 1
        results.append({"kind": kind.value, "value": value, "id": row.id})
    if added:
        audit(
            session, principal, clock=clock, action="observables", case_id=case.id, before=None,
            after={"added": added, "source": source.value},
        )  # fmt: skip
    return results


def list_observables(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the case's candidate observables; PermissionDenied for members."""
    case_row_or_raise(session, principal, case_id)
    if not principal.is_cert:
        raise PermissionDenied("a case's observables are the CERT's working notes")
    rows = session.scalars(
        select(ObservableRow).where(ObservableRow.case_id == case_id).order_by(ObservableRow.id)
    )
    return [observable_dict(r) for r in rows]


# The indicator type each observable becomes (an IP address: by its version).
_INDICATOR_TYPE = {
    ObservableKind.IP: IndicatorType.IPV4,
    ObservableKind.DOMAIN: IndicatorType.DOMAIN,
    ObservableKind.URL: IndicatorType.URL,
    ObservableKind.MD5: IndicatorType.MD5,
    ObservableKind.SHA1: IndicatorType.SHA1,
    ObservableKind.SHA256: IndicatorType.SHA256,
}


def _indicator_type(kind: ObservableKind, value: str) -> IndicatorType:
    if kind is ObservableKind.IP and ":" in value:
        return IndicatorType.IPV6
    return _INDICATOR_TYPE[kind]


def decide_observable(
    session: Session,
    principal: Principal,
    case_id: int,
    observable_id: int,
    *,
    clock: Clock,
    promote: bool,
    tlp: Tlp = Tlp.AMBER,
) -> dict[str, Any]:
    """Promote the candidate to an indicator (through intel's import, source `case:<id>`) or
    dismiss it; return it. Conflict if decided already or (a CVE id) not an indicator kind."""
    case = editable_case(session, principal, case_id)
    require_editor(principal)
    row = session.get(ObservableRow, observable_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"observable {observable_id} of case {case_id} not found")
    if row.status != ObservableStatus.CANDIDATE.value:
        raise Conflict(f"observable {observable_id} is {row.status} already")
    if promote:
        kind = ObservableKind(row.kind)
        if kind not in _INDICATOR_TYPE:
            raise Conflict(f"a {kind.value} cannot become an indicator; dismiss it instead")
        source = f"case:{case.id}"
        load_indicators(
            session, principal, row.value.encode(), clock=clock, fmt="list", source=source,
            indicator_type=_indicator_type(kind, row.value), tlp=tlp,
            origin=f"case VARDEILD#{case.id}",
        )  # fmt: skip
        found, _ = list_indicators(
            session, principal, IndicatorFilter(source=source, text=row.value)
        )
        row.indicator_id = next((i.id for i in found if i.value == row.value), None)
        row.status = ObservableStatus.PROMOTED.value
    else:
        row.status = ObservableStatus.DISMISSED.value
    audit(
        session, principal, clock=clock, action="observable", case_id=case.id,
        before={"observable_id": row.id, "status": "candidate"},
        after={"observable_id": row.id, "status": row.status, "indicator_id": row.indicator_id},
    )  # fmt: skip
    return observable_dict(row)
