"""`vardeild alerts list` and `alerts show`."""

from __future__ import annotations

from typing import Annotated

import typer

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.monitoring.records import EVERYTHING, IdArgument, print_facts
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.cli.times import parse_moment
from vardeild.monitoring import alerts as alert_service
from vardeild.monitoring.alerts import AlertQuery, AlertStatus
from vardeild.monitoring.model import Severity

app = typer.Typer(name="alerts", help="Alerts: list and show.", no_args_is_help=True)


@app.command("list")
def alerts_list(
    ctx: typer.Context,
    member: Annotated[
        str | None,
        typer.Option("--member", help="Only this member's (id, org number or exact name)."),
    ] = None,
    status: Annotated[
        AlertStatus | None, typer.Option("--status", help="Only in this state.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only seen at or after this date or time.")
    ] = None,
    severity: Annotated[
        str | None,
        typer.Option(
            "--severity", help="Only at least this severe: info, low, medium, high, critical."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts, most recently seen first."""
    cli = cli_context(ctx)
    level = _severity(severity)
    with cli.platform().session() as session:
        member_id = resolve_organisation(session, member) if member else None
        query = AlertQuery(
            member_id=member_id,
            status=status,
            since=parse_moment(since, option="--since") if since else None,
            severity=level,
        )
        items, total = alert_service.list_alerts(
            session, cli.principal, query=query, limit=EVERYTHING
        )
    if as_json:
        print_json(items)
        return
    print_table(
        None,
        (
            "id",
            "member",
            "severity",
            "status",
            "count",
            "last seen",
            "classification",
            "external",
            "signature",
        ),
        (
            (
                a["id"],
                a["member_id"],
                a["severity"],
                a["status"],
                a["count"],
                when(a["last_seen"]),
                a["classification"]["identifier"],
                a["external_party"],
                a["signature"],
            )
            for a in items
        ),
    )
    say(f"{total} alert{'s' if total != 1 else ''}")


def _severity(text: str | None) -> Severity | None:
    if text is None:
        return None
    try:
        return Severity[text.strip().upper()]
    except KeyError:
        raise typer.BadParameter(
            f"{text!r} is not one of info, low, medium, high, critical", param_hint="--severity"
        ) from None


@app.command("show")
def alerts_show(ctx: typer.Context, alert_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one alert with its sample events and matched indicators."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        alert = alert_service.get_alert_or_raise(session, cli.principal, alert_id)
    if as_json:
        print_json(alert)
        return
    print_facts(alert, exclude={"events"})
    print_table(
        "sample events",
        ("id", "time", "kind", "source", "destination", "raw"),
        (
            (
                e["id"],
                e["event"].get("time_source") or e["event"].get("time_observation"),
                e["event"].get("kind"),
                e["event"].get("source_ip"),
                e["event"].get("destination_ip"),
                e["raw"][:120],
            )
            for e in alert["events"]
        ),
    )
