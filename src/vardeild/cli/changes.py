"""`vardeild changes`: members' change requests, which a CERT analyst approves or rejects."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from vardeild.cli.context import MAX_ID, cli_context, resolve_organisation
from vardeild.cli.files import read_mapping
from vardeild.cli.output import JsonOption, print_json, print_table, say, stdout, when
from vardeild.members.changes import (
    ChangeRequest,
    ChangeStatus,
    approve_change_request,
    get_change_request_or_raise,
    list_change_requests,
    propose_change,
    reject_change_request,
    withdraw_change_request,
)

app = typer.Typer(
    name="changes",
    help="Change requests from members: list, show, propose, approve, reject.",
    no_args_is_help=True,
)
EVERYTHING = 2**31 - 1

IdArgument = Annotated[
    int,
    typer.Argument(metavar="ID", min=1, max=MAX_ID, help="The change request's id."),
]


def request_dict(request: ChangeRequest) -> dict[str, Any]:
    """Return a change request as JSON-ready data."""
    data = dataclasses.asdict(request)
    data["status"] = request.status.value
    data["proposed_at"] = request.proposed_at.isoformat()
    data["decided_at"] = request.decided_at.isoformat() if request.decided_at else None
    return data


def summarise(changes: dict[str, Any]) -> str:
    """Return a one-line summary of a request's changes, e.g. 'networks +2 -1, contacts ~1'."""
    parts = []
    for kind, ops in changes.items():
        if not isinstance(ops, dict):
            continue
        counts = [
            f"{sign}{len(ops[op])}"
            for op, sign in (("add", "+"), ("remove", "-"), ("update", "~"))
            if isinstance(ops.get(op), list) and ops[op]
        ]
        parts.append(f"{kind} {' '.join(counts)}")
    return ", ".join(parts)


@app.command("list")
def list_changes(
    ctx: typer.Context,
    status: Annotated[
        ChangeStatus | None,
        typer.Option("--status", help="Only requests in this state, e.g. pending."),
    ] = None,
    org: Annotated[
        str | None,
        typer.Option("--org", help="Only requests for this organisation (id, org number, name)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List change requests, newest first."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org) if org is not None else None
        requests, total = list_change_requests(
            session, cli.principal, status=status, organisation_id=org_id, limit=EVERYTHING
        )
    if as_json:
        print_json([request_dict(r) for r in requests])
        return
    print_table(
        None,
        ("id", "org", "status", "changes", "proposed by", "proposed at", "decided by"),
        (
            (
                r.id,
                r.organisation_id,
                r.status.value,
                summarise(r.changes),
                r.proposed_by,
                when(r.proposed_at),
                r.decided_by,
            )
            for r in requests
        ),
    )
    say(f"{total} change request{'s' if total != 1 else ''}")


def _render(request: ChangeRequest) -> None:
    console = stdout()
    console.print(Text(f"Change request {request.id}", style="bold"))
    for label, value in (
        ("organisation", request.organisation_id),
        ("status", request.status.value),
        ("proposed", f"{when(request.proposed_at)} by {request.proposed_by}"),
        ("decided", f"{when(request.decided_at)} by {request.decided_by}"
         if request.decided_by else ""),
        ("reason", request.decision_reason),
        ("comment", request.comment),
    ):  # fmt: skip
        if value not in ("", None):
            console.print(Text(f"{label:>12}: {value}"))
    console.print(Text("     changes:"))
    console.print(Text(json.dumps(request.changes, indent=2, ensure_ascii=False)))


@app.command("show")
def show(ctx: typer.Context, request_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one change request with everything it would add, remove or update."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        request = get_change_request_or_raise(session, cli.principal, request_id)
    if as_json:
        print_json(request_dict(request))
        return
    _render(request)


@app.command("propose")
def propose(
    ctx: typer.Context,
    org: Annotated[
        str, typer.Argument(metavar="ORG", help="The organisation (id, org number or exact name).")
    ],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            help='The changes as JSON or YAML, e.g. {"networks": {"add": ["192.0.2.0/24"]}}; '
            "'-' reads stdin.",
            dir_okay=False,
            allow_dash=True,
        ),
    ],
    comment: Annotated[
        str, typer.Option("--comment", help="Why the change is wanted, for the reviewer.")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Record a change request on a member's behalf (for one that arrived by e-mail or phone);
    it waits, pending, for approval."""
    changes = read_mapping(file, "an object of changes (networks, asns, domains, contacts)")
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org)
        request = propose_change(
            session,
            cli.principal,
            org_id,
            changes,
            comment=comment,
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    if as_json:
        print_json(request_dict(request))
        return
    say(f"Proposed change request {request.id} for organisation {org_id}: pending.")


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="A note for the member (optional).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a pending change request: its changes are applied to the registry (and audited)
    now. If it no longer fits the organisation's entry, nothing changes and it stays pending."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        request = approve_change_request(
            session,
            cli.principal,
            request_id,
            reason=reason,
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    if as_json:
        print_json(request_dict(request))
        return
    say(f"Approved change request {request.id}; organisation {request.organisation_id} updated.")


@app.command("reject")
def reject(
    ctx: typer.Context,
    request_id: IdArgument,
    reason: Annotated[
        str, typer.Option("--reason", help="Why it is rejected; the member reads this.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Reject a pending change request, with the reason the member will read."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        request = reject_change_request(
            session, cli.principal, request_id, reason=reason, clock=platform.clock
        )
    if as_json:
        print_json(request_dict(request))
        return
    say(f"Rejected change request {request.id}.")


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    request_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn (optional).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Withdraw a pending change request on the member's behalf; nothing of it applies."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        request = withdraw_change_request(
            session, cli.principal, request_id, reason=reason, clock=platform.clock
        )
    if as_json:
        print_json(request_dict(request))
        return
    say(f"Withdrew change request {request.id}.")
