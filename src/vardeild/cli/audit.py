"""`vardeild audit`: the record of every change, who made it, when, and the state before and
after."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from vardeild.access.model import Action, authorize
from vardeild.audit.model import AuditEntry, AuditFilter
from vardeild.audit.service import list_entries
from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.cli.times import parse_moment
from vardeild.core.errors import NotFound

app = typer.Typer(name="audit", help="The audit log of every change.", no_args_is_help=True)

_NOT_COMPARED = {"updated_at", "created_at"}


def changed_fields(entry: AuditEntry) -> str:
    """Return what an entry changed, for a table: created, deleted, or the fields that differ."""
    before, after = entry.before, entry.after
    if before is None and after is not None:
        return "created"
    if after is None and before is not None:
        return "deleted"
    if before is None or after is None:
        return ""
    keys = [
        k for k in {**before, **after} if k not in _NOT_COMPARED and before.get(k) != after.get(k)
    ]
    return ", ".join(keys)


def _entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "organisation_id": entry.organisation_id,
        "before": entry.before,
        "after": entry.after,
        "note": entry.note,
    }


def _organisation_id(session: Session, reference: str) -> int:
    """Return the organisation's id; a bare id is taken as is, since a removed organisation's
    entries stay in the log after the organisation is gone."""
    try:
        return resolve_organisation(session, reference)
    except NotFound:
        if reference.strip().isdigit():
            return int(reference)
        raise


@app.command("list")
def list_audit(
    ctx: typer.Context,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Only changes by this actor, e.g. cli:kari or token:3:sync."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only this action, e.g. organisation.update."),
    ] = None,
    entity_type: Annotated[
        str | None,
        typer.Option(
            "--entity-type",
            help="Only this kind of record: organisation, change_request, api_token.",
        ),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", help="Only changes concerning this organisation (id, org number or name)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only changes at or after this date or time (UTC unless it says)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until", help="Only changes before this time; a date alone includes that whole day."
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Show at most this many entries, newest first.")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """List audit entries, newest first. With --json each entry carries the full state before
    and after the change."""
    filters_since = parse_moment(since, option="--since") if since else None
    filters_until = parse_moment(until, option="--until", end_of_day=True) if until else None
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        authorize(cli.principal, Action.READ_AUDIT)
        org_id = _organisation_id(session, org) if org is not None else None
        filters = AuditFilter(
            actor=actor,
            action=action,
            entity_type=entity_type,
            organisation_id=org_id,
            since=filters_since,
            until=filters_until,
        )
        entries, total = list_entries(session, filters=filters, limit=limit)
    if as_json:
        print_json([_entry_dict(entry) for entry in entries])
        return
    print_table(
        None,
        ("id", "at (UTC)", "actor", "action", "record", "org", "changed", "note"),
        (
            (
                e.id,
                when(e.at),
                e.actor,
                e.action,
                f"{e.entity_type} {e.entity_id}",
                e.organisation_id,
                changed_fields(e),
                e.note,
            )
            for e in entries
        ),
    )
    say(f"{len(entries)} of {total} entr{'y' if total == 1 else 'ies'} shown, newest first")
