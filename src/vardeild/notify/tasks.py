"""The CERT's tasks raised by notices: a contact's key to fix so that notices can be encrypted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import Conflict, NotFound
from vardeild.notify.tables import NotifyTaskRow


def raise_key_task(
    session: Session,
    *,
    member_id: int,
    contact_email: str,
    detail: str,
    notice_id: int | None,
    now: datetime,
) -> None:
    """Open a task to fix a contact's key, unless one is open already (then its detail is
    brought up to date)."""
    open_task = session.scalar(
        select(NotifyTaskRow).where(
            NotifyTaskRow.member_id == member_id,
            NotifyTaskRow.contact_email == contact_email,
            NotifyTaskRow.kind == "fix_key",
            NotifyTaskRow.open_key == "open",
        )
    )
    if open_task is not None:
        open_task.detail = detail
        return
    try:
        with session.begin_nested():
            session.add(
                NotifyTaskRow(
                    member_id=member_id,
                    contact_email=contact_email,
                    kind="fix_key",
                    detail=detail,
                    notice_id=notice_id,
                    open_key="open",
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        # Another sender opened the same task first; one open task per contact is enough,
        # and the delivery being recorded must not fail over it.
        return


def list_tasks(
    session: Session, principal: Principal, *, include_closed: bool = False
) -> list[dict[str, Any]]:
    """Return the CERT's notify tasks, oldest first."""
    authorize(principal, Action.LIST_ALL)
    stmt = select(NotifyTaskRow).order_by(NotifyTaskRow.id)
    if not include_closed:
        stmt = stmt.where(NotifyTaskRow.open_key == "open")
    return [
        {
            "id": t.id,
            "organisation_id": t.member_id,
            "contact_email": t.contact_email,
            "kind": t.kind,
            "detail": t.detail,
            "notice_id": t.notice_id,
            "open": t.open_key == "open",
            "created_at": t.created_at,
            "closed_at": t.closed_at,
            "closed_by": t.closed_by,
        }
        for t in session.scalars(stmt)
    ]


def close_task(session: Session, principal: Principal, task_id: int, *, now: datetime) -> None:
    """Mark a task done; NotFound if unknown, Conflict if already closed."""
    authorize(principal, Action.EDIT)
    task = session.get(NotifyTaskRow, task_id)
    if task is None:
        raise NotFound(f"notify task {task_id} not found")
    if task.open_key != "open":
        raise Conflict(f"notify task {task_id} is closed already")
    task.open_key = str(task.id)
    task.closed_at = now
    task.closed_by = principal.actor
