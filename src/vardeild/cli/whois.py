"""`vardeild whois`: which member owns an IP address, network, domain, ASN, URL or e-mail."""

from __future__ import annotations

from typing import Annotated

import typer

from vardeild.cli.context import cli_context
from vardeild.cli.output import JsonOption, print_json, say
from vardeild.members import lookup

NO_MEMBER = "no member"


def whois(
    ctx: typer.Context,
    value: Annotated[
        str,
        typer.Argument(
            metavar="VALUE",
            help="An IP address or CIDR, a domain, an AS number (64500 or AS64500), a URL or "
            "an e-mail address.",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Name the member that owns a value: longest-prefix match for addresses, the registered
    domain or a parent of it for names, the AS number for ASNs. Prints "no member" (and exits
    0) when no member owns it."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        index = platform.attribution_index(session)
        result = lookup.whois(session, cli.principal, value, index=index).to_dict()
    if as_json:
        print_json(result)
        return
    organisations = result["organisations"]
    if not organisations:
        say(f"{value}: {NO_MEMBER}")
        return
    say(f"{value}: {result['kind']} {result['matched']}")
    for org in organisations:
        number = f", org number {org['org_number']}" if org["org_number"] else ""
        say(f"  {org['name']} (id {org['id']}{number})", style="bold")
    if len(organisations) > 1:
        say(
            "  Several organisations claim this identically; see `vardeild members conflicts`.",
            style="yellow",
        )
