"""`vardeild intel`: the indicator store — load lists and CSV files, list, count, expire, delete.

Each command goes through `intel.service`, so loads are checked whole, idempotent and audited,
and every change moves the indicator revision that running pipelines watch: a loaded indicator
matches the next batch of events without a restart. docs/indicators.md describes the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from vardeild.cli.context import cli_context
from vardeild.cli.files import STDIN, read_bytes
from vardeild.cli.intel_export import export, share, unshare
from vardeild.cli.intel_feeds import feeds_app, sync
from vardeild.cli.intel_import import import_, unmatchable
from vardeild.cli.output import JsonOption, print_json, print_table, say, stderr, when
from vardeild.cli.phase_progress import progress_bars as _progress
from vardeild.cli.times import parse_moment
from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.feed_service import get_feed_or_raise
from vardeild.intel.loaders import DEFAULT_MAX_BYTES, LoadFormat
from vardeild.intel.model import (
    DEFAULT_CONFIDENCE,
    DEFAULT_SOURCE,
    DEFAULT_TLP,
    Indicator,
    IndicatorFilter,
    IndicatorType,
    LoadResult,
)
from vardeild.intel.service import (
    delete_indicators,
    expire_indicators,
    indicator_stats,
    list_indicators,
    load_indicators,
)

app = typer.Typer(
    name="intel",
    help="Threat indicators: import and sync feeds, list, share and export by TLP, expire, delete.",
    no_args_is_help=True,
)

TypeOption = Annotated[
    IndicatorType | None,
    typer.Option("--type", "-t", help="The indicator type.", show_default=False),
]
IdsArgument = Annotated[
    list[int] | None,
    typer.Argument(metavar="[ID]...", help="Indicator ids.", show_default=False),
]
SourceSelect = Annotated[
    str | None,
    typer.Option("--source", help="Every indicator of this source.", show_default=False),
]


def _format_of(path: Path, given: LoadFormat | None) -> LoadFormat:
    if given is not None:
        return given
    return LoadFormat.CSV if path.suffix.lower() == ".csv" else LoadFormat.LIST


def _show_load(result: LoadResult, name: str) -> None:
    total = result.created + result.updated + result.unchanged
    if result.dry_run:
        say(f"Dry run of {name}: nothing was written.")
        say(
            f"Would create {result.created:,}, change {result.updated:,}; "
            f"{result.unchanged:,} unchanged ({total:,} indicators from source {result.source!r})."
        )
    else:
        say(
            f"Loaded {total:,} indicators from {name} into source {result.source!r}: "
            f"{result.created:,} created, {result.updated:,} changed, "
            f"{result.unchanged:,} unchanged."
        )
    if result.by_type:
        say("By type: " + ", ".join(f"{k} {v:,}" for k, v in result.by_type.items()) + ".")
    if result.duplicates:
        say(f"{result.duplicates:,} rows repeated an earlier row's value; the later one counts.")
    if result.problems:
        console = stderr()
        console.print(
            Text(f"warning: left out {result.skipped:,} invalid rows:", style="yellow"),
            soft_wrap=True,
        )
        for problem in result.problems:
            console.print(Text(f"  {problem}"), soft_wrap=True)


def load(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A plain list (one value a line) or a CSV file with a header; '-' reads stdin.",
            dir_okay=False,
            allow_dash=True,
        ),
    ],
    indicator_type: Annotated[
        IndicatorType | None,
        typer.Option(
            "--type",
            "-t",
            help="The type of every value (in CSV: of rows without a type cell). Default: "
            "inferred from each value; 32 hex digits (MD5, JA3 or JA3S) need it.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        LoadFormat | None,
        typer.Option(
            "--format",
            help="list or csv. Default: csv for a .csv file, else list.",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            "--source",
            help="Where the indicators come from; a value is one indicator per source, and "
            "loading the same source again updates it.",
        ),
    ] = DEFAULT_SOURCE,
    tlp: Annotated[
        Tlp,
        typer.Option("--tlp", help="TLP 2.0 label of rows without one.", case_sensitive=False),
    ] = DEFAULT_TLP,
    confidence: Annotated[
        int,
        typer.Option("--confidence", min=0, max=100, help="Confidence (0-100) of rows without."),
    ] = DEFAULT_CONFIDENCE,
    valid_until: Annotated[
        str | None,
        typer.Option(
            "--valid-until",
            help="Rows without their own stop matching after this date (through its end, "
            "UTC) or time. Default: until expired or deleted.",
            show_default=False,
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Load the valid rows and report the invalid ones, instead of loading nothing.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Check the file and count what would change; write nothing."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Load indicators from a plain list or CSV file: an idempotent upsert on (type, value,
    source).

    Every row is checked first; with any problem nothing is loaded and every problem is listed
    with its line (unless --skip-invalid). One audit entry records the load. Running pipelines
    pick the new indicators up with their next batch.
    """
    moment = (
        parse_moment(valid_until, option="--valid-until", end_of_day=True) if valid_until else None
    )
    cli = cli_context(ctx)
    platform = cli.platform()
    chosen = _format_of(file, fmt)
    data = read_bytes(file, limit=DEFAULT_MAX_BYTES)
    name = "stdin" if file == STDIN else file.name
    with _progress(f"Loading {name}", len(data)) as progress, platform.session() as session:
        result = load_indicators(
            session,
            cli.principal,
            data,
            clock=platform.clock,
            indicator_type=indicator_type,
            fmt=chosen,
            source=source,
            tlp=tlp,
            confidence=confidence,
            valid_until=moment,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            origin=name,
            progress=progress,
        )
    if as_json:
        print_json(result.to_dict())
        return
    _show_load(result, name)


def _row(indicator: Indicator) -> tuple[Any, ...]:
    return (
        indicator.id,
        indicator.type.value,
        indicator.value,
        indicator.source,
        indicator.tlp.value,
        indicator.confidence,
        when(indicator.valid_until),
        indicator.sighting_count,
        when(indicator.last_sighted_at),
        list(indicator.tags),
    )


def list_(
    ctx: typer.Context,
    indicator_type: TypeOption = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only indicators of this source.")
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--query", "-q", help="Only indicators whose value contains this text (any case)."
        ),
    ] = None,
    valid: Annotated[
        bool, typer.Option("--valid", help="Only indicators that match now (not expired).")
    ] = False,
    tlp: Annotated[
        Tlp | None,
        typer.Option("--tlp", case_sensitive=False, help="Only indicators of this TLP."),
    ] = None,
    feed: Annotated[
        str | None, typer.Option("--feed", help="Only indicators a configured feed brought.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List indicators ordered by type and value. With --json, a list of full records."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        feed_id = get_feed_or_raise(session, cli.principal, feed).id if feed else None
        filters = IndicatorFilter(
            type=indicator_type,
            source=source,
            text=text,
            valid_at=platform.clock.now() if valid else None,
            tlp=tlp,
            feed_id=feed_id,
        )
        found, total = list_indicators(session, cli.principal, filters, limit=limit, offset=offset)
    if as_json:
        print_json([indicator.to_dict() for indicator in found])
        return
    print_table(
        None,
        (
            "id",
            "type",
            "value",
            "source",
            "tlp",
            "conf.",
            "valid until",
            "sightings",
            "last sighted",
            "tags",
        ),
        (_row(indicator) for indicator in found),
    )
    if total > offset + len(found):
        say(f"Showing {offset + 1:,}-{offset + len(found):,} of {total:,}; see --offset.")


def stats(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Count the indicators: valid and expired, by type, by source, and their sightings."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        counts = indicator_stats(session, cli.principal, now=platform.clock.now())
    if as_json:
        print_json(counts.to_dict())
        return
    say(
        f"{counts.total:,} indicators: {counts.valid:,} valid, {counts.expired:,} expired; "
        f"{counts.sighted:,} sighted ({counts.sightings:,} sightings); "
        f"revision {counts.revision:,}."
    )
    if counts.by_type:
        print_table("By type", ("type", "indicators"), counts.by_type.items())
    if counts.by_source:
        print_table("By source", ("source", "indicators"), counts.by_source.items())


def expire(
    ctx: typer.Context,
    ids: IdsArgument = None,
    source: SourceSelect = None,
    as_json: JsonOption = False,
) -> None:
    """Make indicators stop matching now (by id, or all of a source); they stay listed. Loading
    them again from their source makes them valid again."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        changed = expire_indicators(
            session, cli.principal, clock=platform.clock, ids=ids or (), source=source
        )
    if as_json:
        print_json({"expired": changed})
        return
    say(f"Expired {changed:,} indicators.")


def delete(
    ctx: typer.Context,
    ids: IdsArgument = None,
    source: SourceSelect = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete indicators (by id, or all of a source) with their sightings. The audit log keeps
    which ids were deleted."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        if not ids and source is None:
            raise ValidationFailed.one("options", "", "name indicators by id or a source")
        if not yes:
            typer.confirm(f"Delete {_described(ids or [], source)}?", abort=True)
        deleted = delete_indicators(
            session, cli.principal, clock=platform.clock, ids=ids or (), source=source
        )
    if as_json:
        print_json({"deleted": deleted})
        return
    say(f"Deleted {deleted:,} indicators.")


def _described(ids: list[int], source: str | None) -> str:
    """Return what a delete names, for its confirmation question."""
    parts = []
    if ids:
        shown = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
        parts.append(f"indicator{'s' if len(ids) != 1 else ''} {shown}")
    if source is not None:
        parts.append(f"every indicator of source {source!r}")
    return " and ".join(parts)


app.command("load")(load)
app.command("import")(import_)
app.command("unmatchable")(unmatchable)
app.command("sync")(sync)
app.add_typer(feeds_app)
app.command("list")(list_)
app.command("stats")(stats)
app.command("expire")(expire)
app.command("delete")(delete)
app.command("export")(export)
app.command("share")(share)
app.command("unshare")(unshare)
