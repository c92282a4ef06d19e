"""`vardeild intel export|share|unshare`: indicators out, by TLP and audience.

`export` writes the indicators an audience may receive (`intel.sharing`: never TLP:RED,
AMBER only to the members named, GREEN to members, CLEAR to anyone, nothing expired) in one
of the formats partners and sensors read. `share` and `unshare` name the members an AMBER or
AMBER+STRICT indicator goes to. docs/intel-sharing.md describes them.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import EXIT_INVALID, CliFailure, JsonOption, print_json, say
from vardeild.intel.audience import share_indicators, unshare_indicators
from vardeild.intel.misp_out import misp_events, misp_feed
from vardeild.intel.sensor_exports import suricata_export
from vardeild.intel.shared_csv import shared_csv
from vardeild.intel.sharing import Audience, SharedIndicator, list_shared
from vardeild.intel.stix_out import stix_bundle


class ExportFormat(StrEnum):
    """What `vardeild intel export` writes."""

    STIX = "stix"
    MISP_FEED = "misp-feed"
    MISP_EVENT = "misp-event"
    SURICATA = "suricata"
    CSV = "csv"
    JSON = "json"


IdsArgument = Annotated[
    list[int], typer.Argument(metavar="ID...", help="Indicator ids.", show_default=False)
]
WithOption = Annotated[
    list[str],
    typer.Option(
        "--with", help="A member: org number, exact name or id (repeatable).", show_default=False
    ),
]
NoteOption = Annotated[str, typer.Option("--note", help="Why, for the audit trail.")]


def _files(
    fmt: ExportFormat, found: list[SharedIndicator], audience: Audience, cert_name: str
) -> dict[str, bytes]:
    """Return the files of an export: name -> content."""
    if fmt is ExportFormat.STIX:
        made = stix_bundle(found, cert_name=cert_name)
        return {"indicators.stix.json": _json(made)}
    if fmt is ExportFormat.MISP_FEED:
        return misp_feed(found, audience=audience, cert_name=cert_name).files
    if fmt is ExportFormat.MISP_EVENT:
        events = misp_events(found, audience=audience, cert_name=cert_name)
        return {"events.misp.json": _json({"response": events})}
    if fmt is ExportFormat.SURICATA:
        return suricata_export(found).files
    rows = [indicator.to_dict() for indicator in found]
    if fmt is ExportFormat.JSON:
        return {"indicators.json": _json({"audience": str(audience), "items": rows})}
    return {"indicators.csv": shared_csv(rows)}


def _json(value: object) -> bytes:
    # No indent: with one, json falls back from its C encoder to Python, five times slower.
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")


def export(
    ctx: typer.Context,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="What to write.")],
    out: Annotated[Path, typer.Option("--out", help="The directory to write the files into.")],
    for_: Annotated[
        str | None,
        typer.Option(
            "--for",
            help="A member (org number, exact name or id): everything it may receive.",
            show_default=False,
        ),
    ] = None,
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience",
            help="public, all-members, member:ID or named:ID (instead of --for).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the indicators an audience may receive: TLP:RED never, AMBER only to the members
    named, GREEN to members, CLEAR to anyone, nothing expired."""
    if (for_ is None) == (audience is None):
        raise CliFailure("name the recipients: --for ORG or --audience AUDIENCE", EXIT_INVALID)
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        if for_ is not None:
            chosen = Audience.member(resolve_organisation(session, for_))
        else:
            try:
                chosen = Audience.parse(audience or "")
            except ValueError as exc:
                raise CliFailure(str(exc), EXIT_INVALID) from None
        found = list_shared(session, cli.principal, chosen, now=platform.clock.now())
    files = _files(fmt, found, chosen, platform.settings.cert_name)
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_bytes(content)
    summary = {
        "audience": str(chosen),
        "format": fmt.value,
        "indicators": len(found),
        "files": sorted(files),
        "out": str(out),
    }
    if as_json:
        print_json(summary)
        return
    say(
        f"Wrote {len(found):,} indicators for {chosen} as {fmt.value} to {out} "
        f"({len(files)} files)."
    )


def share(
    ctx: typer.Context,
    ids: IdsArgument,
    with_: WithOption,
    note: NoteOption = "",
) -> None:
    """Name members as recipients of AMBER and AMBER+STRICT indicators."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        organisations = [resolve_organisation(session, ref) for ref in with_]
        added = share_indicators(
            session,
            cli.principal,
            clock=platform.clock,
            indicator_ids=ids,
            organisation_ids=organisations,
            note=note,
        )
    say(f"Shared: {added} new (indicator, member) pairs; the rest were shared already.")


def unshare(
    ctx: typer.Context,
    ids: IdsArgument,
    with_: WithOption,
    note: NoteOption = "",
) -> None:
    """Take members out of indicators' audiences."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        organisations = [resolve_organisation(session, ref) for ref in with_]
        removed = unshare_indicators(
            session,
            cli.principal,
            clock=platform.clock,
            indicator_ids=ids,
            organisation_ids=organisations,
            note=note,
        )
    say(f"Unshared: {removed} (indicator, member) pairs removed.")
