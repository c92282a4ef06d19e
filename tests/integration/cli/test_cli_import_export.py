"""`vardeild members import` and `members export`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from support.cli import Cli
from vardeild.members.demo import demo_constituency


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_export_then_import_changes_nothing(demo_cli: Cli, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"registry.{fmt}"
    said = demo_cli("members", "export", "--output", str(path))
    assert f"Exported {len(demo_constituency())} organisations to {path} ({fmt})" in said.stdout
    plan = demo_cli.json("members", "import", str(path), "--dry-run")
    assert plan["has_changes"] is False
    assert plan["unchanged"] == len(demo_constituency())
    assert "No changes" in demo_cli("members", "import", str(path)).stdout


def test_export_to_stdout_defaults_to_json(demo_cli: Cli) -> None:
    exported = json.loads(demo_cli("members", "export").stdout)
    assert len(exported) == len(demo_constituency())
    as_yaml = yaml.safe_load(demo_cli("members", "export", "--format", "yaml").stdout)
    assert [o["name"] for o in as_yaml] == [o["name"] for o in exported]
    header = demo_cli("members", "export", "--format", "csv").stdout.splitlines()[0]
    assert header.lstrip("\ufeff").startswith("name,")  # a BOM, for spreadsheets


def test_dry_run_shows_the_diff_and_writes_nothing(demo_cli: Cli, tmp_path: Path) -> None:
    records = json.loads(demo_cli("members", "export").stdout)
    changed = next(r for r in records if r["name"] == "Breidal legekontor")
    changed["criticality"] = "high"
    changed["networks"].append(
        {"cidr": "203.0.113.248/29", "exposure": "internet", "description": "new line"}
    )
    records.append({"name": "Nyby legesenter", "sector": "gp_clinic"})
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(records), encoding="utf-8")

    shown = demo_cli("members", "import", str(path), "--dry-run").stdout
    assert "Dry run of changed.json: nothing was written." in shown
    assert "+ Nyby legesenter" in shown
    assert "~ Breidal legekontor" in shown
    assert "criticality: 'low' -> 'high'" in shown
    assert "+ 203.0.113.248/29 new line" in shown
    assert "1 to create, 1 to change" in shown
    assert demo_cli.json("members", "show", "Breidal legekontor")["criticality"] == "low"

    plan = demo_cli.json("members", "import", str(path))
    assert plan["applied"] is True
    assert plan["created"] == ["Nyby legesenter"]
    assert [u["name"] for u in plan["updated"]] == ["Breidal legekontor"]
    assert demo_cli.json("members", "show", "Breidal legekontor")["criticality"] == "high"
    assert len(demo_cli.json("members", "list")) == len(demo_constituency()) + 1


def test_import_with_errors_applies_nothing_and_names_records(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps(
            [
                {"name": "God klinikk", "sector": "gp_clinic"},
                {"name": "Dårlig klinikk", "sector": "gp_clinic", "networks": ["10.0.0.1/8"]},
                {"name": "Ukjent", "sector": "spaceport", "org_number": "123"},
            ]
        ),
        encoding="utf-8",
    )
    result = cli("members", "import", str(path), code=2)
    err = result.stderr
    assert "bad.json record 2 (name 'Dårlig klinikk'): networks[0]:" in err
    assert "bad.json record 3 (name 'Ukjent'): sector:" in err
    assert "bad.json record 3 (name 'Ukjent'): org_number:" in err
    assert cli.json("members", "list") == []


def test_import_refuses_bad_files(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('[{"name": "Tromsø", "sector": "other"}]'.encode("latin-1"))
    assert "UTF-8" in cli("members", "import", str(latin1), code=2).stderr
    csv = tmp_path / "wrong.csv"
    csv.write_text("navn,sektor\nX,other\n", encoding="utf-8")
    assert "wrong.csv" in cli("members", "import", str(csv), code=2).stderr
    unknown = tmp_path / "registry.txt"
    unknown.write_text("[]", encoding="utf-8")
    result = cli("members", "import", str(unknown), code=2)
    assert "cannot tell the format" in result.stderr
    assert cli.json("members", "import", str(unknown), "--format", "json")["has_changes"] is False
    cli("members", "import", str(tmp_path / "missing.json"), code=2)
