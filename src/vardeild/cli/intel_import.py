"""`vardeild intel import`: STIX bundles, MISP events and feeds, abuse.ch feeds, plain lists and
CSV (with a column mapping) into the indicator store.

Each file is one import through `intel.import_service`: its good records are stored, its bad
ones listed with their position, its unmatchable objects kept, and one audit entry written.
A file refused whole (not the format it claims to be) is reported and the others go on; the
command then exits 2. docs/intel-import.md describes the formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from vardeild.cli.context import cli_context
from vardeild.cli.files import STDIN, read_bytes
from vardeild.cli.output import CliFailure, JsonOption, print_json, print_table, say, stderr
from vardeild.cli.phase_progress import progress_bars
from vardeild.cli.times import parse_moment
from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.csv_mapping import parse_mapping
from vardeild.intel.import_service import import_parsed, list_unmatchable
from vardeild.intel.importers import merge, read_import
from vardeild.intel.imports import ImportDefaults, ImportFormat, ParsedFeed
from vardeild.intel.loaders import DEFAULT_MAX_BYTES
from vardeild.intel.misp_in import read_misp_event, read_misp_manifest
from vardeild.intel.model import DEFAULT_CONFIDENCE, DEFAULT_TLP, IndicatorType, LoadResult


def read_path(
    path: Path,
    *,
    fmt: ImportFormat,
    defaults: ImportDefaults,
    mapping: dict[str, str] | None,
) -> tuple[ParsedFeed, ImportFormat]:
    """Return what a file (or a MISP feed directory holding manifest.json) imports as."""
    if path != STDIN and path.is_dir():
        if fmt not in (ImportFormat.AUTO, ImportFormat.MISP_FEED):
            raise ValidationFailed.one(str(path), "", "is a directory; only a MISP feed is one")
        return read_misp_feed_dir(path, defaults=defaults), ImportFormat.MISP_FEED
    data = read_bytes(path, limit=DEFAULT_MAX_BYTES)
    if len(data) > DEFAULT_MAX_BYTES:
        raise ValidationFailed.one(str(path), "", f"is larger than {DEFAULT_MAX_BYTES:,} bytes")
    return read_import(data, fmt=fmt, defaults=defaults, mapping=mapping, name=path.name)


def read_misp_feed_dir(path: Path, *, defaults: ImportDefaults) -> ParsedFeed:
    """Return the events of a MISP feed directory: manifest.json and one <uuid>.json each."""
    manifest = path / "manifest.json"
    try:
        stamps = read_misp_manifest(read_bytes(manifest, limit=DEFAULT_MAX_BYTES))
    except ValueError as exc:
        raise ValidationFailed.one(str(manifest), "", str(exc)) from None
    parts = []
    for uuid in sorted(stamps):
        event_file = path / f"{uuid}.json"
        if not event_file.is_file():
            missing = ParsedFeed()
            missing.note(f"event {uuid}", "", "is in manifest.json but has no file", 0)
            parts.append(missing)
            continue
        parts.append(read_misp_event(read_bytes(event_file), defaults=defaults))
    return merge(parts)


def import_(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Files to import ('-' reads stdin); a MISP feed is its directory.",
            allow_dash=True,
        ),
    ],
    fmt: Annotated[
        ImportFormat,
        typer.Option("--format", "-f", help="The files' format; auto looks at the content."),
    ] = ImportFormat.AUTO,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Source name of the indicators. Default: the file's name without extension.",
            show_default=False,
        ),
    ] = None,
    tlp: Annotated[
        Tlp,
        typer.Option("--tlp", help="TLP of records without a marking.", case_sensitive=False),
    ] = DEFAULT_TLP,
    confidence: Annotated[
        int, typer.Option("--confidence", min=0, max=100, help="Confidence of records without.")
    ] = DEFAULT_CONFIDENCE,
    indicator_type: Annotated[
        IndicatorType | None,
        typer.Option("--type", "-t", help="Plain lists and CSV: the type of every value."),
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map",
            help="CSV column mapping, e.g. value=ioc,type=kind,tags=family,first_seen=date.",
            show_default=False,
        ),
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option("--valid-until", help="Records without their own stop matching then."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Read and count; write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import indicators from STIX, MISP, abuse.ch, plain-list or CSV files.

    Good records are stored even when others are bad; bad ones are listed with their position.
    STIX indicators whose patterns do not reduce to values, and MISP attributes without an
    event field, are kept as not matchable (see `vardeild intel unmatchable`).
    """
    try:
        columns = parse_mapping(mapping) if mapping else None
    except ValueError as exc:
        raise ValidationFailed.one("options", "--map", str(exc)) from None
    moment = (
        parse_moment(valid_until, option="--valid-until", end_of_day=True) if valid_until else None
    )
    defaults = ImportDefaults(
        tlp=tlp, confidence=confidence, type=indicator_type, valid_until=moment
    )
    cli = cli_context(ctx)
    platform = cli.platform()
    results: list[dict[str, Any]] = []
    failed = 0
    for path in files:
        name = "stdin" if path == STDIN else path.name
        try:
            parsed, chosen = read_path(path, fmt=fmt, defaults=defaults, mapping=columns)
            size = 0 if path == STDIN or path.is_dir() else path.stat().st_size
            with (
                progress_bars(f"Importing {name}", size) as progress,
                platform.session() as session,
            ):
                result = import_parsed(
                    session,
                    cli.principal,
                    parsed,
                    clock=platform.clock,
                    source=source or (path.stem if path != STDIN else "stdin"),
                    fmt=chosen.value,
                    dry_run=dry_run,
                    origin=str(path),
                    progress=progress,
                )
        except ValidationFailed as exc:
            failed += 1
            results.append({"file": str(path), "refused": [str(p) for p in exc.problems]})
            if not as_json:
                console = stderr()
                console.print(Text(f"error: {path} was not imported:", style="red"), soft_wrap=True)
                for problem in exc.problems:
                    console.print(Text(f"  {problem}"), soft_wrap=True)
            continue
        results.append({"file": str(path), **result.to_dict()})
        if not as_json:
            _show(result, name)
    if as_json:
        print_json(results)
    if failed:
        raise CliFailure(f"{failed} of {len(files)} files were not imported", code=2)


def _show(result: LoadResult, name: str) -> None:
    total = result.created + result.updated + result.unchanged
    verb = "Would import" if result.dry_run else "Imported"
    say(
        f"{verb} {total:,} indicators from {name} ({result.format}) into source "
        f"{result.source!r}: {result.created:,} created, {result.updated:,} changed, "
        f"{result.unchanged:,} unchanged; {result.unmatchable:,} kept as not matchable, "
        f"{result.ignored:,} other objects ignored."
    )
    if result.by_type:
        say("By type: " + ", ".join(f"{k} {v:,}" for k, v in result.by_type.items()) + ".")
    if result.problems:
        console = stderr()
        console.print(
            Text(f"warning: left out {result.skipped:,} invalid records:", style="yellow"),
            soft_wrap=True,
        )
        for problem in result.problems[:50]:
            console.print(Text(f"  {problem}"), soft_wrap=True)
        if len(result.problems) > 50:
            console.print(Text(f"  ... and {len(result.problems) - 50:,} more"), soft_wrap=True)


def unmatchable(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List what imports kept but cannot match (STIX patterns, MISP attributes), and why."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        found, total = list_unmatchable(
            session, cli.principal, source=source, limit=limit, offset=offset
        )
    if as_json:
        print_json(found)
        return
    print_table(
        None,
        ("id", "source", "object", "kind", "text", "reason"),
        (
            (
                row["id"],
                row["source"],
                row["object_id"],
                row["kind"],
                row["text"][:80],
                row["reason"],
            )
            for row in found
        ),
    )
    if total > offset + len(found):
        say(f"Showing {offset + 1:,}-{offset + len(found):,} of {total:,}; see --offset.")
