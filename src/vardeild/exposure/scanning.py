"""Active scanning as a use case: plan (permission, scope, window), run nmap outside any
database transaction, then record the complete result.

Planning and recording each take their own session, so a scan that runs for an hour holds no
transaction open; the plan's command is the exact argv nmap gets, built only from targets the
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
from vardeild.core.errors import ValidationFailed
from vardeild.exposure import nmap
from vardeild.exposure.scope import member_scope, resolve_targets
from vardeild.exposure.service import ExposureConfig, RecordResult, record_scan
from vardeild.exposure.tracking import Matcher
from vardeild.notify.service import NotifyConfig


@dataclass(frozen=True)
class ScanPlan:
    """A scan the scope allows: the member, its checked targets and nmap's argv."""

    member_id: int
    targets: list[str]
    options: nmap.ScanOptions
    command: list[str]


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
    return ScanPlan(member_id, checked, options, nmap.build_command(checked, options))


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
    command, parsed = nmap.scan(
        plan.targets, plan.options, progress=progress, timeout=config.scan_timeout_seconds
    )
    assert command == plan.command  # the argv run is the one planned and shown
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
            command=command,
            notify=notify,
        )
