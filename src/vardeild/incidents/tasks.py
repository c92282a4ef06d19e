"""Tasks on a case: what is to be done, by whom, by when; done and undone. CERT work only:
members do not see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.clock import Clock, as_utc
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.incidents.model import SHORT_MAX, TITLE_MAX
from vardeild.incidents.service import audit, case_row_or_raise, clean, editable_case, plain
from vardeild.incidents.tables import TaskRow


def task_dict(row: TaskRow, *, now: datetime | None = None) -> dict[str, Any]:
    """Return a task as JSON-ready data; with now, whether it is overdue."""
    due = as_utc(row.due_at) if row.due_at is not None else None
    return {
        "id": row.id,
        "case_id": row.case_id,
        "title": row.title,
        "owner": row.owner,
        "due_at": due,
        "done_at": row.done_at,
        "done_by": row.done_by,
        "overdue": bool(now and due and row.done_at is None and now > due),
    }


def add_task(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    title: str,
    owner: str = "",
    due_at: datetime | None = None,
) -> dict[str, Any]:
    """Add a task to the case and return it; ValidationFailed for an empty title or a naive
    due time."""
    case = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    text = clean(record, "title", title, max_length=TITLE_MAX)
    if not text:
        raise ValidationFailed.one(record, "title", "is required: say what is to be done")
    if due_at is not None and due_at.tzinfo is None:
        raise ValidationFailed.one(record, "due_at", "needs a time zone")
    row = TaskRow(
        case_id=case.id,
        title=text,
        owner=clean(record, "owner", owner, max_length=SHORT_MAX),
        due_at=due_at,
        done_at=None,
        done_by=None,
        created_at=clock.now(),
        created_by=principal.actor,
    )
    session.add(row)
    session.flush()
    audit(
        session, principal, clock=clock, action="task.add", case_id=case.id, before=None,
        after=plain(task_dict(row)),
    )  # fmt: skip
    return task_dict(row, now=clock.now())


def set_task_done(
    session: Session, principal: Principal, case_id: int, task_id: int, *, clock: Clock, done: bool
) -> dict[str, Any]:
    """Mark the task done (or not done again) and return it; NotFound for a task of another
    case."""
    case = editable_case(session, principal, case_id)
    row = session.get(TaskRow, task_id)
    if row is None or row.case_id != case.id:
        raise NotFound(f"task {task_id} of case {case_id} not found")
    before = row.done_at is not None
    if done and row.done_at is None:
        row.done_at, row.done_by = clock.now(), principal.actor
    elif not done:
        row.done_at, row.done_by = None, None
    audit(
        session, principal, clock=clock, action="task.done" if done else "task.undone",
        case_id=case.id, before={"task_id": row.id, "done": before},
        after={"task_id": row.id, "done": done},
    )  # fmt: skip
    return task_dict(row, now=clock.now())


def list_tasks(
    session: Session, principal: Principal, case_id: int, *, now: datetime
) -> list[dict[str, Any]]:
    """Return the case's tasks, open first then by due time; PermissionDenied for members."""
    case_row_or_raise(session, principal, case_id)
    if not principal.is_cert:
        raise PermissionDenied("a case's tasks are the CERT's working notes")
    rows = session.scalars(select(TaskRow).where(TaskRow.case_id == case_id).order_by(TaskRow.id))
    found = [task_dict(r, now=now) for r in rows]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(found, key=lambda t: (t["done_at"] is not None, t["due_at"] or far, t["id"]))
