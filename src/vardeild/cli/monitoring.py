"""Monitoring from the command line: `vardeild ingest`, `quarantine`, `alerts` and `suppress`."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from vardeild.access.model import Action, authorize
from vardeild.app import build_pipeline
from vardeild.cli.context import MAX_ID, CliContext, cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, stdout, when
from vardeild.cli.times import parse_moment
from vardeild.core.errors import ValidationFailed
from vardeild.monitoring import alerts as alert_service
from vardeild.monitoring import quarantine as quarantine_service
from vardeild.monitoring import suppression
from vardeild.monitoring.alerts import AlertQuery, AlertStatus
from vardeild.monitoring.files import (
    Totals,
    expand_paths,
    ingest_eve_files,
    ingest_shadowserver_files,
)
from vardeild.monitoring.ingest import Checkpoint, Feed
from vardeild.monitoring.model import Severity
from vardeild.monitoring.pipeline import Pipeline
from vardeild.monitoring.quarantine import QuarantineQuery, QuarantineStatus
from vardeild.monitoring.sensors import record_sensor_seen, record_sensor_stats
from vardeild.monitoring.store import get_checkpoint

ingest_app = typer.Typer(name="ingest", help="Read events from files.", no_args_is_help=True)
quarantine_app = typer.Typer(
    name="quarantine",
    help="Records the pipeline could not take: list, show, replay, discard.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(name="alerts", help="Alerts: list and show.", no_args_is_help=True)
suppress_app = typer.Typer(
    name="suppress", help="Suppression rules: add, list, remove.", no_args_is_help=True
)
EVERYTHING = 2**31 - 1

PathsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...", help="Files, or directories (every file in them, sorted by name)."
    ),
]
IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_ID, help="Its id.")]


def mount(app: typer.Typer) -> None:
    """Add the monitoring command groups to the root command."""
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(suppress_app, name="suppress")


# --- ingest ------------------------------------------------------------------------------------


@contextmanager
def _stopping() -> Iterator[threading.Event]:
    """Yield an event set by SIGINT or SIGTERM, so that a reader commits and stops cleanly."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _progress(enabled: bool, what: str) -> Iterator[Any]:
    """Yield a callback showing lines/s on a terminal's stderr (nothing elsewhere)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    started = time.monotonic()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(what)

        def show(totals: Totals) -> None:
            rate = totals.records / max(time.monotonic() - started, 1e-9)
            progress.update(
                task,
                description=f"{what}: {totals.records:,} records ({rate:,.0f}/s), "
                f"{totals.events_stored:,} stored, {totals.quarantined:,} quarantined",
            )

        yield show


def _pipeline(cli: CliContext) -> Pipeline:
    """Return the pipeline, telling the sensor registry what each sensor sent."""
    return build_pipeline(
        cli.platform(), on_sensor_stats=record_sensor_stats, on_sensor_seen=record_sensor_seen
    )


def _checkpoints(cli: CliContext) -> Any:
    platform = cli.platform()

    def lookup(source: str) -> Checkpoint | None:
        with platform.session() as session:
            return get_checkpoint(session, source)

    return lookup


def _files(paths: list[Path]) -> list[Path]:
    try:
        return expand_paths(paths)
    except FileNotFoundError as exc:
        raise ValidationFailed.one(
            str(exc).partition(":")[0], "", "no such file or directory"
        ) from exc


def _summary(totals: Totals, seconds: float, as_json: bool) -> None:
    rate = totals.records / seconds if seconds > 0 else 0.0
    data = {**vars(totals), "seconds": round(seconds, 3), "records_per_second": round(rate)}
    if as_json:
        print_json(data)
        return
    say(
        f"Read {totals.records:,} records from {totals.files} file(s) in {seconds:.1f} s "
        f"({rate:,.0f}/s): {totals.events_stored:,} events stored, "
        f"{totals.events_duplicate:,} already stored, {totals.events_unattributed:,} "
        f"unattributed (counted), {totals.events_unmatched_protocol:,} protocol records without "
        f"an indicator match, {totals.events_suppressed:,} suppressed, {totals.quarantined:,} "
        f"quarantined; {totals.alerts_touched:,} alert updates."
    )


@ingest_app.command("eve")
def ingest_eve(
    ctx: typer.Context,
    paths: PathsArgument,
    sensor: Annotated[
        str | None,
        typer.Option("--sensor", help="The sensor that wrote the files (default: EVE's host)."),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep reading as the files grow, like tail -F (through rotation and "
            "truncation), until SIGINT or SIGTERM.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Read Suricata EVE JSON files into the pipeline, resuming where the last run committed."""
    cli = cli_context(ctx)
    files = _files(paths)
    pipeline = _pipeline(cli)
    started = time.monotonic()
    with _stopping() as stop, _progress(not as_json, "EVE") as show:
        totals = ingest_eve_files(
            pipeline,
            files,
            checkpoint_of=_checkpoints(cli),
            sensor=sensor,
            follow=follow,
            stop=stop,
            on_batch=show,
        )
    _summary(totals, time.monotonic() - started, as_json)


@ingest_app.command("shadowserver")
def ingest_shadowserver(
    ctx: typer.Context,
    paths: PathsArgument,
    report_type: Annotated[
        str | None,
        typer.Option(
            "--report-type",
            help="The report type, for files whose name does not say it (e.g. scan_rdp).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Read Shadowserver CSV reports into the pipeline, resuming where the last run committed."""
    cli = cli_context(ctx)
    files = _files(paths)
    pipeline = _pipeline(cli)
    started = time.monotonic()
    with _stopping() as stop, _progress(not as_json, "Shadowserver") as show:
        totals = ingest_shadowserver_files(
            pipeline,
            files,
            checkpoint_of=_checkpoints(cli),
            report_type=report_type,
            stop=stop,
            on_batch=show,
        )
    _summary(totals, time.monotonic() - started, as_json)


# --- quarantine --------------------------------------------------------------------------------


@quarantine_app.command("list")
def quarantine_list(
    ctx: typer.Context,
    source: Annotated[
        str | None, typer.Option("--source", help="Only from this source, e.g. file:/path.")
    ] = None,
    feed: Annotated[Feed | None, typer.Option("--feed", help="Only of this feed.")] = None,
    status: Annotated[
        QuarantineStatus | None, typer.Option("--status", help="Only in this state.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List quarantined records, oldest first: where they came from and why."""
    cli = cli_context(ctx)
    query = QuarantineQuery(source=source, feed=feed, status=status)
    with cli.platform().session() as session:
        items, total = quarantine_service.list_quarantined(
            session, cli.principal, query=query, limit=EVERYTHING
        )
    if as_json:
        print_json(items)
        return
    print_table(
        None,
        ("id", "status", "feed", "source", "position", "received", "attempts", "reason"),
        (
            (
                q["id"],
                q["status"],
                q["feed"],
                q["source"],
                q["position"],
                when(q["received_at"]),
                q["attempts"],
                q["last_error"] or q["reason"],
            )
            for q in items
        ),
    )
    say(f"{total} record{'s' if total != 1 else ''}")


@quarantine_app.command("show")
def quarantine_show(ctx: typer.Context, record_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one quarantined record with its raw bytes."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        record = quarantine_service.get_quarantined_or_raise(session, cli.principal, record_id)
    if as_json:
        print_json(record)
        return
    _facts(record, exclude={"raw"})
    stdout().print(Text("raw:", style="dim"))
    stdout().print(Text(record["raw"]), soft_wrap=True)


@quarantine_app.command("replay")
def quarantine_replay(
    ctx: typer.Context,
    record_ids: Annotated[
        list[int] | None,
        typer.Argument(metavar="[ID...]", min=1, max=MAX_ID, help="The records to replay."),
    ] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="Replay every held record (of --source).")
    ] = False,
    source: Annotated[
        str | None, typer.Option("--source", help="With --all: only from this source.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Parse held records again with the current parsers: each one that parses now is ingested
    and marked replayed; each one that fails stays held with the new reason."""
    cli = cli_context(ctx)
    platform = cli.platform()
    if bool(record_ids) == replay_all:
        raise ValidationFailed.one("replay", "ID", "give record ids, or --all (not both)")
    with platform.session() as session:
        if replay_all:
            record_ids = quarantine_service.held_ids(session, cli.principal, source=source)
        else:
            authorize(cli.principal, Action.EDIT)
    pipeline = _pipeline(cli)
    outcomes = []
    for record_id in record_ids or []:
        result = pipeline.replay(record_id)
        outcomes.append(
            {
                "id": record_id,
                "replayed": result.quarantined == 0,
                "events_stored": result.events_stored,
                "events_duplicate": result.events_duplicate,
            }
        )
    if as_json:
        print_json(outcomes)
        return
    done = sum(o["replayed"] for o in outcomes)
    say(f"Replayed {done} of {len(outcomes)} record(s); {len(outcomes) - done} still held.")


@quarantine_app.command("discard")
def quarantine_discard(
    ctx: typer.Context,
    record_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why it is discarded (audited).")],
    as_json: JsonOption = False,
) -> None:
    """Discard a held record: it is kept, marked discarded, and the reason audited."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        record = quarantine_service.discard(
            session, cli.principal, record_id, clock=platform.clock, reason=reason
        )
    if as_json:
        print_json(record)
        return
    say(f"Discarded quarantined record {record_id}.")


# --- alerts ------------------------------------------------------------------------------------


@alerts_app.command("list")
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


@alerts_app.command("show")
def alerts_show(ctx: typer.Context, alert_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one alert with its sample events and matched indicators."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        alert = alert_service.get_alert_or_raise(session, cli.principal, alert_id)
    if as_json:
        print_json(alert)
        return
    _facts(alert, exclude={"events"})
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


def _facts(record: dict[str, Any], *, exclude: set[str]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for key, value in record.items():
        if key not in exclude:
            grid.add_row(Text(key), Text("" if value is None else str(value)))
    stdout().print(grid)


# --- suppression -------------------------------------------------------------------------------


@suppress_app.command("add")
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


@suppress_app.command("list")
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


@suppress_app.command("remove")
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
