"""Active scanning as a use case: plan (permission, scope, window), run nmap outside any
database transaction, then record the complete result.

Planning and recording each take their own session, so a scan that runs for an hour holds no
transaction open; the plan's commands are the exact argv nmap gets (one per address family,
since one nmap run scans IPv4 or IPv6, not both), built only from targets the
scope accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import FixedClock
from vardeild.core.errors import ValidationFailed
from vardeild.exposure import nmap
from vardeild.exposure.model import ParsedScan, Source
from vardeild.exposure.scope import member_scope, resolve_targets
from vardeild.exposure.service import ExposureConfig, RecordResult, record_scan
from vardeild.exposure.tables import ScanRunRow
from vardeild.exposure.tracking import Matcher
from vardeild.notify.service import NotifyConfig


@dataclass(frozen=True)
class ScanPlan:
    """A scan the scope allows: the member, its checked targets and nmap's argv per family."""

    member_id: int
    targets: list[str]
    options: nmap.ScanOptions
    groups: list[list[str]]  # the targets of one address family each
    commands: list[list[str]]  # nmap's argv for each group, in order

    @property
    def command_lines(self) -> list[str]:
        """nmap's command lines, as a scan run keeps them."""
        return [" ".join(command) for command in self.commands]


def plan_scan(
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    targets: list[str],
    config: ExposureConfig,
    now: datetime,
    zone: ZoneInfo,
    ports: str | None = None,
    ignore_window: bool = False,
) -> ScanPlan:
    """Return the plan for scanning the member (CERT only). OutOfScope names each refused
    target; ValidationFailed if outside the scan window or the ports are malformed."""
    authorize(principal, Action.EDIT, member_id)
    scope = member_scope(session, principal, member_id)
    checked = resolve_targets(scope, targets, max_addresses=config.max_addresses)
    if not ignore_window and not nmap.in_window(config.window, now.astimezone(zone)):
        raise ValidationFailed.one(
            "scan",
            "window",
            f"scans run only {config.window} ({zone.key}); wait for the window, or override it",
        )
    options = config.scan
    if ports is not None:
        try:
            options = nmap.ScanOptions(
                ports=nmap.check_ports(ports),
                max_rate=options.max_rate,
                host_timeout_seconds=options.host_timeout_seconds,
                version_intensity=options.version_intensity,
                nmap=options.nmap,
            )
        except ValueError as exc:
            raise ValidationFailed.one("scan", "ports", str(exc)) from None
    groups = [
        group
        for group in (
            [t for t in checked if ":" not in t],
            [t for t in checked if ":" in t],
        )
        if group
    ]
    commands = [nmap.build_command(group, options) for group in groups]
    return ScanPlan(member_id, checked, options, groups, commands)


def run_scan(
    sessions: Callable[[], AbstractContextManager[Session]],
    principal: Principal,
    plan: ScanPlan,
    *,
    matcher: Matcher | None,
    config: ExposureConfig,
    clock_now: Callable[[], datetime],
    progress: nmap.Progress | None = None,
    notify: NotifyConfig | None = None,
) -> RecordResult:
    """Run the planned scan with real nmap and record it as complete for its targets.

    `sessions` opens a session that commits on success (the platform's `session()`)."""
    parsed: ParsedScan | None = None
    started = clock_now()
    for group, planned in zip(plan.groups, plan.commands, strict=True):
        try:
            command, part = nmap.scan(
                group, plan.options, progress=progress, timeout=config.scan_timeout_seconds
            )
        except nmap.ScanFailed as exc:
            with sessions() as session:
                record_failed_scan(
                    session, principal, plan, error=str(exc), started=started, now=clock_now()
                )
            raise
        assert command == planned  # the argv run is the one planned and shown
        if parsed is None:
            parsed = part
            continue
        parsed.services += part.services
        parsed.hosts |= part.hosts
        parsed.refused += part.refused
        parsed.covered += part.covered
    assert parsed is not None  # a plan has at least one group
    with sessions() as session:
        return record_scan(
            session,
            principal,
            plan.member_id,
            parsed,
            matcher=matcher,
            config=config,
            now=clock_now(),
            complete=True,
            command=plan.command_lines,
            notify=notify,
        )


def record_failed_scan(
    session: Session,
    principal: Principal,
    plan: ScanPlan,
    *,
    error: str,
    started: datetime,
    now: datetime,
) -> None:
    """Keep a scan nmap could not finish as a `failed` run with nmap's error, audited, so the
    CERT sees it beside the others; it changes no exposure, and the member stays due."""
    authorize(principal, Action.EDIT, plan.member_id)
    run = ScanRunRow(
        member_id=plan.member_id,
        source=Source.SCAN.value,
        name=" ".join(plan.targets)[:2000],
        command=plan.command_lines,
        complete=False,
        started_at=started,
        finished_at=now,
        status="failed",
        error=error[:4000],
        actor=principal.actor,
    )
    session.add(run)
    session.flush()
    record_change(
        session,
        clock=FixedClock(now),
        actor=principal.actor,
        action="scan",
        entity_type="exposure_scan",
        entity_id=run.id,
        organisation_id=plan.member_id,
        before=None,
        after={"status": "failed", "error": run.error},
        note="nmap did not finish",
    )
