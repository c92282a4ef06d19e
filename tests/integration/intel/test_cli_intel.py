"""`vardeild intel` in-process against a fresh database of the backend under test (the CLI
commits for real): load, list, stats, expire, delete, and the exit codes of bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from vardeild.cli.main import app

Run = Callable[..., Result]
MD5 = "44d88612fea8a8f36de82e1278abb02f"


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

    def run(*args: str, code: int = 0, input: str | None = None) -> Result:
        result = runner.invoke(app, list(args), env=env, input=input)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    run("init")
    return run


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_load_list_and_stats(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "feodo.txt"
    feed.write_bytes(b"\xef\xbb\xbf# Feodo Tracker\r\n192.0.2.1\r\n10.0.0.0/8\r\nevil.no\r\n")
    out = vardeild("intel", "load", str(feed), "--source", "feodo", "--tlp", "green").stdout
    assert "Loaded 3 indicators from feodo.txt into source 'feodo': 3 created" in out
    again = as_json(
        vardeild("intel", "load", str(feed), "--source", "feodo", "--tlp", "GREEN", "--json")
    )
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    listed = as_json(vardeild("intel", "list", "--json"))
    assert [(i["type"], i["value"], i["tlp"]) for i in listed] == [
        ("cidr", "10.0.0.0/8", "GREEN"),
        ("domain", "evil.no", "GREEN"),
        ("ipv4", "192.0.2.1", "GREEN"),
    ]
    assert as_json(vardeild("intel", "list", "--type", "ipv4", "--json"))[0]["value"] == (
        "192.0.2.1"
    )
    assert as_json(vardeild("intel", "list", "-q", "evil", "--json"))[0]["value"] == "evil.no"
    table = vardeild("intel", "list", "--limit", "1").stdout
    assert "10.0.0.0/8" in table
    assert "Showing 1-1 of 3" in table
    stats = as_json(vardeild("intel", "stats", "--json"))
    assert (stats["total"], stats["by_source"], stats["revision"]) == (3, {"feodo": 3}, 1)
    assert "3 indicators: 3 valid, 0 expired" in vardeild("intel", "stats").stdout


def test_csv_with_its_own_columns_and_a_dry_run(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "partner.csv"
    feed.write_text(f"value,type,tlp,tags\n{MD5},ja3,RED,cobalt strike\nevil.no,,,\n")
    dry = as_json(vardeild("intel", "load", str(feed), "--dry-run", "--json"))
    assert (dry["dry_run"], dry["created"], dry["by_type"]) == (True, 2, {"domain": 1, "ja3": 1})
    assert as_json(vardeild("intel", "list", "--json")) == []
    assert "Dry run of partner.csv" in vardeild("intel", "load", str(feed), "--dry-run").stdout
    vardeild("intel", "load", str(feed), "--valid-until", "2099-12-31")
    domain, ja3 = as_json(vardeild("intel", "list", "--json"))  # ordered by type
    assert (ja3["type"], ja3["tlp"], ja3["tags"]) == ("ja3", "RED", ["cobalt strike"])
    assert domain["valid_until"] == "2100-01-01T00:00:00+00:00"


def test_bad_lines_exit_2_naming_each_line_and_load_nothing(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "bad.txt"
    feed.write_bytes(b"192.0.2.1\n192.0.2.256\n" + MD5.encode() + b"\nevil\x00.no\n")
    result = vardeild("intel", "load", str(feed), code=2)
    assert result.stderr.splitlines() == [
        "error: 3 problems in the input; nothing was changed",
        "  line 2: value: '192.0.2.256' is not a valid IP address",
        f"  line 3: value: '{MD5}' is 32 hex digits: an MD5 hash, a JA3 or a JA3S fingerprint; "
        "give the type (md5, ja3 or ja3s)",
        "  line 4: holds a NUL byte at column 5",
    ]
    assert as_json(vardeild("intel", "list", "--json")) == []
    skipped = vardeild("intel", "load", str(feed), "--skip-invalid")
    assert "1 created" in skipped.stdout
    assert "warning: left out 3 invalid rows:" in skipped.stderr
    assert "line 2: value: '192.0.2.256'" in skipped.stderr


def test_bad_options_exit_2(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "f.txt"
    feed.write_text("evil.no\n")
    vardeild("intel", "load", str(feed), "--type", "ipv5", code=2)
    vardeild("intel", "load", str(feed), "--tlp", "purple", code=2)
    vardeild("intel", "load", str(feed), "--confidence", "101", code=2)
    vardeild("intel", "load", str(feed), "--valid-until", "soon", code=2)
    vardeild("intel", "load", str(tmp_path / "missing.txt"), code=2)
    assert "is empty" in vardeild("intel", "load", str(feed), "--source", " ", code=2).stderr


def test_expire_and_delete(vardeild: Run, tmp_path: Path) -> None:
    feed = tmp_path / "f.txt"
    feed.write_text("evil.no\n192.0.2.1\n")
    vardeild("intel", "load", str(feed), "--source", "feed")
    ids = [i["id"] for i in as_json(vardeild("intel", "list", "--json"))]
    assert as_json(vardeild("intel", "expire", str(ids[0]), "--json")) == {"expired": 1}
    assert len(as_json(vardeild("intel", "list", "--valid", "--json"))) == 1
    assert "Expired 1 indicators." in vardeild("intel", "expire", "--source", "feed").stdout
    asked = vardeild("intel", "delete", str(ids[0]), input="n\n", code=1)
    assert f"Delete indicator {ids[0]}?" in asked.stdout
    assert "Deleted 1 indicators." in vardeild("intel", "delete", str(ids[0]), "--yes").stdout
    vardeild("intel", "delete", str(ids[0]), "--yes", code=3)
    assert "name indicators by id or a source" in vardeild("intel", "delete", code=2).stderr
    assert as_json(vardeild("intel", "delete", "--source", "feed", "-y", "--json")) == {
        "deleted": 1
    }


def test_stdin_is_read_as_a_list(vardeild: Run) -> None:
    result = vardeild("intel", "load", "-", "--json", input="evil.no\n")
    assert as_json(result)["created"] == 1
