"""`vardeild vulndb`: the vulnerability knowledge — load files, sync from the sources, stats.

`load` reads NVD API 2.0 responses, CVE JSON 5 records, the KEV catalogue (JSON or CSV) and
EPSS scores (CSV, gzip allowed) from files or directories (an offline mirror); `sync` fetches
what changed from the URLs in the settings. Both are idempotent and audited; a record that
cannot be read is listed with its place and why, and the rest load. docs/vulndb.md describes
the sources and how matching decides.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from vardeild.cli.context import cli_context
from vardeild.cli.files import read_bytes
from vardeild.cli.output import (
    EXIT_INVALID,
    CliFailure,
    JsonOption,
    print_json,
    print_table,
    say,
    stderr,
    when,
)
from vardeild.cli.phase_progress import phase_bars
from vardeild.cli.times import parse_moment
from vardeild.exposure.config import sync_config
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.vuln_model import ProductVersion
from vardeild.exposure.vulndb_records import MAX_DOCUMENT_BYTES, DocumentError
from vardeild.exposure.vulndb_service import (
    LoadCounts,
    load_vulndb_document,
    vulndb_stats,
)
from vardeild.exposure.vulndb_sync import SOURCES, SyncError, sync_vulndb

app = typer.Typer(
    name="vulndb",
    help="Vulnerability knowledge (CVE, KEV, EPSS): load files, sync, stats.",
    no_args_is_help=True,
)

SUFFIXES = (".json", ".csv", ".gz")


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)
            )
        else:
            found.append(path)
    return found


def _show(counts: LoadCounts) -> None:
    say(
        f"{counts.name}: {counts.kind}, {counts.read:,} read: {counts.created:,} new, "
        f"{counts.updated:,} changed, {counts.unchanged:,} unchanged"
        + (f", {counts.removed:,} removed" if counts.removed else "")
        + "."
    )
    if counts.problems:
        console = stderr()
        console.print(Text(f"warning: {len(counts.problems):,} records refused:", style="yellow"))
        for problem in counts.problems[:50]:
            console.print(Text(f"  {problem}"))
        if len(counts.problems) > 50:
            console.print(Text(f"  ... and {len(counts.problems) - 50:,} more"))


def load(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or directories (searched for .json, .csv and .gz files).", exists=True
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Load NVD API 2.0 responses, CVE JSON 5 records, KEV catalogues and EPSS files.

    Each file is one transaction and one audit entry; loading the same file again changes
    nothing. A file of no known kind is refused with the reason (exit 2 at the end); the other
    files still load.
    """
    cli = cli_context(ctx)
    platform = cli.platform()
    results, refused = [], []
    with phase_bars() as progress:
        for path in _files(paths):
            data = read_bytes(path, limit=MAX_DOCUMENT_BYTES)
            try:
                with platform.session() as session:
                    counts = load_vulndb_document(
                        session,
                        cli.principal,
                        data,
                        name=str(path),
                        clock=platform.clock,
                        progress=progress,
                    )
            except DocumentError as exc:
                refused.append(str(exc))
                continue
            results.append(counts)
            if not as_json:
                _show(counts)
    if as_json:
        print_json({"loaded": [c.as_dict() for c in results], "refused": refused})
    for reason in refused:
        stderr().print(Text(f"refused: {reason}", style="red"))
    if refused:
        files = "file" if len(refused) == 1 else "files"
        raise CliFailure(f"{len(refused)} {files} refused", EXIT_INVALID)


def sync(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            help=f"Sync only this source (repeatable): {', '.join(SOURCES)}. Default: all.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="NVD: fetch CVEs changed since this date or time, instead of since the last "
            "sync (a first sync without it goes 120 days back).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch what changed: NVD CVEs by lastModified windows, and the KEV and EPSS files whole.

    The URLs, the NVD API key and the download bounds come from the settings (vulndb_*). Each
    NVD window is committed as it completes, so an interrupted sync resumes where it stopped.
    """
    chosen = sources or list(SOURCES)
    unknown = sorted(set(chosen) - set(SOURCES))
    if unknown:
        raise CliFailure(f"unknown source {', '.join(unknown)}; use {', '.join(SOURCES)}", 2)
    moment: datetime | None = parse_moment(since, option="--since") if since else None
    cli = cli_context(ctx)
    platform = cli.platform()
    with phase_bars() as progress, platform.session_factory() as session:
        try:
            results = sync_vulndb(
                session,
                cli.principal,
                config=sync_config(cli.settings),
                clock=platform.clock,
                sources=chosen,
                since=moment,
                on_step=session.commit,
                progress=progress,
            )
            session.commit()
        except SyncError as exc:
            session.commit()  # what earlier steps stored stays
            raise CliFailure(f"sync failed: {exc}") from exc
    if as_json:
        print_json([c.as_dict() for c in results])
        return
    for counts in results:
        _show(counts)


def stats(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show how many CVEs, criteria, KEV entries and EPSS scores are stored, and each sync."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        found = vulndb_stats(session, cli.principal)
    if as_json:
        print_json(found.as_dict())
        return
    print_table(
        "Vulnerability knowledge",
        ("what", "count"),
        [
            ("CVEs", found.cves),
            ("  of them rejected", found.rejected),
            *((f"  records from {origin}", n) for origin, n in sorted(found.records.items())),
            ("match criteria", found.criteria),
            ("KEV entries", found.kev),
            ("  known ransomware use", found.kev_ransomware),
            ("EPSS scores", found.epss),
            ("  score date", found.epss_score_date or "-"),
        ],
    )
    if found.synced:
        print_table(
            "Syncs",
            ("source", "last success", "NVD cursor", "what it brought"),
            [
                (source, when(at), when(cursor), detail)
                for source, (at, cursor, detail) in sorted(found.synced.items())
            ],
        )


def match(
    ctx: typer.Context,
    cpe: Annotated[
        str | None, typer.Option("--cpe", help="A CPE 2.3 string or a 2.2 URI.", show_default=False)
    ] = None,
    vendor: Annotated[
        str | None,
        typer.Option("--vendor", help="The vendor, if the scanner named it.", show_default=False),
    ] = None,
    product: Annotated[
        str | None,
        typer.Option("--product", help="The product, where there is no CPE.", show_default=False),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="The product's version, as seen.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the CVEs that apply to what a scanner saw (a CPE, or a product and its version,
    with the vendor if known), each with the configuration and range that made it apply."""
    if not cpe and not (product and version):
        raise CliFailure("give --cpe, or --product and --version (and --vendor if known)", 2)
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        matcher = load_matcher(session, cache=platform.cached)
    found = matcher.match(ProductVersion(cpe, vendor, product, version)) if matcher else []
    if as_json:
        print_json([m.as_dict() for m in found])
        return
    if matcher is None:
        say("no vulnerability knowledge is stored yet: `vardeild vulndb load` or `sync` first")
        return
    print_table(
        f"{len(found)} CVEs apply",
        ("cve", "cvss", "kev", "epss", "why"),
        [
            (m.cve_id, m.cvss_score or "-", "yes" if m.kev else "", m.epss or "-", m.reason)
            for m in found
        ],
    )


app.command("load")(load)
app.command("match")(match)
app.command("sync")(sync)
app.command("stats")(stats)
