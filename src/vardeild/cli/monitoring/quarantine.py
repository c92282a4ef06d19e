"""`vardeild quarantine`: list, show, replay and discard what the pipeline could not take."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from vardeild.access.model import Action, authorize
from vardeild.cli.context import MAX_ID, cli_context
from vardeild.cli.monitoring.ingest import cli_pipeline
from vardeild.cli.monitoring.records import EVERYTHING, IdArgument, print_facts
from vardeild.cli.output import JsonOption, print_json, print_table, say, stdout, when
from vardeild.core.errors import ValidationFailed
from vardeild.monitoring import quarantine as quarantine_service
from vardeild.monitoring.ingest import Feed
from vardeild.monitoring.quarantine import QuarantineQuery, QuarantineStatus

app = typer.Typer(
    name="quarantine",
    help="Records the pipeline could not take: list, show, replay, discard.",
    no_args_is_help=True,
)


@app.command("list")
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


@app.command("show")
def quarantine_show(ctx: typer.Context, record_id: IdArgument, as_json: JsonOption = False) -> None:
    """Show one quarantined record with its raw bytes."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        record = quarantine_service.get_quarantined_or_raise(session, cli.principal, record_id)
    if as_json:
        print_json(record)
        return
    print_facts(record, exclude={"raw"})
    stdout().print(Text("raw:", style="dim"))
    stdout().print(Text(record["raw"]), soft_wrap=True)


@app.command("replay")
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
    pipeline = cli_pipeline(cli)
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


@app.command("discard")
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
