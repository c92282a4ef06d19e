"""`vardeild ingest`, `quarantine`, `alerts` and `suppress`, run in-process against a fresh
database of the backend under test (the CLI commits for real)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support.cli import Cli, migrated_platform
from support.factories import CERT_ADMIN
from support.pipeline import add_member, eve_line
from vardeild.audit.tables import AuditRow
from vardeild.monitoring import sensors
from vardeild.monitoring.model import Event, SensorStats
from vardeild.monitoring.parsers.eve import EveParser
from vardeild.monitoring.tables import EventRow
from vardeild.platform import Platform

BROKEN = b'{"event_type": "alert", "timestamp": "2026-11-28T10:00:00Z", BROKEN'


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


@pytest.fixture
def cli(live: Platform, fresh_database_url: str, tmp_path: Path) -> Cli:
    return Cli(fresh_database_url, tmp_path / "data")


@pytest.fixture
def eve(tmp_path: Path) -> Path:
    """An EVE file: three alerts at a member, one broken line, one alert at no member."""
    path = tmp_path / "logs" / "eve.json"
    path.parent.mkdir()
    lines = [
        eve_line(dst="10.1.0.5", src_port=1),
        eve_line(dst="10.1.0.5", src_port=2),
        BROKEN,
        eve_line(dst="10.1.0.6", sid=2010935, severity=1, src_port=3),
        eve_line(dst="192.0.2.77", src_port=4),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_ingest_eve_then_list_and_show_alerts(cli: Cli, live: Platform, eve: Path) -> None:
    member = add_member(live, "10.1.0.0/16", name="Kystsykehuset HF")
    with live.session() as session:
        sensor = sensors.create_sensor(
            session, CERT_ADMIN, clock=live.clock, name="oslo-1", location="Oslo"
        )
    summary = cli.json("ingest", "eve", str(eve), "--sensor", "oslo-1")
    with live.session() as session:  # the sensor registry heard of the run
        heard = sensors.get_sensor_or_raise(session, CERT_ADMIN, sensor.id, clock=live.clock)
    assert heard.last_seen_at is not None
    assert summary["records"] == 5
    assert (summary["events_stored"], summary["quarantined"]) == (3, 1)
    assert summary["events_unattributed"] == 1
    assert "records_per_second" in summary
    again = cli.json("ingest", "eve", str(eve.parent))  # a directory: every file in it
    assert again["records"] == 0
    human = cli("ingest", "eve", str(eve)).stdout
    assert "Read 0 records from 1 file(s)" in human

    alerts = cli.json("alerts", "list")
    assert sorted(a["count"] for a in alerts) == [1, 2]
    assert {a["member_id"] for a in alerts} == {member}
    high = cli.json("alerts", "list", "--member", "Kystsykehuset HF", "--severity", "high")
    assert [a["classification"]["identifier"] for a in high] == ["sid:1:2010935"]
    assert cli.json("alerts", "list", "--since", "2030-01-01") == []
    assert cli.json("alerts", "list", "--status", "closed") == []
    shown = cli.json("alerts", "show", str(high[0]["id"]))
    assert [e["event"]["destination_ip"] for e in shown["events"]] == ["10.1.0.6"]
    assert shown["events"][0]["event"]["sensor"] == "oslo-1"
    assert "ET SCAN Potential SSH Scan" in cli("alerts", "list").stdout
    assert "sample events" in cli("alerts", "show", str(high[0]["id"])).stdout
    cli("alerts", "show", "999999", code=3)
    cli("alerts", "list", "--severity", "dire", code=2)
    cli("ingest", "eve", str(eve.parent / "missing.json"), code=2)


def test_ingest_batches_as_the_setting_says(
    live: Platform, fresh_database_url: str, tmp_path: Path
) -> None:
    add_member(live, "10.1.0.0/16")
    lines = [eve_line(dst="10.1.0.5", src_port=n % 65536, sid=n) for n in range(8000)]
    assert sum(map(len, lines)) > 2 << 20  # the reader takes whole 1 MiB chunks
    for name, setting in (("small.json", "100"), ("large.json", "50000")):
        path = tmp_path / name
        path.write_bytes(b"\n".join(lines) + b"\n")
        cli = Cli(
            fresh_database_url, tmp_path / "data", env={"VARDEILD_INGEST_BATCH_RECORDS": setting}
        )
        summary = cli.json("ingest", "eve", str(path))
        assert summary["records"] == 8000
        if setting == "100":
            small = summary["batches"]
            assert summary["events_stored"] == 8000
        else:
            assert summary["events_duplicate"] == 8000  # the same lines, another file
    # About one transaction per chunk read (each holds more than 100 records), against one for
    # the whole file (and an empty last one) at 50,000.
    assert small >= 3
    assert summary["batches"] <= 2


def test_alerts_ack_close_reopen_comment_and_history(cli: Cli, live: Platform, eve: Path) -> None:
    add_member(live, "10.1.0.0/16", name="Kystsykehuset HF")
    cli("ingest", "eve", str(eve), "--sensor", "oslo-1")
    alert = str(cli.json("alerts", "list")[0]["id"])
    acked = cli.json("alerts", "ack", alert, "--note", "Vakthavende ser på det")
    assert (acked["action"], acked["status_after"]) == ("acknowledge", "acknowledged")
    assert acked["actor"].startswith("cli:")
    assert "acknowledged" in cli("alerts", "list", "--status", "acknowledged").stdout
    cli("alerts", "ack", alert, code=4)  # already acknowledged: a conflict
    cli("alerts", "close", alert, code=2)  # --reason is required
    cli("alerts", "close", alert, "--reason", "bored", code=2)
    assert "acknowledged -> closed (false_positive)" in (
        cli("alerts", "close", alert, "--reason", "false_positive", "--note", "lab").stdout
    )
    cli("alerts", "comment", alert, "Testoppsett i laben")
    reopened = cli.json("alerts", "reopen", alert)
    assert reopened["status_after"] == "open"
    cli("alerts", "reopen", alert, code=4)
    cli("alerts", "ack", "999999", code=3)
    shown = cli.json("alerts", "show", alert)
    assert shown["status"] == "open"
    assert [(h["action"], h["reason"], h["note"]) for h in shown["history"]] == [
        ("acknowledge", None, "Vakthavende ser på det"),
        ("close", "false_positive", "lab"),
        ("comment", None, "Testoppsett i laben"),
        ("reopen", None, ""),
    ]
    human = cli("alerts", "show", alert).stdout
    assert "history" in human
    assert "closed -> open" in human
    trail = cli.json("audit", "list", "--action", "alert.close")
    assert [e["entity_id"] for e in trail] == [alert]


def test_quarantine_list_show_replay_and_discard(
    cli: Cli, live: Platform, eve: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_member(live, "10.1.0.0/16")
    cli("ingest", "eve", str(eve), "--sensor", "oslo-1")
    (held,) = cli.json("quarantine", "list")
    assert held["status"] == "held"
    assert held["source"] == f"file:{eve.absolute()}"
    assert held["position"] == eve.read_bytes().index(BROKEN)
    assert (held["feed"], held["sensor"], held["attempts"]) == ("eve", "oslo-1", 0)
    assert held["reason"]
    assert cli.json("quarantine", "list", "--status", "replayed") == []
    assert cli.json("quarantine", "list", "--source", "file:/elsewhere") == []
    shown = cli.json("quarantine", "show", str(held["id"]))
    assert shown["raw"].encode() == BROKEN
    assert "BROKEN" in cli("quarantine", "show", str(held["id"])).stdout

    # The parser still refuses it: it stays held, with the attempt counted.
    assert cli.json("quarantine", "replay", str(held["id"])) == [
        {"id": held["id"], "replayed": False, "events_stored": 0, "events_duplicate": 0}
    ]
    (after,) = cli.json("quarantine", "list")
    assert (after["status"], after["attempts"]) == ("held", 1)
    assert after["last_error"]

    # A fixed parser reads it: the event is stored and the record marked replayed.
    class Fixed(EveParser):
        def parse_line(self, line: bytes, **kwargs: Any) -> Event | SensorStats:
            if b"BROKEN" in line:
                line = eve_line(dst="10.1.0.5", src_port=99)
            return super().parse_line(line, **kwargs)

    monkeypatch.setattr("vardeild.monitoring.batch.EveParser", Fixed)
    replayed = cli.json("quarantine", "replay", "--all", "--source", held["source"])
    assert replayed == [
        {"id": held["id"], "replayed": True, "events_stored": 1, "events_duplicate": 0}
    ]
    (done,) = cli.json("quarantine", "list")
    assert (done["status"], done["attempts"]) == ("replayed", 2)
    assert done["replayed_at"]
    with live.session() as session:
        assert len(session.scalars(select(EventRow)).all()) == 4
    cli("quarantine", "replay", str(held["id"]), code=4)  # no longer held
    cli("quarantine", "replay", code=2)
    cli("quarantine", "discard", str(held["id"]), "--reason", "late", code=4)


def test_discarding_is_audited(cli: Cli, live: Platform, eve: Path) -> None:
    cli("ingest", "eve", str(eve))
    (held,) = cli.json("quarantine", "list")
    cli("quarantine", "discard", str(held["id"]), "--reason", " ", code=2)
    discarded = cli.json("quarantine", "discard", str(held["id"]), "--reason", "test noise")
    assert discarded["status"] == "discarded"
    with live.session() as session:
        (entry,) = session.scalars(
            select(AuditRow).where(AuditRow.action == "quarantine.discard")
        ).all()
    assert (entry.entity_id, entry.note) == (str(held["id"]), "test noise")
    assert entry.before is not None
    assert entry.before["status"] == "held"
    cli("quarantine", "show", "424242", code=3)


def test_suppression_rules_count_what_they_hide(
    cli: Cli, live: Platform, eve: Path, tmp_path: Path
) -> None:
    member = add_member(live, "10.1.0.0/16", name="Fjordklinikken")
    rule = cli.json(
        "suppress",
        "add",
        "--member",
        "Fjordklinikken",
        "--signature",
        "2001219",
        "--network",
        "10.1.0.0/24",
        "--reason",
        "our own vulnerability scanner",
        "--expires",
        "2099-01-01",
    )
    assert (rule["member_id"], rule["identifier"], rule["network"]) == (
        member,
        "sid:1:2001219",
        "10.1.0.0/24",
    )
    summary = cli.json("ingest", "eve", str(eve))
    assert (summary["events_suppressed"], summary["events_stored"]) == (2, 1)
    (listed,) = cli.json("suppress", "list")
    assert listed["hit_count"] == 2
    assert listed["last_hit_at"]
    assert "our own vulnerability scanner" in cli("suppress", "list").stdout
    cli("suppress", "remove", str(rule["id"]))
    assert cli.json("suppress", "list") == []
    with live.session() as session:
        actions = sorted(
            session.scalars(
                select(AuditRow.action).where(AuditRow.entity_type == "suppression_rule")
            )
        )
    assert actions == ["suppression_rule.create", "suppression_rule.delete"]
    # Removed: the same events are stored again (new lines, so new fingerprints).
    more = tmp_path / "more.json"
    more.write_bytes(eve_line(dst="10.1.0.5", src_port=77) + b"\n")
    assert cli.json("ingest", "eve", str(more))["events_stored"] == 1
    cli("suppress", "remove", str(rule["id"]), code=3)


def test_a_suppression_rule_must_say_what_and_why(cli: Cli) -> None:
    result = cli("suppress", "add", "--reason", "everything", code=2)
    assert "names no condition" in result.stderr
    cli("suppress", "add", "--network", "10.1.0.0/33", "--reason", "x", code=2)
    cli("suppress", "add", "--signature", "1", "--reason", "", code=2)
    cli("suppress", "add", "--signature", "1", "--reason", "x", "--expires", "2000-01-01", code=2)
    cli("suppress", "add", "--member", "Nobody AS", "--reason", "x", code=3)


def test_ingest_shadowserver(cli: Cli, live: Platform, tmp_path: Path) -> None:
    member = add_member(live, "10.1.0.0/16")
    report = tmp_path / "2026-11-28-scan_rdp-norway-geo.csv"
    report.write_bytes(
        b'"timestamp","ip","port","hostname","tag","asn","geo","region","city"\n'
        b'"2026-11-28 01:00:00","10.1.0.7",3389,,"rdp",64500,"NO","R","C"\n'
        b'"2026-11-28 01:00:00","192.0.2.8",3389,,"rdp",64500,"NO","R","C"\n'
    )
    summary = cli.json("ingest", "shadowserver", str(report))
    assert (summary["records"], summary["events_stored"], summary["events_unattributed"]) == (
        2,
        1,
        1,
    )
    (alert,) = cli.json("alerts", "list")
    assert alert["member_id"] == member
    assert alert["feed_name"] == "shadowserver"
    assert (
        cli.json("ingest", "shadowserver", str(report), "--report-type", "scan_rdp")["records"] == 0
    )
