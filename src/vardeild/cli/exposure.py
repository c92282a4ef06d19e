"""`vardeild exposure`: scan members' registered ranges with nmap, import scan files, list
exposures and findings, accept risks, mark false positives, make reports, and ask the sector
which members expose a CVE or a product."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from vardeild.app import notify_config
from vardeild.cli import exposure_scan
from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import EXIT_INVALID, JsonOption, print_json, print_table, say
from vardeild.exposure import reports, sector, service
from vardeild.exposure.config import config_from_settings
from vardeild.exposure.imports import read_import
from vardeild.exposure.imports_shadowserver import member_scan_events, scan_from_events
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.model import FindingStatus, ImportRefused, Source
from vardeild.exposure.notices import queue_weekly_summary
from vardeild.members import service as members

app = typer.Typer(
    name="exposure",
    help=(
        "The vulnerability overview: scan (and its schedule), import, list, findings, report, "
        "who-exposes."
    ),
    no_args_is_help=True,
)

MemberArgument = Annotated[str, typer.Argument(help="The member: org number, exact name or id.")]

app.command("scan")(exposure_scan.scan)
app.command("schedule")(exposure_scan.schedule)


@app.command("import")
def exposure_import(
    ctx: typer.Context,
    member: MemberArgument,
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Scan files.")],
    kind: Annotated[
        Source | None,
        typer.Option("--format", help="nmap, nessus or nuclei (default: from the content)."),
    ] = None,
    complete: Annotated[
        bool,
        typer.Option(
            "--complete",
            help="The files cover their hosts completely: close what they no longer show.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Import nmap XML, Nessus v2 or Nuclei JSONL files for a member. Each bad record is named
    and skipped; a file that is not a scan (or unsafe XML) is refused whole."""
    cli = cli_context(ctx)
    platform = cli.platform()
    config = config_from_settings(platform.settings)
    results: list[dict[str, Any]] = []
    refused_files = 0
    with platform.session() as session:
        member_id = resolve_organisation(session, member)
        matcher = load_matcher(session, cache=platform.cached)
    for path in files:
        try:
            parsed = read_import(path, kind)
        except ImportRefused as exc:
            refused_files += 1
            results.append({"file": str(path), "refused": str(exc)})
            if not as_json:
                say(f"refused {exc}", style="red")
            continue
        with platform.session() as session:
            result = service.record_scan(
                session, cli.principal, member_id, parsed, matcher=matcher, config=config,
                now=platform.clock.now(), complete=complete,
                notify=notify_config(platform.settings),
            )  # fmt: skip
        results.append({"file": str(path), **result.as_dict()})
        if not as_json:
            exposure_scan.say_result(path.name, result.as_dict())
    if as_json:
        print_json(results)
    if refused_files:
        raise typer.Exit(EXIT_INVALID)


@app.command("import-shadowserver")
def exposure_import_shadowserver(
    ctx: typer.Context,
    member: MemberArgument,
    days: Annotated[
        int, typer.Option("--days", min=1, max=3650, help="Reports of the last this many days.")
    ] = 30,
    as_json: JsonOption = False,
) -> None:
    """Take the member's Shadowserver scan and vulnerable-host reports, already stored by the
    monitoring pipeline, into its exposures."""
    cli = cli_context(ctx)
    platform = cli.platform()
    config = config_from_settings(platform.settings)
    now = platform.clock.now()
    with platform.session() as session:
        member_id = resolve_organisation(session, member)
        events = member_scan_events(
            session, cli.principal, member_id, since=now - timedelta(days=days)
        )
        parsed = scan_from_events(events, f"shadowserver reports of the last {days} days")
        result = service.record_scan(
            session, cli.principal, member_id, parsed,
            matcher=load_matcher(session, cache=platform.cached), config=config, now=now,
            notify=notify_config(platform.settings),
        )  # fmt: skip
    if as_json:
        print_json(result.as_dict())
    else:
        exposure_scan.say_result(parsed.name, result.as_dict())


@app.command("list")
def exposure_list(
    ctx: typer.Context,
    member: MemberArgument,
    gone: Annotated[bool, typer.Option("--gone", help="Also what is no longer seen.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List a member's Internet-facing services."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        member_id = resolve_organisation(session, member)
        rows = service.list_exposures(session, cli.principal, member_id, present_only=not gone)
    if as_json:
        print_json(rows)
        return
    print_table(
        None,
        ["id", "address", "port", "service", "product", "version", "tls expires", "seen by",
         "last seen"],
        [
            (r["id"], r["address"], f"{r['port']}/{r['transport']}", r["service"], r["product"],
             r["version"], (r["tls"]["not_after"] or "")[:10], r["sources"], r["last_seen"][:16])
            for r in rows
        ],
    )  # fmt: skip


@app.command("findings")
def exposure_findings(
    ctx: typer.Context,
    member: MemberArgument,
    status: Annotated[
        list[FindingStatus] | None, typer.Option("--status", help="Only these (repeatable).")
    ] = None,
    history: Annotated[
        int | None, typer.Option("--history", help="Show this finding's history instead.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List a member's findings, most urgent first (or one finding's history)."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        member_id = resolve_organisation(session, member)
        if history is not None:
            entries = service.finding_history(session, cli.principal, history)
            if as_json:
                print_json(entries)
            else:
                print_table(
                    None, ["at", "event", "from", "to", "actor", "note"],
                    [(e["at"][:16], e["event"], e["from_status"], e["to_status"], e["actor"],
                      e["note"]) for e in entries],
                )  # fmt: skip
            return
        rows = service.list_findings(session, cli.principal, member_id, statuses=status)
    if as_json:
        print_json(rows)
        return
    print_table(
        None,
        ["id", "priority", "cve", "where", "product", "cvss", "epss", "kev", "status", "due"],
        [
            (r["id"], r["priority"], r["cve_id"], f"{r['address']}:{r['port']}",
             f"{r['product']} {r['version']}".strip(), r["cvss_score"], r["epss"],
             "yes" if r["kev"] else "", r["status"], r["due_on"])
            for r in rows
        ],
    )  # fmt: skip


@app.command("accept")
def exposure_accept(
    ctx: typer.Context,
    finding: Annotated[int, typer.Argument(help="The finding's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the risk is accepted.")],
    until: Annotated[
        str, typer.Option("--until", help="When the acceptance expires (YYYY-MM-DD).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Accept a finding's risk with a reason until a date; it reopens when that passes."""
    try:
        expiry = date.fromisoformat(until)
    except ValueError:
        raise typer.BadParameter(f"{until!r} is not a date (YYYY-MM-DD)") from None
    _change(ctx, finding, FindingStatus.ACCEPTED_RISK, reason, expiry, as_json)


@app.command("false-positive")
def exposure_false_positive(
    ctx: typer.Context,
    finding: Annotated[int, typer.Argument(help="The finding's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it does not apply.")],
    as_json: JsonOption = False,
) -> None:
    """Mark a finding a false positive, with the reason."""
    _change(ctx, finding, FindingStatus.FALSE_POSITIVE, reason, None, as_json)


@app.command("reopen")
def exposure_reopen(
    ctx: typer.Context,
    finding: Annotated[int, typer.Argument(help="The finding's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Reopen an accepted or false-positive finding."""
    _change(ctx, finding, FindingStatus.OPEN, reason, None, as_json)


def _change(
    ctx: typer.Context,
    finding: int,
    status: FindingStatus,
    reason: str,
    until: date | None,
    as_json: bool,
) -> None:
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        result = service.change_status(
            session, cli.principal, finding, status, reason=reason, until=until,
            now=platform.clock.now(),
        )  # fmt: skip
    if as_json:
        print_json(result)
    else:
        say(f"finding {finding} ({result['cve_id']}) is now {result['status']}")


@app.command("report")
def exposure_report(
    ctx: typer.Context,
    member: MemberArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the report.")],
    kind: Annotated[
        str, typer.Option("--format", help="html, pdf or csv (default: from --output's suffix).")
    ] = "",
    language: Annotated[str, typer.Option("--language", help="en or nb.")] = "en",
) -> None:
    """Write a member's report: HTML (the portal page), PDF (the same, printed) or CSV."""
    chosen = (kind or output.suffix.lstrip(".")).lower()
    if chosen not in {"html", "pdf", "csv"}:
        raise typer.BadParameter(f"{chosen!r} is not html, pdf or csv")
    if language not in {"en", "nb"}:
        raise typer.BadParameter(f"{language!r} is not en or nb")
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        member_id = resolve_organisation(session, member)
        data = reports.build_report(
            session, cli.principal, member_id, now=platform.clock.now(), language=language,
            tlp=platform.settings.notify_default_tlp,
        )  # fmt: skip
    if chosen == "pdf":
        output.write_bytes(reports.render_pdf(data))
    elif chosen == "csv":
        output.write_text(reports.render_csv(data.findings), encoding="utf-8")
    else:
        output.write_text(reports.render_html(data), encoding="utf-8")
    say(f"wrote {output} ({len(data.findings)} findings)")


@app.command("who-exposes")
def exposure_who_exposes(
    ctx: typer.Context,
    cve: Annotated[str | None, typer.Option("--cve", help="A CVE id.")] = None,
    product: Annotated[
        str | None, typer.Option("--product", help="A product name (KEV's 'product').")
    ] = None,
    vendor: Annotated[
        str | None, typer.Option("--vendor", help="Its vendor (KEV's 'vendorProject').")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Which members expose this CVE, or a product a new KEV entry names?"""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        answer = sector.who_exposes(
            session, cli.principal, cve_id=cve, product=product, vendor=vendor
        )
    if as_json:
        print_json(answer)
        return
    print_table(
        None,
        ["member", "criticality", "address", "port", "product", "version", "finding"],
        [
            (m["member"], m["criticality"], e["address"], e["port"], e["product"], e["version"],
             f"{e['finding']['cve_id']} {e['finding']['status']}" if e["finding"] else "")
            for m in answer
            for e in m["exposures"]
        ],
    )  # fmt: skip
    say(f"{len(answer)} members")


@app.command("weekly")
def exposure_weekly(ctx: typer.Context) -> None:
    """Queue this week's summary notice for each member with open findings (once a week)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    queued = 0
    with platform.session() as session:
        listed, _ = members.list_organisations(session, cli.principal, limit=100_000)
        for organisation in listed:
            rows = service.finding_rows(
                session, cli.principal, organisation["id"], statuses=[FindingStatus.OPEN]
            )
            notice = queue_weekly_summary(
                session, cli.principal, organisation["id"], rows,
                config=notify_config(platform.settings), now=platform.clock.now(),
            )  # fmt: skip
            queued += notice is not None and notice[1]
    say(f"{queued} weekly summaries queued")
