"""`vardeild alerts`: list, show, and what people do with an alert (ack, close, reopen,
comment)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.monitoring.records import EVERYTHING, IdArgument, print_facts
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.cli.times import parse_moment
from vardeild.monitoring import alerts as alert_service
from vardeild.monitoring.alert_actions import AlertAction, CloseReason, act_on_alert, alert_history
from vardeild.monitoring.alerts import AlertQuery, AlertStatus
from vardeild.monitoring.model import Severity

app = typer.Typer(
    name="alerts",
    help="Alerts: list, show, acknowledge, close, reopen, comment.",
    no_args_is_help=True,
)

NoteOption = Annotated[
    str, typer.Option("--note", help="Why, in a few words; kept in the alert's history.")
]


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
    """Show one alert with its sample events, matched indicators and history (who
    acknowledged, closed or reopened it, when and why)."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        alert = alert_service.get_alert_or_raise(session, cli.principal, alert_id)
        alert["history"] = alert_history(session, cli.principal, alert_id)
    if as_json:
        print_json(alert)
        return
    print_facts(alert, exclude={"events", "history"})
    _print_history(alert["history"])
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


def _print_history(history: list[dict[str, Any]]) -> None:
    print_table(
        "history",
        ("at", "who", "action", "status", "reason", "note"),
        (
            (
                when(h["at"]),
                h["actor"],
                h["action"],
                h["status_after"]
                if h["status_before"] == h["status_after"]
                else f"{h['status_before']} -> {h['status_after']}",
                h["reason"] or "",
                h["note"],
            )
            for h in history
        ),
    )


def _act(
    ctx: typer.Context,
    alert_id: int,
    action: AlertAction,
    *,
    note: str,
    as_json: bool,
    reason: CloseReason | None = None,
) -> None:
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        entry = act_on_alert(
            session,
            cli.principal,
            alert_id,
            action,
            clock=platform.clock,
            note=note,
            reason=reason,
        )
    if as_json:
        print_json(entry)
        return
    why = f" ({entry['reason']})" if entry["reason"] else ""
    say(f"Alert {alert_id}: {entry['status_before']} -> {entry['status_after']}{why}.")


@app.command("ack")
def alerts_ack(
    ctx: typer.Context, alert_id: IdArgument, note: NoteOption = "", as_json: JsonOption = False
) -> None:
    """Acknowledge an alert: someone is on it. It stays acknowledged as new events come in."""
    _act(ctx, alert_id, AlertAction.ACKNOWLEDGE, note=note, as_json=as_json)


@app.command("close")
def alerts_close(
    ctx: typer.Context,
    alert_id: IdArgument,
    reason: Annotated[
        CloseReason,
        typer.Option(
            "--reason",
            help="Why: resolved, false_positive, duplicate, benign (expected or authorised "
            "traffic) or not_actionable.",
        ),
    ],
    note: NoteOption = "",
    as_json: JsonOption = False,
) -> None:
    """Close an alert with a reason. New events in its window open it again."""
    _act(ctx, alert_id, AlertAction.CLOSE, note=note, as_json=as_json, reason=reason)


@app.command("reopen")
def alerts_reopen(
    ctx: typer.Context, alert_id: IdArgument, note: NoteOption = "", as_json: JsonOption = False
) -> None:
    """Open a closed or acknowledged alert again."""
    _act(ctx, alert_id, AlertAction.REOPEN, note=note, as_json=as_json)


@app.command("comment")
def alerts_comment(
    ctx: typer.Context,
    alert_id: IdArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The comment.")],
    as_json: JsonOption = False,
) -> None:
    """Add a comment to an alert's history; its status stays as it is."""
    _act(ctx, alert_id, AlertAction.COMMENT, note=text, as_json=as_json)
