"""`vardeild suppress`: add, list and remove suppression rules (audited)."""

from __future__ import annotations

from typing import Annotated

import typer

from vardeild.cli.context import MAX_ID, cli_context, resolve_organisation
from vardeild.cli.monitoring.records import IdArgument
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.cli.times import parse_moment
from vardeild.monitoring import suppression

app = typer.Typer(
    name="suppress", help="Suppression rules: add, list, remove.", no_args_is_help=True
)


@app.command("add")
def suppress_add(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option("--reason", help="Why these events are benign.")],
    member: Annotated[
        str | None,
        typer.Option("--member", help="Only this member's events (id, org number or name)."),
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option(
            "--signature",
            help="Only this signature id (2001219 means sid:1:2001219), or classification "
            "identifier or type.",
        ),
    ] = None,
    network: Annotated[
        str | None, typer.Option("--network", help="Only events with an address in this CIDR.")
    ] = None,
    indicator: Annotated[
        int | None,
        typer.Option(
            "--indicator", min=1, max=MAX_ID, help="Only events matching this indicator id."
        ),
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="When the rule stops applying (date or time).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add a suppression rule: matching events are counted, not stored or alerted on."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        member_id = resolve_organisation(session, member) if member else None
        rule = suppression.add_rule(
            session,
            cli.principal,
            clock=platform.clock,
            reason=reason,
            member_id=member_id,
            identifier=signature,
            network=network,
            indicator_id=indicator,
            expires_at=parse_moment(expires, option="--expires") if expires else None,
        )
    if as_json:
        print_json(rule)
        return
    say(f"Added suppression rule {rule['id']}.")


@app.command("list")
def suppress_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List suppression rules, newest first, with how many events each has suppressed."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        rules = suppression.list_rules(session, cli.principal)
    if as_json:
        print_json(rules)
        return
    print_table(
        None,
        (
            "id",
            "member",
            "identifier",
            "network",
            "indicator",
            "hits",
            "expires",
            "author",
            "reason",
        ),
        (
            (
                r["id"],
                r["member_id"],
                r["identifier"],
                r["network"],
                r["indicator_id"],
                r["hit_count"],
                when(r["expires_at"]),
                r["author"],
                r["reason"],
            )
            for r in rules
        ),
    )


@app.command("remove")
def suppress_remove(
    ctx: typer.Context,
    rule_id: IdArgument,
    as_json: JsonOption = False,
) -> None:
    """Remove a suppression rule (audited); its events are stored and alerted on again."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        rule = suppression.remove_rule(session, cli.principal, rule_id, clock=platform.clock)
    if as_json:
        print_json(rule)
        return
    say(f"Removed suppression rule {rule_id}.")
