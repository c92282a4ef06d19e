"""`vardeild exposure scan` and `vardeild exposure schedule`: active scans of members'
registered Internet-facing ranges with nmap, one member, every member, or those the schedule
says are due (exposure.schedule)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from vardeild.app import notify_config
from vardeild.cli.context import CliContext, cli_context, resolve_organisation
from vardeild.cli.output import CliFailure, JsonOption, print_json, print_table, say
from vardeild.exposure import scanning
from vardeild.exposure.config import config_from_settings
from vardeild.exposure.knowledge import load_matcher
from vardeild.exposure.nmap import ScanFailed, in_window
from vardeild.exposure.schedule import scan_schedule
from vardeild.exposure.scope import scope_from_snapshot
from vardeild.exposure.service import ExposureConfig
from vardeild.members import service as members


def say_result(name: str, result: dict[str, Any]) -> None:
    say(
        f"{name}: {result['services']} services, {result['new_findings']} new findings, "
        f"{result['reopened']} reopened, {result['fixed']} fixed, {result['gone']} gone, "
        f"{result['notices']} notices, {len(result['refused'])} refused"
    )
    for refusal in result["refused"]:
        say(f"  refused {refusal['record']}: {refusal['reason']}", style="yellow")


def _in_programme(cli: CliContext) -> dict[int, str]:
    """The members a scan may cover (active, taking the service, with Internet-facing ranges):
    id -> name."""
    with cli.platform().session() as session:
        listed, _ = members.list_organisations(session, cli.principal, limit=100_000)
    return {o["id"]: o["name"] for o in listed if scope_from_snapshot(o)[0] is not None}


def scan(
    ctx: typer.Context,
    member: Annotated[
        str | None, typer.Argument(help="The member: org number, exact name or id.")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="A CIDR inside the member's ranges (default: all of them)."),
    ] = None,
    ports: Annotated[
        str | None, typer.Option("--ports", help="Ports to probe (default: exposure_scan_ports).")
    ] = None,
    every_member: Annotated[
        bool, typer.Option("--all", help="Scan every member that takes the service.")
    ] = False,
    due: Annotated[
        bool,
        typer.Option(
            "--due",
            help=(
                "Scan the members the schedule says are due (exposure_scan_every_days); "
                "outside the scan window, scan nothing and say so. Run it hourly from cron."
            ),
        ),
    ] = False,
    ignore_window: Annotated[
        bool, typer.Option("--ignore-window", help="Scan now, even outside the scan window.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Scan a member's registered Internet-facing ranges with nmap -sV and record what it sees
    (a complete scan: what it no longer sees is closed). Targets outside are refused. With
    --all or --due, a member whose scan fails is reported and the others are still scanned;
    the command then exits 1."""
    cli = cli_context(ctx)
    platform = cli.platform()
    config = config_from_settings(platform.settings)
    zone = ZoneInfo(platform.settings.notify_timezone)
    now = platform.clock.now()
    if sum([member is not None, every_member, due]) != 1:
        raise typer.BadParameter("name a member, or --all, or --due")
    if due:
        ids = _due(cli, config, zone, ignore_window=ignore_window, quiet=as_json)
        if not ids:
            if as_json:
                print_json([])
            return
    elif every_member:
        ids = list(_in_programme(cli))
    else:
        assert member is not None
        with platform.session() as session:
            ids = [resolve_organisation(session, member)]
    with platform.session() as session:
        plans = [
            scanning.plan_scan(
                session,
                cli.principal,
                member_id,
                targets=target or [],
                config=config,
                now=now,
                zone=zone,
                ports=ports,
                ignore_window=ignore_window,
            )
            for member_id in ids
        ]
        matcher = load_matcher(session, cache=platform.cached)
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    for plan in plans:
        for command in plan.commands:
            if not as_json:  # --json prints only the results
                say(f"scanning member {plan.member_id}: {' '.join(command)}")

        def progress(task: str, percent: float) -> None:
            sys.stderr.write(f"\r  {task}: {percent:5.1f}%   ")
            sys.stderr.flush()

        try:
            result = scanning.run_scan(
                platform.session, cli.principal, plan, matcher=matcher, config=config,
                clock_now=platform.clock.now, progress=progress,
                notify=notify_config(platform.settings),
            )  # fmt: skip
        except ScanFailed as exc:
            if len(plans) == 1 and not due:
                raise CliFailure(f"member {plan.member_id}: {exc}") from None
            sys.stderr.write(f"\nmember {plan.member_id}: the scan failed: {exc}\n")
            failed.append(f"member {plan.member_id}: {exc}")
            results.append({"member_id": plan.member_id, "error": str(exc)})
            continue
        sys.stderr.write("\n")
        results.append({"member_id": plan.member_id, **result.as_dict()})
        if not as_json:
            say_result(f"member {plan.member_id}", result.as_dict())
    if as_json:
        print_json(results)
    if failed:
        raise CliFailure(
            f"{len(failed)} of {len(plans)} scans failed ({'; '.join(failed)}); "
            "the others were recorded, and the failed members stay due"
        )


def _due(
    cli: CliContext, config: ExposureConfig, zone: ZoneInfo, *, ignore_window: bool, quiet: bool
) -> list[int]:
    """Return the members due for a scan now; say why when none may be scanned (unless quiet:
    --json prints only the results)."""
    platform = cli.platform()
    now = platform.clock.now()

    def tell(message: str) -> None:
        if not quiet:
            say(message)

    if not config.scan_every:
        tell("no schedule: exposure_scan_every_days is 0; nothing scanned")
        return []
    if not ignore_window and not in_window(config.window, now.astimezone(zone)):
        tell(f"outside the scan window ({config.window}, {zone.key}); nothing scanned")
        return []
    members = list(_in_programme(cli))  # its own session, before the schedule's
    with platform.session() as session:
        entries = scan_schedule(session, cli.principal, members, every=config.scan_every, now=now)
    due = [entry.member_id for entry in entries if entry.due]
    if not due:
        upcoming = min((entry.due_at for entry in entries), default=None)
        tell(
            "no member is due for a scan"
            + (f"; the next is due {_local(upcoming, zone)}" if upcoming else "")
        )
    return due


def _local(at: datetime, zone: ZoneInfo) -> str:
    """A time as the schedule shows it: local, to the minute."""
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"


def schedule(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show when each member in the programme was last scanned and when it is due next
    (exposure_scan_every_days after its last complete scan; at once if never scanned)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    config = config_from_settings(platform.settings)
    zone = ZoneInfo(platform.settings.notify_timezone)
    names = _in_programme(cli)

    with platform.session() as session:
        entries = scan_schedule(
            session, cli.principal, list(names), every=config.scan_every, now=platform.clock.now()
        )
    if as_json:
        print_json([entry.as_dict() for entry in entries])
        return
    if not config.scan_every:
        say("no schedule: exposure_scan_every_days is 0 (scans run only when asked for)")
    print_table(
        f"Scan schedule (every {config.scan_every.days} days, {zone.key})",
        ["id", "member", "last complete scan", "due", ""],
        [
            [
                entry.member_id,
                names[entry.member_id],
                f"{entry.last_scan.astimezone(zone):%Y-%m-%d %H:%M}"
                if entry.last_scan
                else "never",
                f"{entry.due_at.astimezone(zone):%Y-%m-%d %H:%M}",
                "due now" if entry.due and config.scan_every else "",
            ]
            for entry in entries
        ],
    )
