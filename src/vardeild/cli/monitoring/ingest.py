"""`vardeild ingest eve` and `ingest shadowserver`: files into the pipeline, each resuming at
its checkpoint."""

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

from vardeild.app import build_pipeline
from vardeild.cli.context import CliContext, cli_context
from vardeild.cli.output import JsonOption, print_json, say
from vardeild.core.errors import ValidationFailed
from vardeild.monitoring.files import (
    Totals,
    expand_paths,
    ingest_eve_files,
    ingest_shadowserver_files,
)
from vardeild.monitoring.ingest import Checkpoint
from vardeild.monitoring.pipeline import Pipeline
from vardeild.monitoring.sensors import record_sensor_seen, record_sensor_stats
from vardeild.monitoring.store import get_checkpoint

app = typer.Typer(name="ingest", help="Read events from files.", no_args_is_help=True)

PathsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...", help="Files, or directories (every file in them, sorted by name)."
    ),
]


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


def cli_pipeline(cli: CliContext) -> Pipeline:
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


@app.command("eve")
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
    pipeline = cli_pipeline(cli)
    started = time.monotonic()
    with _stopping() as stop, _progress(not as_json, "EVE") as show:
        totals = ingest_eve_files(
            pipeline,
            files,
            checkpoint_of=_checkpoints(cli),
            batch_records=cli.settings.ingest_batch_records,
            sensor=sensor,
            follow=follow,
            stop=stop,
            on_batch=show,
        )
    _summary(totals, time.monotonic() - started, as_json)


@app.command("shadowserver")
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
    pipeline = cli_pipeline(cli)
    started = time.monotonic()
    with _stopping() as stop, _progress(not as_json, "Shadowserver") as show:
        totals = ingest_shadowserver_files(
            pipeline,
            files,
            checkpoint_of=_checkpoints(cli),
            batch_records=cli.settings.ingest_batch_records,
            report_type=report_type,
            stop=stop,
            on_batch=show,
        )
    _summary(totals, time.monotonic() - started, as_json)
