"""Bulk import and export of the registry: `members import` and `members export`.

Both call `members.registry_io`; the file formats are described in docs/registry-format.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from vardeild.cli.context import cli_context
from vardeild.cli.files import STDIN, read_bytes
from vardeild.cli.output import JsonOption, print_json, say, stdout
from vardeild.core.errors import ValidationFailed
from vardeild.members.registry_io import (
    RegistryFormat,
    apply_import,
    detect_format,
    export_registry,
)
from vardeild.members.service import list_organisations

# Above this size an import shows progress on a terminal; smaller ones finish before it would.
LARGE_IMPORT_BYTES = 256 * 1024

FormatOption = Annotated[
    RegistryFormat | None,
    typer.Option(
        "--format",
        help="The file format. Default: from the file's extension (.json, .yaml/.yml, .csv).",
        show_default=False,
    ),
]


def _format_of(path: Path, given: RegistryFormat | None) -> RegistryFormat:
    """Return the format given, else the one the file's extension names."""
    if given is not None:
        return given
    if path == STDIN:
        raise ValidationFailed.one("stdin", "format", "name the format with --format")
    try:
        return detect_format(path.name)
    except ValueError as exc:
        raise ValidationFailed.one(str(path), "format", str(exc)) from exc


@contextmanager
def _progress(label: str, size: int) -> Iterator[None]:
    """Show an indeterminate progress bar on stderr while a large import runs on a terminal.

    The import checks every record before it writes any, in one call, so there is no count to
    advance; the bar says that work is going on and how long it has taken.
    """
    console = Console(stderr=True)
    if size < LARGE_IMPORT_BYTES or not console.is_terminal:
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(f"{label} ({size / 1_048_576:.1f} MB)", total=None)
        yield


def _show_plan(plan: dict[str, Any], *, dry_run: bool) -> None:
    console = stdout()
    source = plan["source"]
    created, updated, unchanged = plan["created"], plan["updated"], plan["unchanged"]
    if dry_run:
        console.print(Text(f"Dry run of {source}: nothing was written.", style="bold"))
    elif plan["has_changes"]:
        console.print(Text(f"Imported {source}.", style="bold"))
    verb = "Would create" if dry_run else "Created"
    if created:
        console.print(Text(f"{verb} {len(created)} organisation(s):"))
        for name in created:
            console.print(Text(f"  + {name}", style="green"))
    verb = "Would change" if dry_run else "Changed"
    if updated:
        console.print(Text(f"{verb} {len(updated)} organisation(s):"))
        for diff in updated:
            console.print(
                Text(f"  ~ {diff['name']} (id {diff['organisation_id']})", style="yellow")
            )
            for change in diff["changes"]:
                if "added" in change:
                    console.print(Text(f"      {change['field']}:"))
                    for entry in change["added"]:
                        console.print(Text(f"        + {entry}", style="green"))
                    for entry in change["removed"]:
                        console.print(Text(f"        - {entry}", style="red"))
                else:
                    line = f"      {change['field']}: {change['before']!r} -> {change['after']!r}"
                    console.print(Text(line))
    if not plan["has_changes"]:
        console.print(Text(f"No changes: {source} matches the registry."))
    console.print(
        Text(f"{len(created)} to create, {len(updated)} to change, {unchanged} unchanged.")
        if dry_run
        else Text(f"{len(created)} created, {len(updated)} changed, {unchanged} unchanged.")
    )


def import_members(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="The registry file to import: a list of organisations in JSON or YAML, or "
            "CSV with the export's header; '-' reads stdin (then give --format).",
            dir_okay=False,
            allow_dash=True,
        ),
    ],
    fmt: FormatOption = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would change, field by field; write nothing."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import organisations: an idempotent upsert matched by org number, else by name.

    Organisations in the file replace their registry entries; ones not in the file are left
    alone. Every record is checked first; with any problem nothing is applied and every
    problem is listed with its record (line or record number) and field.
    """
    cli = cli_context(ctx)
    platform = cli.platform()
    limit = cli.settings.import_max_bytes
    fmt_ = _format_of(file, fmt)
    data = read_bytes(file, limit=limit)
    source = "stdin" if file == STDIN else file.name
    with _progress(f"Importing {source}", len(data)), platform.session() as session:
        plan = apply_import(
            session,
            cli.principal,
            data,
            fmt_,
            source=source,
            clock=platform.clock,
            key_inspector=platform.key_inspector,
            dry_run=dry_run,
            max_bytes=limit,
        )
    if as_json:
        print_json(plan.to_dict())
        return
    _show_plan(plan.to_dict(), dry_run=dry_run)


def export_members(
    ctx: typer.Context,
    fmt: FormatOption = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file instead of stdout. Its extension sets the format unless "
            "--format is given.",
            dir_okay=False,
            writable=True,
        ),
    ] = None,
) -> None:
    """Export the whole registry (JSON by default, or YAML or CSV) in the format `members
    import` reads back."""
    cli = cli_context(ctx)
    platform = cli.platform()
    chosen = _format_of(output, fmt) if output is not None else fmt or RegistryFormat.JSON
    with platform.session() as session:
        data = export_registry(session, cli.principal, chosen)
        _, total = list_organisations(session, cli.principal, limit=0)
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    temporary = output.with_name(f".{output.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, output)
    say(f"Exported {total} organisations to {output} ({chosen.value}).")
