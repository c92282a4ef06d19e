"""`vardeild sensors`: add, list, show, token, retire and check, run in-process against a fresh
database of the backend under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support.cli import Cli, migrated_platform
from support.factories import CERT_ADMIN, org_data
from vardeild.members import service as members
from vardeild.monitoring import sensors
from vardeild.platform import Platform


@pytest.fixture
def platform_(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    """A migrated platform on a fresh database (the CLI commits for real)."""
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


@pytest.fixture
def cli(platform_: Platform, fresh_database_url: str, tmp_path: Path) -> Cli:
    """The CLI on the same database."""
    return Cli(fresh_database_url, tmp_path / "data")


@pytest.fixture
def owner(platform_: Platform) -> dict[str, Any]:
    """A member organisation."""
    with platform_.session() as session:
        return members.create_organisation(
            session,
            CERT_ADMIN,
            org_data(),
            clock=platform_.clock,
            key_inspector=platform_.key_inspector,
        )


def test_add_list_show_token_retire(cli: Cli, owner: dict[str, Any], platform_: Platform) -> None:
    added = cli.json(
        "sensors",
        "add",
        "osl-dc1-ids",
        "--location",
        "Oslo DC1",
        "--owner",
        owner["org_number"],
        "--description",
        "Kjernesvitsj",
        "--silence-after",
        "30",
    )
    assert (added["name"], added["organisation_id"], added["silence_after_minutes"]) == (
        "osl-dc1-ids",
        owner["id"],
        30,
    )
    cli("sensors", "add", "cert-ids", "--location", "CERT lab")
    listed = cli.json("sensors", "list")
    assert [(s["name"], s["organisation_id"]) for s in listed] == [
        ("cert-ids", None),
        ("osl-dc1-ids", owner["id"]),
    ]
    table = cli("sensors", "list").stdout
    assert "osl-dc1-ids" in table
    assert "never" in table
    issued = cli.json("sensors", "token", "osl-dc1-ids")
    assert issued["secret"].startswith("vds_")
    printed = cli("sensors", "token", "osl-dc1-ids", "--replace").stdout
    assert "Revoked its 1 other token" in printed
    with platform_.session() as session:
        assert sensors.authenticate_sensor(session, issued["secret"], clock=platform_.clock) is None
        sensors.record_sensor_seen(session, "osl-dc1-ids", 42, platform_.clock.now())
    shown = cli.json("sensors", "show", "osl-dc1-ids")
    assert shown["events_this_hour"] == 42
    assert len(shown["hourly"]) == 24
    assert shown["hourly"][-1]["count"] == 42
    assert "records this hour" in cli("sensors", "show", "osl-dc1-ids").stdout
    retired = cli.json("sensors", "retire", "osl-dc1-ids")
    assert retired["status"] == "retired"
    assert [s["name"] for s in cli.json("sensors", "list")] == ["cert-ids"]
    assert len(cli.json("sensors", "list", "--all")) == 2


def test_mistakes_exit_with_their_codes(cli: Cli) -> None:
    bad = cli("sensors", "add", "Oslo DC1", "--location", "x", code=2)
    assert "name" in bad.stderr
    cli("sensors", "add", "ids", "--location", "x")
    assert "never reused" in cli("sensors", "add", "ids", "--location", "x", code=4).stderr
    cli("sensors", "show", "nope", code=3)
    cli("sensors", "token", "nope", code=3)
    cli("sensors", "add", "x-ids", "--location", "x", "--owner", "No Such Org", code=3)
    cli("sensors", "retire", "ids")
    cli("sensors", "token", "ids", code=4)


def test_check_alerts_a_silent_sensor_once(cli: Cli, platform_: Platform) -> None:
    cli("sensors", "add", "quiet-ids", "--location", "x", "--silence-after", "5")
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    with platform_.session() as session:
        sensors.record_sensor_seen(session, "quiet-ids", 1, long_ago)
    [silent] = cli.json("sensors", "check")
    assert (silent["name"], silent["silent_minutes"]) == ("quiet-ids", 20)
    assert cli.json("sensors", "check") == []
    assert "No sensor has newly fallen silent" in cli("sensors", "check").stdout
    [listed] = cli.json("sensors", "list")
    assert listed["silent"] is True
    assert "SILENT" in cli("sensors", "list").stdout
