"""The scan schedule: which members are due for a scan (exposure.schedule), and
`vardeild exposure scan --due` / `exposure schedule` end to end, a real nmap run included
(loopback only: the member's one registered address is 127.0.0.46)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.cli import Cli, migrated_platform
from support.exposure import make_member
from support.factories import CERT, member
from vardeild.core.clock import FixedClock
from vardeild.core.errors import PermissionDenied
from vardeild.exposure import nmap
from vardeild.exposure.nmap import ScanFailed
from vardeild.exposure.schedule import scan_schedule
from vardeild.exposure.tables import ScanRunRow
from vardeild.platform import Platform

WEEK = timedelta(days=7)
ADDRESS = "127.0.0.46"


def _run(session: Session, member_id: int, finished: datetime | None, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "member_id": member_id,
        "source": "scan",
        "name": "127.0.0.0/24",
        "command": [],
        "complete": True,
        "started_at": (finished or datetime(2026, 1, 1, tzinfo=UTC)) - timedelta(minutes=5),
        "finished_at": finished,
        "status": "done",
        "actor": "test",
    }
    session.add(ScanRunRow(**{**values, **overrides}))
    session.flush()


def test_a_member_is_due_a_week_after_its_last_complete_scan(
    session: Session, clock: FixedClock
) -> None:
    now = clock.now()
    ids = {
        name: make_member(session, clock, networks=[f"127.0.{n}.0/24"])["id"]
        for n, name in enumerate(
            ["never", "old", "recent", "imported", "failed", "partial", "old_and_recent"], 10
        )
    }
    _run(session, ids["old"], now - timedelta(days=8))
    _run(session, ids["recent"], now - timedelta(days=2))
    _run(session, ids["imported"], now - timedelta(days=1), source="nmap")  # an import
    _run(session, ids["failed"], None, status="failed", error="nmap died")
    _run(session, ids["partial"], now - timedelta(days=1), complete=False)  # --target only
    _run(session, ids["old_and_recent"], now - timedelta(days=30))
    _run(session, ids["old_and_recent"], now - timedelta(days=3))

    entries = scan_schedule(session, CERT, list(ids.values()), every=WEEK, now=now)

    due = {entry.member_id for entry in entries if entry.due}
    names = {member_id: name for name, member_id in ids.items()}
    assert {names[m] for m in due} == {"never", "old", "imported", "failed", "partial"}
    by_name = {names[e.member_id]: e for e in entries}
    assert by_name["recent"].due_at == now - timedelta(days=2) + WEEK
    assert by_name["old_and_recent"].due_at == now - timedelta(days=3) + WEEK
    assert by_name["old"].last_scan == now - timedelta(days=8)
    assert by_name["never"].last_scan is None
    assert by_name["never"].due_at == now
    assert [e.due_at for e in entries] == sorted(e.due_at for e in entries)  # soonest first


def test_members_may_not_read_the_schedule(session: Session, clock: FixedClock) -> None:
    mine = make_member(session, clock, networks=["127.0.20.0/24"])["id"]
    with pytest.raises(PermissionDenied):
        scan_schedule(session, member(mine), [mine], every=WEEK, now=clock.now())


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>Timebok</title></head></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_on_the_member() -> Iterator[int]:
    """An HTTP service on the member's one address."""
    server = ThreadingHTTPServer((ADDRESS, 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def platform_(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


def test_scan_due_scans_the_members_due_once_and_respects_the_window(
    platform_: Platform,
    fresh_database_url: str,
    tmp_path: Path,
    web_on_the_member: int,
) -> None:
    with platform_.session() as session:
        scanned = make_member(session, platform_.clock, networks=[f"{ADDRESS}/32"])["id"]
        outside = make_member(session, platform_.clock, services=["monitoring"])["id"]
    cli = Cli(fresh_database_url, tmp_path / "data")
    cli.env["VARDEILD_EXPOSURE_SCAN_PORTS"] = str(web_on_the_member)

    before = cli.json("exposure", "schedule")
    assert [(e["member_id"], e["due"], e["last_scan"]) for e in before] == [
        (scanned, True, None)
    ]  # the member without the service is not in the programme
    assert outside not in {e["member_id"] for e in before}

    # Outside the window nothing is scanned, and the run says so (exit 0: cron runs it hourly).
    soon = datetime.now(UTC) + timedelta(hours=2)
    cli.env["VARDEILD_NOTIFY_TIMEZONE"] = "UTC"
    cli.env["VARDEILD_EXPOSURE_SCAN_WINDOW"] = f"{soon:%H}:00-{soon + timedelta(hours=1):%H}:00"
    assert "outside the scan window" in cli("exposure", "scan", "--due").stdout
    assert _scans(platform_) == 0

    # In the window: the member due is scanned with the real nmap, and found.
    cli.env["VARDEILD_EXPOSURE_SCAN_WINDOW"] = ""
    [result] = cli.json("exposure", "scan", "--due")
    assert result["member_id"] == scanned
    assert result["services"] == 1
    listed = cli.json("exposure", "list", str(scanned))
    assert [(e["address"], e["port"]) for e in listed] == [(ADDRESS, web_on_the_member)]

    # Scanned now, it is not due again for a week: a second run scans nothing.
    again = cli("exposure", "scan", "--due")
    assert "no member is due for a scan" in again.stdout
    assert _scans(platform_) == 1
    [after] = cli.json("exposure", "schedule")
    assert after["due"] is False
    assert after["last_scan"] is not None
    last = datetime.fromisoformat(after["last_scan"])
    assert datetime.fromisoformat(after["due_at"]) == last + WEEK


def _scans(platform: Platform) -> int:
    with platform.session() as session:
        return int(session.scalar(select(func.count()).select_from(ScanRunRow)) or 0)


def test_a_failed_scan_does_not_stop_the_others_and_stays_due(
    platform_: Platform,
    fresh_database_url: str,
    tmp_path: Path,
    web_on_the_member: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with platform_.session() as session:
        failing = make_member(session, platform_.clock, networks=["127.0.0.48/32"])["id"]
        scanned = make_member(session, platform_.clock, networks=[f"{ADDRESS}/32"])["id"]
    real = nmap.scan

    def nmap_dies_for_one(targets: list[str], *args: Any, **kwargs: Any) -> Any:
        if targets == ["127.0.0.48/32"]:
            raise ScanFailed("nmap exited 1: Failed to open device (a test's stand-in)")
        return real(targets, *args, **kwargs)

    monkeypatch.setattr(nmap, "scan", nmap_dies_for_one)
    cli = Cli(fresh_database_url, tmp_path / "data")
    cli.env["VARDEILD_EXPOSURE_SCAN_PORTS"] = str(web_on_the_member)
    answer = cli("exposure", "scan", "--due", code=1)
    assert f"member {failing}: the scan failed: nmap exited 1" in answer.stderr
    assert "1 of 2 scans failed" in answer.stderr
    due = {e["member_id"]: e["due"] for e in cli.json("exposure", "schedule")}
    assert due == {failing: True, scanned: False}
    # The failed scan is kept, with nmap's error, beside the good one.
    with platform_.session() as session:
        runs = {
            row.member_id: (row.status, row.error, row.complete)
            for row in session.scalars(select(ScanRunRow))
        }
    assert runs[scanned] == ("done", "", True)
    assert runs[failing][0] == "failed"
    assert runs[failing][1].startswith("nmap exited 1: Failed to open device")
    assert runs[failing][2] is False
