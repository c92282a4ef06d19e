"""Changing the registry directly: `members add`, `members edit` and `members remove`.

Each goes through `members.service`, so each change is validated as a whole (every problem is
reported, nothing is half-applied) and audited under the operator's name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.files import read_mapping
from vardeild.cli.members.browse import OrgArgument
from vardeild.cli.output import JsonOption, print_json, say
from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.members.model import (
    ContactRole,
    Criticality,
    MembershipState,
    ProgrammeService,
    Sector,
)
from vardeild.members.service import (
    create_organisation,
    delete_organisation,
    get_organisation_or_raise,
    update_organisation,
)

_CONTACT = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>]+)>\s*$")
_MEMBERSHIP_FIELDS = ("state", "applied_on", "joined_on", "suspended_on", "left_on")


def _choices(kind: type[Any]) -> str:
    return ", ".join(member.value for member in kind)


def _contacts(raw: list[str], roles: list[str], record: str) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    for i, text in enumerate(raw):
        match = _CONTACT.match(text)
        if match is None:
            problems.append(
                FieldProblem(
                    record, f"contacts[{i}]", f"{text!r}: write a contact as 'Name <email>'"
                )
            )
            continue
        contacts.append({"name": match["name"], "email": match["email"], "roles": roles})
    if problems:
        raise ValidationFailed(problems)
    return contacts


def add(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="The organisation's name.")] = None,
    org_number: Annotated[
        str | None,
        typer.Option("--org-number", help="Norwegian organisation number (9 digits, mod-11)."),
    ] = None,
    sector: Annotated[
        str | None, typer.Option("--sector", help=f"Sector type: {_choices(Sector)}.")
    ] = None,
    short_name: Annotated[
        str | None, typer.Option("--short-name", help="A short name for tables.")
    ] = None,
    criticality: Annotated[
        str | None,
        typer.Option("--criticality", help=f"{_choices(Criticality)}. Default: medium."),
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(
            "--state", help=f"Membership state: {_choices(MembershipState)}. Default: applied."
        ),
    ] = None,
    services: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            help=f"A service it takes part in (repeatable): {_choices(ProgrammeService)}.",
        ),
    ] = None,
    parent: Annotated[
        str | None,
        typer.Option("--parent", help="The parent organisation's org number or exact name."),
    ] = None,
    networks: Annotated[
        list[str] | None,
        typer.Option("--network", help="An Internet-facing network in CIDR form (repeatable)."),
    ] = None,
    internal_networks: Annotated[
        list[str] | None,
        typer.Option(
            "--internal-network",
            help="A sector-internal network in CIDR form, e.g. 10.20.0.0/16 (repeatable).",
        ),
    ] = None,
    asns: Annotated[
        list[str] | None,
        typer.Option("--asn", help="An AS number, as 64500 or AS64500 (repeatable)."),
    ] = None,
    domains: Annotated[
        list[str] | None,
        typer.Option("--domain", help="A domain; its subdomains are implied (repeatable)."),
    ] = None,
    contacts: Annotated[
        list[str] | None,
        typer.Option("--contact", help="A contact written as 'Name <email>' (repeatable)."),
    ] = None,
    roles: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help=f"A role of every --contact given (repeatable): {_choices(ContactRole)}.",
        ),
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", help="Free-text notes.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Read the whole organisation from this JSON or YAML file (the import format's "
            "record, see docs/registry-format.md) instead of the options above; '-' reads stdin.",
            dir_okay=False,
            allow_dash=True,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an organisation to the registry, from options or from a file with the full record.
    Every problem is reported at once, naming the record and field; nothing is stored then."""
    from_options = {
        "name": name,
        "org_number": org_number,
        "sector": sector,
        "short_name": short_name,
        "criticality": criticality,
        "parent": parent,
        "notes": notes,
    }
    lists = [services, networks, internal_networks, asns, domains, contacts, roles]
    if file is not None:
        if any(v is not None for v in from_options.values()) or any(lists):
            raise typer.BadParameter("give either --file or the field options, not both")
        data = read_mapping(file, "one organisation (an object with name, sector, ...)")
    else:
        data = {k: v for k, v in from_options.items() if v is not None}
        if state is not None:
            data["membership"] = {"state": state}
        record = f"organisation {name!r}"
        data["services"] = services or []
        data["networks"] = [
            *(networks or []),
            *({"cidr": cidr, "exposure": "internal"} for cidr in internal_networks or []),
        ]
        data["asns"] = asns or []
        data["domains"] = domains or []
        data["contacts"] = _contacts(contacts or [], roles or [], record)
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        created = create_organisation(
            session,
            cli.principal,
            data,
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    if as_json:
        print_json(created)
        return
    say(f"Added organisation {created['id']}: {created['name']}")


def _set_value(raw: str) -> Any:
    """Return a --set value: JSON where it is a list, object or quoted string, else the text."""
    if raw[:1] in ("[", "{", '"'):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{raw!r} is not valid JSON: {exc.msg}") from exc
    return raw


def _patch_from(assignments: list[str]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{assignment!r}: write it as field=value")
        patch[key.strip()] = _set_value(value)
    return patch


def _fold_membership(patch: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Turn `state` and `membership.<field>` keys into one membership object based on the
    current one, so a change of state keeps the dates recorded."""
    membership = dict(current)
    given = False
    if isinstance(patch.get("membership"), dict):
        membership.update(patch.pop("membership"))
        given = True
    for name in _MEMBERSHIP_FIELDS:
        for key in (f"membership.{name}", *((name,) if name == "state" else ())):
            if key in patch:
                membership[name] = patch.pop(key)
                given = True
    if given:
        patch["membership"] = membership
    return patch


def edit(
    ctx: typer.Context,
    org: OrgArgument,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="field=value (repeatable). Fields are those of the import format; a list is "
            "JSON or ';'-separated (networks=192.0.2.0/24;198.51.100.0/24), and replaces the "
            "list held. state=active and membership.joined_on=2026-01-01 change the membership.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A JSON or YAML object of fields to change, as for --set; '-' reads stdin. "
            "--set options apply on top of it.",
            dir_okay=False,
            allow_dash=True,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change fields of an organisation. Fields not named keep their values; a list given
    replaces the list held."""
    patch: dict[str, Any] = {}
    if file is not None:
        patch.update(read_mapping(file, "an object of fields to change"))
    patch.update(_patch_from(assignments or []))
    if not patch:
        raise typer.BadParameter("nothing to change; give --set field=value or --file")
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org)
        before = get_organisation_or_raise(session, cli.principal, org_id)
        patch = _fold_membership(patch, before["membership"])
        after = update_organisation(
            session,
            cli.principal,
            org_id,
            patch,
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    if as_json:
        print_json(after)
        return
    ignored = {"id", "updated_at", "created_at", "children", "parent_id"}
    changed = [k for k in after if k not in ignored and before.get(k) != after.get(k)]
    summary = ", ".join(changed) if changed else "nothing changed"
    say(f"Updated organisation {after['id']}: {after['name']} ({summary})")


def remove(
    ctx: typer.Context,
    org: OrgArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove an organisation with its networks, ASNs, domains, contacts and tokens. Its
    child organisations stay, without a parent. The audit log keeps the removed record."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org)
        record = get_organisation_or_raise(session, cli.principal, org_id)
        if not yes:
            typer.confirm(
                f"Remove {record['name']} (id {org_id}) and everything it owns?", abort=True
            )
        delete_organisation(session, cli.principal, org_id, clock=platform.clock)
    say(f"Removed organisation {org_id}: {record['name']}")
