"""Incident cases: list, open, read, change, move through the workflow, assign; the journal,
tasks, links, candidate observables, involved organisations, coordinated updates and their
acknowledgement, evidence attachments, merge and split; escalation of an alert; statistics
(JSON or CSV).

A member's token sees only the cases its organisation is involved in (others answer 404, as
ones that do not exist), and of those only shared journal entries below TLP:RED, its own
involvement and the updates sent to it; it may write shared journal entries, acknowledge its
updates, download shared evidence and open a case about itself. Everything else is the CERT's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents import (
    attachments,
    coordination,
    journal,
    links,
    service,
    stats,
    tasks,
    workflow,
)
from vardeild.incidents.cases_read import require_editor
from vardeild.incidents.config import deadline_policy, evidence_store
from vardeild.incidents.model import (
    CaseStatus,
    EntrySource,
    Impact,
    InvolvedRole,
    InvolvedStatus,
    LinkKind,
    ObservableKind,
    Pap,
    Visibility,
)
from vardeild.monitoring.model import Severity
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.web.deps import ID_MAX, PageDep, PlatformDep, PrincipalDep, SessionDep
from vardeild.web.schemas import Page

router = APIRouter(prefix="/cases", tags=["cases"])
upload_router = APIRouter(prefix="/cases", tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=ID_MAX, description="The case's id.")]
ItemId = Annotated[int, Path(ge=1, le=ID_MAX, description="The item's id.")]
OrganisationId = Annotated[int, Path(ge=1, le=ID_MAX, description="The organisation's id.")]
Text = Annotated[str, Field(max_length=20_000)]
Short = Annotated[str, Field(max_length=1_000)]


def _tlp(value: str | None, field: str = "tlp") -> Tlp | None:
    if value is None:
        return None
    try:
        return Tlp.parse(value)
    except ValueError as exc:
        raise ValidationFailed.one("request", field, str(exc)) from exc


def _severity(value: str, field: str = "severity") -> Severity:
    try:
        return Severity[value.strip().upper()]
    except KeyError:
        raise ValidationFailed.one(
            "request", field, f"{value!r}: one of info, low, medium, high, critical"
        ) from None


# --- shapes --------------------------------------------------------------------------------


class ClassificationOut(BaseModel):
    """The case's Reference Security Incident Taxonomy classification."""

    taxonomy: str
    type: str


class CaseOut(BaseModel):
    """A case. A member's token gets the fields up to updated_at only (the rest are left
    out of the answer, not sent empty)."""

    id: int
    reference: str = Field(description="VARDEILD#<id>, as subjects and replies carry it.")
    title: str
    classification: ClassificationOut
    severity: str
    impact: str
    tlp: str
    pap: str
    status: CaseStatus
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    assignee_user_id: int | None = None
    reporter: str | None = None
    reporter_organisation_id: int | None = None
    source: str | None = None
    significant: bool | None = None
    aware_at: datetime | None = None
    early_warning_at: datetime | None = None
    notification_at: datetime | None = None
    final_report_at: datetime | None = None
    created_by: str | None = None
    acknowledged_at: datetime | None = None
    contained_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    merged_into_id: int | None = None


class CaseIn(BaseModel):
    """A new case. A member's token opens one about its own organisation only."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: Text = ""
    classification_type: str = Field(
        default="undetermined", max_length=64, description="An RSIT type, e.g. phishing."
    )
    severity: str = Field(default="medium", description="info, low, medium, high, critical.")
    impact: Impact = Impact.NONE
    tlp: str = Field(default="AMBER", description="TLP 2.0 label.")
    pap: str = Field(default="AMBER", description="PAP label.")
    reporter: Short = ""
    reporter_organisation_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    significant: bool = False
    affected_organisation_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(
        default_factory=list, max_length=500, description="Involved as affected."
    )


class CaseChangeIn(BaseModel):
    """Fields of a case to change; reports (early_warning, ...) as made now when true."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=300)
    description: Text | None = None
    classification_type: str | None = Field(default=None, max_length=64)
    severity: str | None = None
    impact: Impact | None = None
    tlp: str | None = None
    pap: str | None = None
    significant: bool | None = None
    contained: bool | None = Field(default=None, description="The harm is contained (now).")
    early_warning: bool | None = Field(default=None, description="The early warning is made.")
    notification: bool | None = Field(default=None, description="The notification is made.")
    final_report: bool | None = Field(default=None, description="The final report is made.")


class StatusIn(BaseModel):
    """A move in the workflow."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatus
    note: Short = ""


class AssignIn(BaseModel):
    """Who handles the case (null: no one)."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(ge=1, le=ID_MAX)


class EscalateIn(BaseModel):
    """An alert to open a case for."""

    model_config = ConfigDict(extra="forbid")

    alert_id: int = Field(ge=1, le=ID_MAX)
    title: str | None = Field(default=None, max_length=300)
    tlp: str = "AMBER"
    note: Text = ""


class DeadlineOut(BaseModel):
    """One clock of a case."""

    kind: str
    regulatory: bool
    due_at: datetime
    met_at: datetime | None
    overdue: bool


class EntryOut(BaseModel):
    """A journal entry."""

    id: int
    case_id: int
    at: datetime
    author: str
    text: str
    tlp: str
    visibility: Visibility
    source: EntrySource


class EntryIn(BaseModel):
    """A journal entry to add. A member's entries are shared."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1)
    visibility: Visibility = Visibility.SHARED
    tlp: str | None = None


class TaskOut(BaseModel):
    """A task on a case."""

    id: int
    case_id: int
    title: str
    owner: str
    due_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    overdue: bool


class TaskIn(BaseModel):
    """A task to add."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    owner: str = Field(default="", max_length=200)
    due_at: AwareDatetime | None = None


class DoneIn(BaseModel):
    """Done, or not done again."""

    model_config = ConfigDict(extra="forbid")

    done: bool = True


class LinkOut(BaseModel):
    """A case's link to another record."""

    id: int
    case_id: int
    kind: LinkKind
    target_id: int
    note: str
    created_at: datetime
    created_by: str


class LinkIn(BaseModel):
    """A record to link."""

    model_config = ConfigDict(extra="forbid")

    kind: LinkKind
    target_id: int = Field(ge=1, le=ID_MAX)
    note: Short = ""


class ObservableOut(BaseModel):
    """A candidate observable."""

    id: int
    case_id: int
    kind: ObservableKind
    value: str
    status: str
    source: str
    found_at: datetime
    found_by: str
    indicator_id: int | None


class ObservablesIn(BaseModel):
    """Candidate observables to add."""

    model_config = ConfigDict(extra="forbid")

    observables: list[tuple[ObservableKind, Annotated[str, Field(max_length=1000)]]] = Field(
        max_length=1000
    )


class DecisionIn(BaseModel):
    """Promote a candidate to an indicator, or dismiss it."""

    model_config = ConfigDict(extra="forbid")

    promote: bool
    tlp: str = "AMBER"


class InvolvedIn(BaseModel):
    """An organisation to involve."""

    model_config = ConfigDict(extra="forbid")

    organisation_id: int = Field(ge=1, le=ID_MAX)
    role: InvolvedRole = InvolvedRole.AFFECTED
    contacts: Short = ""


class InvolvedChangeIn(BaseModel):
    """An involved organisation's status, role or contacts."""

    model_config = ConfigDict(extra="forbid")

    status: InvolvedStatus | None = None
    role: InvolvedRole | None = None
    contacts: Short | None = None


class UpdateIn(BaseModel):
    """A coordinated update to the involved organisations (all, or those named)."""

    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1)
    title: str = Field(default="", max_length=300)
    tlp: str | None = None
    organisation_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] | None = Field(
        default=None, max_length=500
    )


class MergeIn(BaseModel):
    """The case to merge this one into."""

    model_config = ConfigDict(extra="forbid")

    into_case_id: int = Field(ge=1, le=ID_MAX)


class SplitIn(BaseModel):
    """What moves to the new case."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    journal_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(default_factory=list)
    link_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(default_factory=list)
    organisation_ids: list[Annotated[int, Field(ge=1, le=ID_MAX)]] = Field(default_factory=list)


# --- cases ---------------------------------------------------------------------------------


@router.get(
    "", response_model=Page[CaseOut], response_model_exclude_unset=True, summary="List cases"
)
def list_cases_route(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    status: CaseStatus | None = None,
    open_only: Annotated[bool, Query(alias="open", description="Only open cases.")] = False,
    organisation_id: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Cases this organisation is in.")
    ] = None,
    taxonomy: Annotated[str | None, Query(max_length=64)] = None,
    significant: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="In the title.")] = None,
) -> dict[str, Any]:
    """Cases, newest first; a member token sees those its organisation is involved in."""
    query = service.CaseQuery(
        status=status, open_only=open_only, organisation_id=organisation_id,
        classification_taxonomy=taxonomy, significant=significant, text=q,
    )  # fmt: skip
    items, total = service.list_cases(
        session, principal, query=query, limit=page.limit, offset=page.offset
    )
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.post(
    "",
    response_model=CaseOut,
    response_model_exclude_unset=True,
    status_code=201,
    summary="Open a case",
)
def create_case_route(
    body: CaseIn, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Open a case; a member token opens one about its own organisation."""
    tlp = _tlp(body.tlp) or Tlp.AMBER
    try:
        pap = Pap.parse(body.pap)
    except ValueError as exc:
        raise ValidationFailed.one("request", "pap", str(exc)) from exc
    return service.create_case(
        session, principal, clock=platform.clock, title=body.title,
        description=body.description, classification_type=body.classification_type,
        severity=_severity(body.severity), impact=body.impact, tlp=tlp, pap=pap,
        reporter=body.reporter, reporter_organisation_id=body.reporter_organisation_id,
        source=EntrySource.API, significant=body.significant,
        involve=[(o, InvolvedRole.AFFECTED) for o in body.affected_organisation_ids],
    )  # fmt: skip


@router.post("/escalate", response_model=CaseOut, status_code=201, summary="Escalate an alert")
def escalate_route(
    body: EscalateIn, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> dict[str, Any]:
    """Open a case for the alert in one step: the alert linked, its member involved."""
    return service.escalate_alert(
        session, principal, body.alert_id, clock=platform.clock, title=body.title,
        tlp=_tlp(body.tlp) or Tlp.AMBER, note=body.note,
    )  # fmt: skip


@router.get(
    "/stats",
    summary="Case statistics",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def stats_route(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    since: Annotated[AwareDatetime | None, Query(description="Default: a year ago.")] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Before this (default: no end).")
    ] = None,
    period: stats.Period = stats.Period.MONTH,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """Cases opened in the range per period by classification, sector and member, and the
    times to acknowledge, contain and close (CERT only)."""
    now = platform.clock.now()
    figures = stats.case_stats(
        session, principal, since=since or now - timedelta(days=365), until=until,
        period=period,
    )  # fmt: skip
    if format == "csv":
        return Response(
            stats.stats_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="vardeild-case-stats.csv"'},
        )
    return figures


@router.get(
    "/{case_id}", response_model=CaseOut, response_model_exclude_unset=True, summary="Read a case"
)
def get_case_route(case_id: CaseId, session: SessionDep, principal: PrincipalDep) -> Any:
    """The case as the caller may see it."""
    return service.get_case_or_raise(session, principal, case_id)


@router.patch("/{case_id}", response_model=CaseOut, summary="Change a case")
def update_case_route(
    case_id: CaseId,
    body: CaseChangeIn,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:
    """Change the fields given."""
    changes = body.model_dump(exclude_none=True)
    return service.update_case(session, principal, case_id, changes, clock=platform.clock)


@router.post("/{case_id}/status", response_model=CaseOut, summary="Move a case")
def status_route(
    case_id: CaseId, body: StatusIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Move the case in the workflow (409 names the moves allowed)."""
    return workflow.set_case_status(
        session, principal, case_id, body.status, clock=platform.clock, note=body.note
    )


@router.post("/{case_id}/assign", response_model=CaseOut, summary="Assign a case")
def assign_route(
    case_id: CaseId, body: AssignIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Give the case to a CERT admin or analyst."""
    return service.assign_case(session, principal, case_id, body.user_id, clock=platform.clock)


@router.get("/{case_id}/deadlines", response_model=list[DeadlineOut], summary="Deadlines")
def deadlines_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> list[dict[str, Any]]:
    """The regulatory clocks and service targets, and which are overdue (CERT only)."""
    return service.case_deadlines(
        session, principal, case_id, policy=deadline_policy(platform.settings),
        now=platform.clock.now(),
    )  # fmt: skip


@router.post("/{case_id}/merge", response_model=CaseOut, summary="Merge into another case")
def merge_route(
    case_id: CaseId, body: MergeIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Fold this case into the other; answer the other."""
    return workflow.merge_cases(
        session, principal, case_id, body.into_case_id, clock=platform.clock
    )


@router.post("/{case_id}/split", response_model=CaseOut, status_code=201, summary="Split a case")
def split_route(
    case_id: CaseId, body: SplitIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Open a new case with the chosen journal entries and links."""
    return workflow.split_case(
        session, principal, case_id, clock=platform.clock, title=body.title,
        journal_ids=body.journal_ids, link_ids=body.link_ids,
        organisation_ids=body.organisation_ids,
    )  # fmt: skip


# --- journal, tasks, links, observables ----------------------------------------------------


@router.get("/{case_id}/journal", response_model=list[EntryOut], summary="Read the journal")
def journal_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The journal, oldest first; a member token gets the shared entries below TLP:RED."""
    return journal.list_journal(session, principal, case_id)


@router.post(
    "/{case_id}/journal", response_model=EntryOut, status_code=201, summary="Write in the journal"
)
def add_entry_route(
    case_id: CaseId, body: EntryIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Add an entry (a member's is shared)."""
    return journal.add_journal_entry(
        session, principal, case_id, clock=platform.clock, text=body.text,
        visibility=body.visibility, source=EntrySource.API, tlp=_tlp(body.tlp),
    )  # fmt: skip


@router.get("/{case_id}/tasks", response_model=list[TaskOut], summary="List tasks")
def tasks_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep, platform: PlatformDep
) -> list[dict[str, Any]]:
    """The case's tasks, open first (CERT only)."""
    return tasks.list_tasks(session, principal, case_id, now=platform.clock.now())


@router.post("/{case_id}/tasks", response_model=TaskOut, status_code=201, summary="Add a task")
def add_task_route(
    case_id: CaseId, body: TaskIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Add a task."""
    return tasks.add_task(
        session, principal, case_id, clock=platform.clock, title=body.title, owner=body.owner,
        due_at=body.due_at,
    )  # fmt: skip


@router.post("/{case_id}/tasks/{task_id}/done", response_model=TaskOut, summary="Task done")
def task_done_route(
    case_id: CaseId, task_id: ItemId, body: DoneIn, session: SessionDep,
    principal: PrincipalDep, platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Mark the task done, or not done again."""
    return tasks.set_task_done(
        session, principal, case_id, task_id, clock=platform.clock, done=body.done
    )


@router.get("/{case_id}/links", response_model=list[LinkOut], summary="List links")
def links_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The records the case links (CERT only)."""
    return links.list_links(session, principal, case_id)


@router.post("/{case_id}/links", response_model=LinkOut, status_code=201, summary="Link a record")
def add_link_route(
    case_id: CaseId, body: LinkIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Link an alert, event, indicator or finding (checked to exist)."""
    return links.add_link(
        session, principal, case_id, clock=platform.clock, kind=body.kind,
        target_id=body.target_id, note=body.note,
    )  # fmt: skip


@router.delete("/{case_id}/links/{link_id}", status_code=204, summary="Remove a link")
def remove_link_route(
    case_id: CaseId, link_id: ItemId, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> Response:  # fmt: skip
    """Remove the link."""
    links.remove_link(session, principal, case_id, link_id, clock=platform.clock)
    return Response(status_code=204)


@router.get(
    "/{case_id}/observables", response_model=list[ObservableOut], summary="Candidate observables"
)
def observables_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The candidate observables found on the case (CERT only)."""
    return links.list_observables(session, principal, case_id)


@router.post("/{case_id}/observables", summary="Add candidate observables")
def add_observables_route(
    case_id: CaseId, body: ObservablesIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> list[dict[str, Any]]:  # fmt: skip
    """Store candidates; each answer says what it became or why it was refused."""
    return links.add_observables(
        session, principal, case_id, clock=platform.clock, observables=body.observables,
        source=EntrySource.API,
    )  # fmt: skip


@router.post(
    "/{case_id}/observables/{observable_id}/decision",
    response_model=ObservableOut,
    summary="Promote or dismiss a candidate",
)
def decide_observable_route(
    case_id: CaseId, observable_id: ItemId, body: DecisionIn, session: SessionDep,
    principal: PrincipalDep, platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Promote the candidate to an indicator, or dismiss it."""
    return links.decide_observable(
        session, principal, case_id, observable_id, clock=platform.clock, promote=body.promote,
        tlp=_tlp(body.tlp) or Tlp.AMBER,
    )  # fmt: skip


# --- coordination --------------------------------------------------------------------------


@router.get("/{case_id}/organisations", summary="Involved organisations")
def involved_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The involved organisations with the updates each was sent and acknowledged; a member
    token sees its own line only."""
    return coordination.list_involved(session, principal, case_id)


@router.post("/{case_id}/organisations", status_code=201, summary="Involve an organisation")
def involve_route(
    case_id: CaseId, body: InvolvedIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Add an organisation to the case in a role."""
    return coordination.involve_organisation(
        session, principal, case_id, body.organisation_id, body.role, clock=platform.clock,
        contacts=body.contacts,
    )  # fmt: skip


@router.patch("/{case_id}/organisations/{organisation_id}", summary="Change an involvement")
def update_involved_route(
    case_id: CaseId, organisation_id: OrganisationId, body: InvolvedChangeIn,
    session: SessionDep, principal: PrincipalDep, platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Change the organisation's status, role or contacts in the case."""
    return coordination.update_involved(
        session, principal, case_id, organisation_id, clock=platform.clock,
        status=body.status, role=body.role, contacts=body.contacts,
    )  # fmt: skip


@router.delete("/{case_id}/organisations/{organisation_id}", status_code=204, summary="Uninvolve")
def remove_involved_route(
    case_id: CaseId, organisation_id: OrganisationId, session: SessionDep,
    principal: PrincipalDep, platform: PlatformDep,
) -> Response:  # fmt: skip
    """Take the organisation out of the case."""
    coordination.remove_involved(session, principal, case_id, organisation_id, clock=platform.clock)
    return Response(status_code=204)


@router.get("/{case_id}/updates", summary="Coordinated updates")
def updates_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The updates sent; a member token sees those sent to it."""
    return coordination.list_updates(session, principal, case_id)


@router.post("/{case_id}/updates", status_code=201, summary="Send a coordinated update")
def send_update_route(
    case_id: CaseId, body: UpdateIn, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Send the update to every involved organisation (or those named) as a notice each."""
    return coordination.send_update(
        session, principal, case_id, clock=platform.clock,
        config=notify_config(platform.settings), text=body.text, title=body.title,
        tlp=_tlp(body.tlp), organisation_ids=body.organisation_ids,
    )  # fmt: skip


@router.post("/{case_id}/updates/{update_id}/ack", summary="Acknowledge an update")
def ack_update_route(
    case_id: CaseId, update_id: ItemId, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> dict[str, Any]:  # fmt: skip
    """Acknowledge, for the token's organisation, an update it was sent."""
    return coordination.acknowledge_update(
        session, principal, case_id, update_id, clock=platform.clock
    )


# --- evidence ------------------------------------------------------------------------------


@router.get("/{case_id}/attachments", summary="List evidence")
def attachments_route(
    case_id: CaseId, session: SessionDep, principal: PrincipalDep
) -> list[dict[str, Any]]:
    """The evidence the caller is entitled to."""
    return attachments.list_attachments(session, principal, case_id)


@router.get(
    "/{case_id}/attachments/{attachment_id}",
    summary="Download evidence",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_route(
    case_id: CaseId, attachment_id: ItemId, session: SessionDep, principal: PrincipalDep,
    platform: PlatformDep,
) -> Response:  # fmt: skip
    """The file, always as a download (never rendered by the browser)."""
    record, data = attachments.read_attachment(
        session, principal, case_id, attachment_id, store=evidence_store(platform.settings)
    )
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="evidence-{record["id"]}"',
            "X-Content-SHA256": record["sha256"],
        },
    )


async def _evidence_body(request: Request, platform: PlatformDep, principal: PrincipalDep) -> bytes:
    """Return the request body, refusing (413) one larger than case_attachment_max_bytes
    before it is all read. A caller who may not change cases is refused (403) before any of
    it is read: the role alone decides that, so the answer is the same for every case and
    says nothing of one the caller cannot see (the case itself is looked up after the read,
    not before: on SQLite that would hold the write lock while a slow client uploads)."""
    require_editor(principal)
    limit = platform.settings.case_attachment_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        413,
        detail=f"The file is larger than {limit:,} bytes (the case_attachment_max_bytes "
        "setting). Nothing was stored.",
    )


@upload_router.post(
    "/{case_id}/attachments",
    status_code=201,
    summary="Upload evidence",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The file itself, as the raw body.",
            "content": {"application/octet-stream": {}},
        }
    },
    responses={413: {"description": "The file is larger than case_attachment_max_bytes."}},
)
def upload_route(
    case_id: CaseId,
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    # After the principal: a caller without a token, or one who may not change cases, is
    # refused before the body is read.
    body: Annotated[bytes, Depends(_evidence_body)],
    filename: Annotated[str, Query(min_length=1, max_length=255)],
    visibility: Visibility = Visibility.INTERNAL,
    tlp: Annotated[str | None, Query(max_length=20)] = None,
    content_type: Annotated[str, Query(max_length=200)] = "application/octet-stream",
) -> dict[str, Any]:
    """Store the body as evidence on the case (CERT only), by its SHA-256."""
    return attachments.add_attachment(
        session, principal, case_id, clock=platform.clock,
        store=evidence_store(platform.settings), data=body, filename=filename,
        content_type=content_type, visibility=visibility, tlp=_tlp(tlp),
    )  # fmt: skip
