"""What people do with alerts: acknowledge, close (with a reason), reopen and comment.

Each action is kept in the alert's history (`alert_actions`) and in the audit trail, in the
same transaction as the change of status, so an alert never changes without a trace.

Who may do what (`authorize_alert_action`, the one check the API and the CLI both call):
CERT admins and analysts everything; a member's admins and users may acknowledge and comment
on their own organisation's alerts, not close or reopen them; read-only CERT staff nothing. A
member reaching for another member's alert gets NotFound, as for one that does not exist.

Statuses: `open` -> `acknowledged` (someone is on it) -> `closed` (with a reason), and a
closed or acknowledged alert may be reopened. New events reopen a closed alert by themselves
(`alerts.merge_into`), kept in its history and the audit trail as a `reopen` by `pipeline`
(`record_reopened`), and leave an acknowledged one acknowledged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock, FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.core.text import clean_text
from vardeild.monitoring.alert_action_tables import AlertActionRow
from vardeild.monitoring.alerts import AlertStatus
from vardeild.monitoring.tables import AlertRow

NOTE_MAX = 4000


class AlertAction(StrEnum):
    """What a person can do with an alert."""

    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"
    REOPEN = "reopen"
    COMMENT = "comment"


class CloseReason(StrEnum):
    """Why an alert was closed."""

    RESOLVED = "resolved"  # real, and dealt with
    FALSE_POSITIVE = "false_positive"  # the signature or indicator was wrong
    DUPLICATE = "duplicate"  # the same thing is followed in another alert or case
    BENIGN = "benign"  # real traffic, but expected or authorised (a scan the member ordered)
    NOT_ACTIONABLE = "not_actionable"  # nothing anyone can or needs to do


# The actions a member may take on its own organisation's alerts.
_MEMBER_ACTIONS = frozenset({AlertAction.ACKNOWLEDGE, AlertAction.COMMENT})

# Status an action leaves, and the statuses it may start from.
_TRANSITIONS: dict[AlertAction, tuple[frozenset[AlertStatus], AlertStatus | None]] = {
    AlertAction.ACKNOWLEDGE: (
        frozenset({AlertStatus.OPEN, AlertStatus.SUPPRESSED}),
        AlertStatus.ACKNOWLEDGED,
    ),
    AlertAction.CLOSE: (
        frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.SUPPRESSED}),
        AlertStatus.CLOSED,
    ),
    AlertAction.REOPEN: (
        frozenset({AlertStatus.CLOSED, AlertStatus.ACKNOWLEDGED}),
        AlertStatus.OPEN,
    ),
    AlertAction.COMMENT: (frozenset(AlertStatus), None),
}


def authorize_alert_action(principal: Principal, action: AlertAction, member_id: int) -> None:
    """Return if principal may take action on an alert of member_id; raise NotFound for
    another member's alert, PermissionDenied for an action the role may not take."""
    if principal.is_cert:
        authorize(principal, Action.EDIT, member_id)
        return
    # READ first: another member's alert is NotFound, as one that does not exist.
    authorize(principal, Action.READ, member_id)
    if action not in _MEMBER_ACTIONS:
        raise PermissionDenied(
            f"a member may acknowledge and comment on its alerts, not {action.value} them; "
            "ask the CERT"
        )


def _alert_or_raise(session: Session, principal: Principal, alert_id: int) -> AlertRow:
    # Locked (FOR UPDATE on PostgreSQL), as the pipeline locks the alerts it folds into, so
    # that a status change and new events cannot overwrite each other.
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    authorize(principal, Action.READ, row.member_id)
    return row


def _note(text: str, *, required: bool, record: str) -> str:
    try:
        note = clean_text(text, max_length=NOTE_MAX, multiline=True)
    except ValueError as exc:
        raise ValidationFailed.one(record, "note", str(exc)) from exc
    if required and not note:
        raise ValidationFailed.one(record, "note", "is required: write what you want to say")
    return note


def _last_status_action(session: Session, alert_id: int) -> AlertActionRow | None:
    return session.scalar(
        select(AlertActionRow)
        .where(AlertActionRow.alert_id == alert_id)
        .where(AlertActionRow.action != AlertAction.COMMENT.value)
        .order_by(AlertActionRow.id.desc())
        .limit(1)
    )


def _refuse(session: Session, row: AlertRow, action: AlertAction) -> Conflict:
    status = row.status
    last = _last_status_action(session, row.id)
    by = f" (by {last.actor} at {last.at.isoformat(timespec='seconds')})" if last else ""
    hint = {
        AlertAction.ACKNOWLEDGE: "reopen it first" if status == AlertStatus.CLOSED else "",
        AlertAction.CLOSE: "",
        AlertAction.REOPEN: "only a closed or acknowledged alert can be reopened",
    }.get(action, "")
    return Conflict(
        f"alert {row.id} is {status}{by}; it cannot be {_past(action)}"
        + (f": {hint}" if hint else "")
    )


def _past(action: AlertAction) -> str:
    return {
        AlertAction.ACKNOWLEDGE: "acknowledged",
        AlertAction.CLOSE: "closed",
        AlertAction.REOPEN: "reopened",
        AlertAction.COMMENT: "commented on",
    }[action]


def act_on_alert(
    session: Session,
    principal: Principal,
    alert_id: int,
    action: AlertAction,
    *,
    clock: Clock,
    note: str = "",
    reason: CloseReason | None = None,
) -> dict[str, Any]:
    """Take action on the alert, record it in its history and the audit trail, and return
    the history entry. Raises NotFound (absent or another member's), PermissionDenied,
    ValidationFailed (a close without a reason, a comment without text, a bad note) or
    Conflict (the alert's status does not allow the action, e.g. closing a closed alert)."""
    record = f"alert {alert_id}"
    row = _alert_or_raise(session, principal, alert_id)
    authorize_alert_action(principal, action, row.member_id)
    if action is AlertAction.CLOSE and reason is None:
        raise ValidationFailed.one(
            record, "reason", "is required: one of " + ", ".join(r.value for r in CloseReason)
        )
    if action is not AlertAction.CLOSE and reason is not None:
        raise ValidationFailed.one(record, "reason", f"is only given when closing, not to {action}")
    text = _note(note, required=action is AlertAction.COMMENT, record=record)
    allowed, after = _TRANSITIONS[action]
    before = AlertStatus(row.status)
    if before not in allowed:
        raise _refuse(session, row, action)
    status_after = after or before
    now = clock.now()
    row.status = status_after.value
    entry = AlertActionRow(
        alert_id=row.id,
        member_id=row.member_id,
        action=action.value,
        actor=principal.actor,
        at=now,
        status_before=before.value,
        status_after=status_after.value,
        reason=reason.value if reason is not None else None,
        note=text,
    )
    session.add(entry)
    session.flush()
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=f"alert.{action.value}",
        entity_type="alert",
        entity_id=row.id,
        organisation_id=row.member_id,
        before={"status": before.value},
        after={
            "status": status_after.value,
            **({"reason": reason.value} if reason is not None else {}),
            "history_id": entry.id,
        },
        note=text,
    )
    return action_dict(entry)


def action_dict(row: AlertActionRow) -> dict[str, Any]:
    """Return a history entry as JSON-ready data."""
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "action": row.action,
        "actor": row.actor,
        "at": row.at,
        "status_before": row.status_before,
        "status_after": row.status_after,
        "reason": row.reason,
        "note": row.note,
    }


def alert_history(session: Session, principal: Principal, alert_id: int) -> list[dict[str, Any]]:
    """Return what people did with the alert, oldest first; NotFound if the alert is absent
    or another member's."""
    member_id = session.scalar(select(AlertRow.member_id).where(AlertRow.id == alert_id))
    if member_id is None:
        raise NotFound(f"alert {alert_id} not found")
    authorize(principal, Action.READ, member_id)
    rows = session.scalars(
        select(AlertActionRow)
        .where(AlertActionRow.alert_id == alert_id)
        .order_by(AlertActionRow.id)
    )
    return [action_dict(row) for row in rows]


PIPELINE_ACTOR = "pipeline"  # who reopens a closed alert that new events fold into


def record_reopened(
    session: Session, reopened: list[tuple[int, int, int]], *, at: datetime
) -> None:
    """Keep in the alerts' history and the audit trail that new events reopened closed alerts
    (`alerts.merge_into`); reopened holds (alert id, member id, events folded in). Runs in the
    pipeline's batch transaction, so the reopening and its trace commit together."""
    clock = FixedClock(at)
    for alert_id, member_id, count in reopened:
        note = f"reopened by {count} new event{'' if count == 1 else 's'}"
        entry = AlertActionRow(
            alert_id=alert_id,
            member_id=member_id,
            action=AlertAction.REOPEN.value,
            actor=PIPELINE_ACTOR,
            at=at,
            status_before=AlertStatus.CLOSED.value,
            status_after=AlertStatus.OPEN.value,
            reason=None,
            note=note,
        )
        session.add(entry)
        session.flush()
        record_change(
            session,
            clock=clock,
            actor=PIPELINE_ACTOR,
            action=f"alert.{AlertAction.REOPEN.value}",
            entity_type="alert",
            entity_id=alert_id,
            organisation_id=member_id,
            before={"status": AlertStatus.CLOSED.value},
            after={"status": AlertStatus.OPEN.value, "history_id": entry.id},
            note=note,
        )
