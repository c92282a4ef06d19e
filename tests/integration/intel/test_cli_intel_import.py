"""`vardeild intel import`, `unmatchable`, `feeds` and `list` filters, in-process against a
fresh database of the backend under test (the CLI commits for real)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from vardeild.cli.main import app

Run = Callable[..., Result]
FEODO = (
    b"# Feodo\r\n"
    b'"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\r\n'
    b'"2023-05-23 17:51:44","192.0.2.10","443","online","2024-04-01","Pikabot"\r\n'
)


@pytest.fixture
def vardeild(fresh_database_url: str, tmp_path: Path) -> Run:
    """`vardeild ARGS` on an initialised database; checks the exit code (code=, default 0)."""
    env = {
        "VARDEILD_DATABASE_URL": fresh_database_url,
        "VARDEILD_DATA_DIR": str(tmp_path / "data"),
        "VARDEILD_CONFIG": None,
        "COLUMNS": "200",
    }
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    run("init")
    return run


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


def _stix(tmp_path: Path) -> Path:
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "valid_from": "2026-01-01T00:00:00Z",
        "pattern_type": "stix",
        "object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
    }
    objects = [
        {**indicator, "pattern": "[domain-name:value = 'c2.example.no']"},
        {
            **indicator,
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40",
            "pattern": "[file:name = 'evil.exe']",
        },
    ]
    path = tmp_path / "partner.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}))
    return path


def test_import_detects_formats_stores_and_keeps_unmatchable(vardeild: Run, tmp_path: Path) -> None:
    feodo = tmp_path / "feodo.csv"
    feodo.write_bytes(FEODO)
    refused = tmp_path / "schema.json"
    refused.write_text('{"$schema": "x"}')
    result = vardeild("intel", "import", str(_stix(tmp_path)), str(feodo), str(refused), code=2)
    assert "Imported 1 indicators from partner.json (stix)" in result.stdout
    assert "1 kept as not matchable" in result.stdout
    assert "Imported 1 indicators from feodo.csv (feodo)" in result.stdout
    assert "JSON Schema" in result.stderr
    red = _json(vardeild("intel", "list", "--tlp", "RED", "--json"))
    assert [(i["value"], i["source"], i["stix_id"]) for i in red] == [
        ("c2.example.no", "partner", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
    ]
    kept = _json(vardeild("intel", "unmatchable", "--json"))
    assert [(k["object_id"], k["reason"]) for k in kept] == [
        ("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40", "file:name has no event field to match")
    ]


def test_import_with_a_column_mapping(vardeild: Run, tmp_path: Path) -> None:
    path = tmp_path / "iocs.csv"
    path.write_text("ioc,family\n192.0.2.30,emotet\nnot valid,x\n")
    result = vardeild(
        "intel", "import", str(path), "--map", "value=ioc,tags=family", "--source", "x", "--json"
    )
    (summary,) = _json(result)
    assert (summary["created"], summary["skipped"]) == (1, 1)
    assert vardeild("intel", "import", str(path), "--map", "colour=x", code=2)


def test_feeds_are_configured_listed_and_secrets_masked(vardeild: Run) -> None:
    vardeild(
        "intel",
        "feeds",
        "add",
        "partner",
        "https://feeds.example/ips.txt",
        "--format",
        "plain",
        "--auth",
        "header",
        "--auth-name",
        "Authorization",
        "--auth-secret",
        "Bearer very-secret-token",
    )
    shown = vardeild("intel", "feeds", "show", "partner", "--json")
    assert "very-secret" not in shown.stdout
    assert _json(shown)["auth_secret"] == "****en"
    vardeild("intel", "feeds", "disable", "partner")
    (listed,) = _json(vardeild("intel", "feeds", "list", "--json"))
    assert listed["enabled"] is False
    assert "No feed is due" in vardeild("intel", "sync").stdout
    vardeild("intel", "feeds", "add", "partner", "https://x.example/", "-f", "plain", code=4)
    vardeild("intel", "feeds", "remove", "partner")
    assert _json(vardeild("intel", "feeds", "list", "--json")) == []


def test_a_misp_feed_directory_imports_its_events(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "misp-feed"
    feed.mkdir()
    uuid = "5e7f2d40-8f1a-4b8e-9b5a-1c2d3e4f5a6b"
    (feed / "manifest.json").write_text(
        json.dumps({uuid: {"timestamp": "1700000000", "info": "x"}, "missing-uuid": {}})
    )
    attribute = {"type": "domain", "value": "evil.example.no", "to_ids": True, "uuid": "a-1"}
    event = {"info": "Phish", "uuid": uuid, "Attribute": [attribute], "Tag": [{"name": "tlp:red"}]}
    (feed / f"{uuid}.json").write_text(json.dumps({"Event": event}))
    (summary,) = _json(vardeild("intel", "import", str(feed), "--json"))
    assert (summary["format"], summary["created"], summary["source"]) == (
        "misp-feed",
        1,
        "misp-feed",
    )
    assert any("missing-uuid" in problem for problem in summary["problems"])
    (indicator,) = _json(vardeild("intel", "list", "--source", "misp-feed", "--json"))
    assert (indicator["value"], indicator["tlp"]) == ("evil.example.no", "RED")
