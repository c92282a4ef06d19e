"""`vardeild cases`: a case opened, moved, noted, tasked, coordinated, merged, split and
counted from the command line, against a fresh database of the backend under test."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import Cli
from support.notify import add_member


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path) -> Cli:
    """The CLI on a new, migrated database."""
    made = Cli(fresh_database_url, tmp_path / "data")
    made("init")
    return made


def test_a_case_from_opening_to_statistics(cli: Cli, tmp_path: Path) -> None:
    platform = cli.platform()
    try:
        a = add_member(platform, [{"name": "Ola", "email": "ola@a.example", "roles": ["security"]}])
        b = add_member(
            platform, [{"name": "Kari", "email": "kari@b.example", "roles": ["on_call"]}]
        )
    finally:
        platform.engine.dispose()
    made = cli.json(
        "cases", "create", "--title", "Phishing mot portalen", "--classification", "phishing",
        "--severity", "critical", "--affected", str(a), "--significant",
    )  # fmt: skip
    ref = made["reference"]
    assert ref == f"VARDEILD#{made['id']}"
    assert made["classification"] == {"taxonomy": "fraud", "type": "phishing"}
    refused = cli("cases", "status", ref, "closed", code=4)
    assert "may go to" in refused.stderr
    cli("cases", "status", ref, "triage", "--note", "ser på den")
    cli("cases", "note", ref, "Internt: mistenker innsider")
    cli("cases", "note", ref, "Delt: bytt passord", "--shared")
    cli("cases", "task", ref, "Ring leverandøren", "--owner", "analytiker",
        "--due", "2026-12-01T12:00+01:00")  # fmt: skip
    cli("cases", "involve", ref, str(b), "--role", "vendor")
    sent = cli("cases", "update", ref, "Leverandøren har en rettelse.", "--tlp", "AMBER")
    assert "2 notices" in sent.stdout
    cli("cases", "update", ref, "x", "--tlp", "RED", code=2)
    shown = cli.json("cases", "show", ref)
    assert {o["organisation_id"] for o in shown["organisations"]} == {a, b}
    notes = ("Internt", "Delt")
    assert [e["visibility"] for e in shown["journal"] if e["text"].startswith(notes)] == [
        "internal",
        "shared",
    ]
    assert {d["kind"] for d in shown["deadlines"]} >= {"early_warning", "notification"}
    task_id = shown["tasks"][0]["id"]
    cli("cases", "task", ref, "--done", str(task_id))
    listed = cli.json("cases", "list", "--open")
    assert [c["id"] for c in listed] == [made["id"]]
    other = cli.json("cases", "create", "--title", "Samme hendelse")
    cli("cases", "merge", str(other["id"]), ref)
    assert cli.json("cases", "show", str(other["id"]))["status"] == "merged"
    entry = next(e for e in shown["journal"] if e["text"].startswith("Delt"))
    split = cli("cases", "split", ref, "--title", "Utskilt", "--entry", str(entry["id"]))
    assert "Utskilt" in split.stdout
    cli("cases", "show", "VARDEILD#2147483000", code=3)
    cli("cases", "stats", "--csv", str(tmp_path / "stats.csv"))
    text = (tmp_path / "stats.csv").read_text(encoding="utf-8")
    assert text.startswith("period,dimension,key,cases,median_hours,mean_hours")
    assert ",classification,fraud,2," in text  # the case and the one split off
    figures = cli.json("cases", "stats")
    assert figures["total"] == 2


def test_the_deadline_digest_dry_run_prints_and_records_nothing(cli: Cli) -> None:
    assert cli.json("cases", "digest", "--dry-run")["status"] == "nothing_due"
    made = cli.json(
        "cases", "create", "--title", "Datainnbrudd hos vannverk", "--severity", "info",
        "--significant",
    )  # fmt: skip
    cli("cases", "note", made["reference"], "Internt: kilden er hemmelig")
    printed = cli("cases", "digest", "--dry-run").stdout
    assert f"[{made['reference']}] Datainnbrudd hos vannverk" in printed
    assert "early warning (regulatory)" in printed
    assert "due in 24 h" in printed
    assert "kilden er hemmelig" not in printed
    assert "dry run: nothing sent" in printed
    again = cli.json("cases", "digest", "--dry-run")
    assert (again["status"], again["items"]) == ("dry_run", 1)
