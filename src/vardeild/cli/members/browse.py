"""Reading the registry: `members list`, `members show` and `members conflicts`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, cell, print_json, print_table, say, stdout, table
from vardeild.members.lookup import list_conflicts
from vardeild.members.model import Criticality, MembershipState, ProgrammeService, Sector
from vardeild.members.service import (
    OrganisationQuery,
    get_organisation_or_raise,
    list_organisations,
)

OrgArgument = Annotated[
    str,
    typer.Argument(
        metavar="ORG", help="The organisation: its id, its org number or its exact name."
    ),
]
EVERYTHING = 2**31 - 1  # the CLI lists everything that matches; it does not page


def list_members(
    ctx: typer.Context,
    sector: Annotated[
        Sector | None, typer.Option("--sector", help="Only organisations of this sector type.")
    ] = None,
    state: Annotated[
        MembershipState | None,
        typer.Option("--state", help="Only organisations in this membership state."),
    ] = None,
    service: Annotated[
        ProgrammeService | None,
        typer.Option("--service", help="Only organisations taking part in this service."),
    ] = None,
    criticality: Annotated[
        Criticality | None,
        typer.Option("--criticality", help="Only organisations of this criticality."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--query",
            "-q",
            help="Only organisations whose name, short name or org number "
            "contains this text (case-insensitive).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the organisations in the registry, ordered by name. With --json, prints a list of
    full organisation records (as `members show --json` does)."""
    state_ = cli_context(ctx)
    platform = state_.platform()
    query = OrganisationQuery(
        text=text,
        sector=sector.value if sector else None,
        state=state.value if state else None,
        service=service.value if service else None,
        criticality=criticality.value if criticality else None,
    )
    with platform.session() as session:
        organisations, total = list_organisations(
            session, state_.principal, query=query, limit=EVERYTHING
        )
    if as_json:
        print_json(organisations)
        return
    print_table(
        None,
        ("id", "name", "org number", "sector", "state", "criticality", "services", "networks"),
        (
            (
                org["id"],
                org["name"],
                org["org_number"],
                org["sector"],
                org["membership"]["state"],
                org["criticality"],
                org["services"],
                len(org["networks"]),
            )
            for org in organisations
        ),
    )
    say(f"{total} organisation{'s' if total != 1 else ''}")


def show_member(ctx: typer.Context, org: OrgArgument, as_json: JsonOption = False) -> None:
    """Show one organisation with its networks, ASNs, domains, contacts, parent and children."""
    state = cli_context(ctx)
    platform = state.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org)
        record = get_organisation_or_raise(session, state.principal, org_id)
        children = [
            get_organisation_or_raise(session, state.principal, child)
            for child in record["children"]
        ]
        parent = (
            get_organisation_or_raise(session, state.principal, record["parent_id"])
            if record["parent_id"] is not None
            else None
        )
    if as_json:
        print_json(record)
        return
    render_organisation(record, parent, children)


def _membership_text(membership: dict[str, Any]) -> str:
    dates = [
        f"{label} {membership[key]}"
        for key, label in (
            ("applied_on", "applied"),
            ("joined_on", "joined"),
            ("suspended_on", "suspended"),
            ("left_on", "left"),
        )
        if membership.get(key)
    ]
    return str(membership["state"]) + (f" ({', '.join(dates)})" if dates else "")


def _reference(org: dict[str, Any]) -> str:
    number = f", {org['org_number']}" if org["org_number"] else ""
    return f"{org['name']} (id {org['id']}{number})"


def render_organisation(
    record: dict[str, Any], parent: dict[str, Any] | None, children: list[dict[str, Any]]
) -> None:
    """Print an organisation's snapshot as people read it."""
    console = stdout()
    console.print(Text(record["name"], style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    for label, value in (
        ("id", record["id"]),
        ("short name", record["short_name"]),
        ("org number", record["org_number"]),
        ("sector", record["sector"]),
        ("criticality", record["criticality"]),
        ("membership", _membership_text(record["membership"])),
        ("services", record["services"] or "none"),
        ("parent", _reference(parent) if parent is not None else ""),
        ("children", [_reference(child) for child in children]),
        ("created", record["created_at"]),
        ("updated", record["updated_at"]),
    ):
        facts.add_row(label, cell(value))
    console.print(facts)
    if record["notes"]:
        console.print(Text(record["notes"], style="italic"))
    sections = (
        ("Networks", ("id", "cidr", "exposure", "description"), "networks", ("cidr",)),
        ("ASNs", ("id", "asn", "exposure", "description"), "asns", ("asn",)),
        ("Domains", ("id", "domain", "exposure", "description"), "domains", ("name",)),
    )
    for title, columns, key, (value_key,) in sections:
        if record[key]:
            console.print(
                table(
                    title,
                    columns,
                    (
                        (item["id"], item[value_key], item["exposure"], item["description"])
                        for item in record[key]
                    ),
                )
            )
    if record["contacts"]:
        console.print(
            table(
                "Contacts",
                ("id", "name", "email", "phone", "roles", "lang", "OpenPGP"),
                (
                    (
                        c["id"],
                        c["name"],
                        c["email"],
                        c["phone"],
                        c["roles"],
                        c["language"],
                        c["pgp_fingerprint"] or "",
                    )
                    for c in record["contacts"]
                ),
            )
        )


def _org_label(ref: dict[str, Any] | None) -> str:
    if ref is None:
        return "(unknown)"
    return f"{ref['name']} (id {ref['id']})"


def conflicts(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every network, domain or ASN claimed by more than one organisation: identical
    claims, and prefixes inside another organisation's (where the most specific one wins)."""
    state = cli_context(ctx)
    platform = state.platform()
    with platform.session() as session:
        found = list_conflicts(session, state.principal)
    if as_json:
        print_json(found)
        return
    if not found:
        say("No overlaps: no two organisations claim the same space.")
        return
    print_table(
        "Overlapping claims",
        ("kind", "outer", "held by", "inner", "held by", "resolution"),
        (
            (
                c["kind"],
                c["outer"],
                _org_label(c["outer_organisation"]),
                c["inner"],
                _org_label(c["inner_organisation"]),
                c["resolution"],
            )
            for c in found
        ),
    )
    say(f"{len(found)} overlap{'s' if len(found) != 1 else ''}")
