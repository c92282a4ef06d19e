"""The use cases of incident cases: open, change, assign and escalate an alert into a case.
Reading, listing, finding by reference, a case's deadlines and the access rules every module
shares are in `cases_read` and re-exported here (so `service.get_case_or_raise` and the intake
hooks' `service.find_case_by_reference` keep working). The journal is in `journal`, tasks in
`tasks`, links and candidate observables in `links`, the status workflow with merge and split
in `workflow`, involved organisations and coordinated updates in `coordination`, evidence in
`attachments`, deadlines in `deadlines`, statistics in `stats`.

Who may do what: CERT admins and analysts everything (reopening a closed or rejected case is
for admins, see `model.check_transition`); read-only CERT staff read everything; a member reads
only the cases it is involved in (others answer NotFound, as if they did not exist), and of
those only the shared journal entries of a TLP it may see, never internal notes or the other
organisations involved; a member may write shared entries on, and acknowledge updates of, the
cases it is involved in, and open a case about itself.

Intake hooks (the e-mail intake and the report form call these; their signatures are stable):

- `create_case(session, principal, *, clock, title, description="", classification_type=
  "undetermined", severity=Severity.MEDIUM, impact=Impact.NONE, tlp=Tlp.AMBER, pap=Pap.AMBER,
  reporter="", reporter_organisation_id=None, source=EntrySource.WEB, significant=False,
  involve=()) -> dict` — a new case; `involve` holds (organisation id, InvolvedRole) pairs.
- `journal.add_journal_entry(session, principal, case_id, *, clock, text,
  visibility=Visibility.INTERNAL, source=EntrySource.WEB, author_label="", tlp=None) -> dict`
  (also importable from here).
- `find_case_by_reference(session, reference) -> int | None` — the live case a
  `[VARDEILD#<id>]` names (a merged case answers the case it was merged into).
- `links.add_observables(session, principal, case_id, *, clock, observables, source=
  EntrySource.EMAIL) -> list[dict]` (also importable from here) — candidate observables,
  (ObservableKind or its name, value) pairs; invalid ones are skipped and reported back.

Every change records an audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, Role, authorize
from vardeild.accounts import service as accounts
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, PermissionDenied, ValidationFailed
from vardeild.core.taxonomy import TAXONOMY_OF_TYPE
from vardeild.core.tlp import Tlp
from vardeild.incidents.cases_read import (
    CaseQuery,
    audit,
    case_deadlines,
    case_dict,
    case_row_or_raise,
    case_times,
    clean,
    deadline_dicts,
    editable_case,
    find_case_by_reference,
    get_case_or_raise,
    involved_ids,
    list_cases,
    overdue_case_ids,
    require_editor,
)
from vardeild.incidents.model import (
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    CaseStatus,
    EntrySource,
    Impact,
    InvolvedRole,
    InvolvedStatus,
    LinkKind,
    Pap,
    check_classification,
    reference,
)
from vardeild.incidents.tables import CaseRow, InvolvedRow, LinkRow
from vardeild.members import service as members
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.model import Severity

# The names of cases_read are re-exported: other modules and the intake hooks use them here.
__all__ = [
    "CaseQuery",
    "add_involved",
    "assign_case",
    "audit",
    "case_deadlines",
    "case_dict",
    "case_row_or_raise",
    "case_times",
    "cases_linking",
    "clean",
    "create_case",
    "deadline_dicts",
    "editable_case",
    "escalate_alert",
    "find_case_by_reference",
    "get_case_or_raise",
    "involved_ids",
    "list_cases",
    "open_case_ids_of",
    "overdue_case_ids",
    "plain",
    "require_editor",
    "update_case",
]

# --- opening -------------------------------------------------------------------------------


def _check_organisation(session: Session, record: str, organisation_id: int) -> None:
    if members.get_organisation_row(session, organisation_id) is None:
        raise ValidationFailed.one(record, "organisation_id", f"no organisation {organisation_id}")


def create_case(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    title: str,
    description: str = "",
    classification_type: str = "undetermined",
    severity: Severity = Severity.MEDIUM,
    impact: Impact = Impact.NONE,
    tlp: Tlp = Tlp.AMBER,
    pap: Pap = Pap.AMBER,
    reporter: str = "",
    reporter_organisation_id: int | None = None,
    source: EntrySource = EntrySource.WEB,
    significant: bool = False,
    involve: Iterable[tuple[int, InvolvedRole]] = (),
) -> dict[str, Any]:
    """Open a case and return it (as principal sees it). A member opens a case about itself:
    its organisation is the reporter and involved as affected, and what it names of others is
    refused. ValidationFailed names each bad field; PermissionDenied for read-only staff."""
    record = "case"
    involving = list(involve)
    if principal.is_cert:
        authorize(principal, Action.EDIT)
    else:
        authorize(principal, Action.READ, principal.organisation_id)
        own = principal.organisation_id
        assert own is not None
        if reporter_organisation_id not in (None, own) or any(o != own for o, _ in involving):
            raise PermissionDenied("a member may open a case about its own organisation only")
        reporter_organisation_id = own
        involving = [(own, InvolvedRole.AFFECTED)]
        significant = False  # the CERT judges significance
    taxonomy = check_classification(record, classification_type)
    now = clock.now()
    row = CaseRow(
        title=clean(record, "title", title, max_length=TITLE_MAX),
        description=clean(record, "description", description, max_length=TEXT_MAX, multiline=True),
        classification_taxonomy=taxonomy,
        classification_type=classification_type,
        severity=int(severity),
        impact=impact.value,
        tlp=tlp.value,
        pap=pap.value,
        status=CaseStatus.NEW.value,
        assignee_user_id=None,
        reporter=clean(record, "reporter", reporter, max_length=SHORT_MAX * 2),
        reporter_organisation_id=reporter_organisation_id,
        source=source.value,
        significant=significant,
        aware_at=now if significant else None,
        created_at=now,
        created_by=principal.actor,
        updated_at=now,
    )
    if not row.title:
        raise ValidationFailed.one(record, "title", "is required: say in one line what happened")
    if reporter_organisation_id is not None:
        _check_organisation(session, record, reporter_organisation_id)
    session.add(row)
    session.flush()
    audit(
        session, principal, clock=clock, action="create", case_id=row.id, before=None,
        after=plain(case_dict(row)),
    )  # fmt: skip
    for organisation_id, role in involving:
        _check_organisation(session, record, organisation_id)
        add_involved(session, principal, row, organisation_id, role, clock=clock)
    return case_dict(row, for_member=not principal.is_cert)


def add_involved(
    session: Session,
    principal: Principal,
    case: CaseRow,
    organisation_id: int,
    role: InvolvedRole,
    *,
    clock: Clock,
    contacts: str = "",
) -> InvolvedRow:
    """Add an organisation to the case (no check of principal: callers have made it); Conflict
    if it is involved already."""
    exists = session.scalar(
        select(InvolvedRow).where(
            InvolvedRow.case_id == case.id, InvolvedRow.organisation_id == organisation_id
        )
    )
    if exists is not None:
        raise Conflict(
            f"organisation {organisation_id} is involved in {reference(case.id)} already"
        )
    now = clock.now()
    row = InvolvedRow(
        case_id=case.id,
        organisation_id=organisation_id,
        role=role.value,
        status=InvolvedStatus.PENDING.value,
        contacts=contacts,
        added_at=now,
        added_by=principal.actor,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session, principal, clock=clock, action="involve", case_id=case.id, before=None,
        after={"organisation_id": organisation_id, "role": role.value},
        organisation_id=organisation_id,
    )  # fmt: skip
    return row


# --- changing ------------------------------------------------------------------------------

_EDITABLE = ("title", "description", "classification_type", "severity", "impact", "tlp", "pap")


def update_case(
    session: Session,
    principal: Principal,
    case_id: int,
    changes: dict[str, Any],
    *,
    clock: Clock,
) -> dict[str, Any]:
    """Change the fields changes names (title, description, classification_type, severity,
    impact, tlp, pap, significant, contained, early_warning/notification/final_report as made
    now); return the case. ValidationFailed for unknown fields or values."""
    row = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    unknown = sorted(set(changes) - set(_EDITABLE) - {"significant", "contained", *_REPORTS})
    if unknown:
        raise ValidationFailed.one(record, unknown[0], "cannot be changed here")
    before = case_dict(row)
    now = clock.now()
    for name, value in changes.items():
        if value is None:
            continue
        if name == "title":
            row.title = clean(record, "title", str(value), max_length=TITLE_MAX)
            if not row.title:
                raise ValidationFailed.one(record, "title", "is required")
        elif name == "description":
            row.description = clean(
                record, "description", str(value), max_length=TEXT_MAX, multiline=True
            )
        elif name == "classification_type":
            row.classification_taxonomy = check_classification(record, str(value))
            row.classification_type = str(value)
        elif name == "severity":
            row.severity = int(Severity[str(value).upper()] if isinstance(value, str) else value)
        elif name == "impact":
            row.impact = Impact(value).value
        elif name == "tlp":
            row.tlp = (value if isinstance(value, Tlp) else Tlp.parse(str(value))).value
        elif name == "pap":
            row.pap = (value if isinstance(value, Pap) else Pap.parse(str(value))).value
        elif name == "significant":
            row.significant = bool(value)
            if row.significant and row.aware_at is None:
                row.aware_at = now
        elif name == "contained" and value and row.contained_at is None:
            row.contained_at = now
        elif name in _REPORTS and value:
            if not row.significant:
                raise ValidationFailed.one(
                    record, name, "a report is only made for a significant incident"
                )
            setattr(row, _REPORTS[name], getattr(row, _REPORTS[name]) or now)
    row.updated_at = now
    after = case_dict(row)
    changed = {k: v for k, v in after.items() if before.get(k) != v and k != "updated_at"}
    audit(
        session, principal, clock=clock, action="update", case_id=row.id,
        before=plain({k: before[k] for k in changed}),
        after=plain(changed),
    )  # fmt: skip
    return after


_REPORTS = {
    "early_warning": "early_warning_at",
    "notification": "notification_at",
    "final_report": "final_report_at",
}


def plain(data: dict[str, Any]) -> dict[str, Any]:
    """Return data with its times as ISO text, as the audit trail stores JSON."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def assign_case(
    session: Session,
    principal: Principal,
    case_id: int,
    user_id: int | None,
    *,
    clock: Clock,
) -> dict[str, Any]:
    """Give the case to a CERT user (None: to no one); return it. ValidationFailed if the user
    is unknown, disabled or no CERT staff who may handle cases."""
    row = editable_case(session, principal, case_id)
    if user_id is not None:
        user = accounts.get_user(session, user_id)
        if user is None or user.disabled:
            raise ValidationFailed.one(f"case {case_id}", "assignee", f"no active user {user_id}")
        if user.role not in (Role.CERT_ADMIN, Role.CERT_ANALYST):
            raise ValidationFailed.one(
                f"case {case_id}",
                "assignee",
                f"user {user_id} is {user.role.value}; a case goes to a CERT admin or analyst",
            )
    before = row.assignee_user_id
    row.assignee_user_id = user_id
    row.updated_at = clock.now()
    audit(
        session, principal, clock=clock, action="assign", case_id=row.id,
        before={"assignee_user_id": before}, after={"assignee_user_id": user_id},
    )  # fmt: skip
    return case_dict(row)


# --- escalation ----------------------------------------------------------------------------


def cases_linking(session: Session, kind: LinkKind, target_id: int) -> list[int]:
    """Return the ids of the cases that link the record, oldest first."""
    return list(
        session.scalars(
            select(LinkRow.case_id)
            .where(LinkRow.kind == kind.value, LinkRow.target_id == target_id)
            .order_by(LinkRow.case_id)
        )
    )


def escalate_alert(
    session: Session,
    principal: Principal,
    alert_id: int,
    *,
    clock: Clock,
    title: str | None = None,
    severity: Severity | None = None,
    tlp: Tlp = Tlp.AMBER,
    note: str = "",
) -> dict[str, Any]:
    """Open a case for the alert in one step: the alert linked, its member involved as
    affected; return the case. Conflict if an open case links the alert already (it names the
    case); NotFound for an unknown alert."""
    require_editor(principal)
    alert = get_alert_or_raise(session, principal, alert_id)
    open_cases = [
        case_id
        for case_id in cases_linking(session, LinkKind.ALERT, alert_id)
        if (case := session.get(CaseRow, case_id)) is not None and CaseStatus(case.status).is_open
    ]
    if open_cases:
        raise Conflict(
            f"alert {alert_id} is handled in {reference(open_cases[0])} already; open that case"
        )
    kind = alert["classification"]["type"]
    classification = kind if kind in TAXONOMY_OF_TYPE else "undetermined"
    made = create_case(
        session,
        principal,
        clock=clock,
        title=title or f"{alert['signature'] or kind} (alert {alert_id})"[:TITLE_MAX],
        description=note,
        classification_type=classification,
        severity=severity if severity is not None else Severity[alert["severity"].upper()],
        tlp=tlp,
        source=EntrySource.SYSTEM,
        reporter=f"alert {alert_id}",
        involve=[(int(alert["member_id"]), InvolvedRole.AFFECTED)],
    )
    now = clock.now()
    session.add(
        LinkRow(
            case_id=made["id"],
            kind=LinkKind.ALERT.value,
            target_id=alert_id,
            note="escalated from the alert",
            created_at=now,
            created_by=principal.actor,
        )
    )
    session.flush()
    audit(
        session, principal, clock=clock, action="escalate", case_id=made["id"], before=None,
        after={"alert_id": alert_id}, organisation_id=int(alert["member_id"]),
    )  # fmt: skip
    return made


def open_case_ids_of(session: Session, organisation_id: int) -> list[int]:
    """Return the ids of the open cases the organisation is involved in."""
    return list(
        session.scalars(
            select(CaseRow.id)
            .join(InvolvedRow, InvolvedRow.case_id == CaseRow.id)
            .where(InvolvedRow.organisation_id == organisation_id)
            .where(or_(*(CaseRow.status == s.value for s in CaseStatus if s.is_open)))
            .order_by(CaseRow.id)
        )
    )
