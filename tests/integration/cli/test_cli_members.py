"""`vardeild members list|show|add|edit|remove`, and the errors they report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import Cli
from vardeild.members.demo import demo_constituency


@pytest.fixture
def ready(cli: Cli) -> Cli:
    """The CLI on an initialised, empty registry."""
    cli("init")
    return cli


ADD_KARI = (
    "members",
    "add",
    "--name",
    "Fjelltun legesenter",
    "--org-number",
    "100900009",
    "--sector",
    "gp_clinic",
    "--criticality",
    "low",
    "--state",
    "active",
    "--service",
    "monitoring",
    "--network",
    "203.0.113.240/29",
    "--internal-network",
    "192.168.240.0/24",
    "--asn",
    "AS64511",
    "--domain",
    "fjelltun-lege.test",
    "--contact",
    "Kari Nordmann <kari@fjelltun-lege.test>",
    "--role",
    "security",
    "--role",
    "abuse",
)


def test_add_from_options_then_show(ready: Cli) -> None:
    added = ready.json(*ADD_KARI)
    assert added["org_number"] == "100900009"
    shown = ready.json("members", "show", "100900009")
    assert shown["id"] == added["id"]
    assert shown["membership"]["state"] == "active"
    assert {(n["cidr"], n["exposure"]) for n in shown["networks"]} == {
        ("192.168.240.0/24", "internal"),
        ("203.0.113.240/29", "internet"),
    }
    assert [a["asn"] for a in shown["asns"]] == [64511]
    assert shown["contacts"][0]["name"] == "Kari Nordmann"
    assert shown["contacts"][0]["roles"] == ["security", "abuse"]
    by_id = ready.json("members", "show", str(added["id"]))
    assert by_id["name"] == "Fjelltun legesenter"
    table = ready("members", "show", "Fjelltun legesenter").stdout
    assert "203.0.113.240/29" in table
    assert "kari@fjelltun-lege.test" in table


def test_add_prints_a_confirmation(ready: Cli) -> None:
    result = ready(*ADD_KARI)
    assert "Added organisation 1: Fjelltun legesenter" in result.stdout


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_add_from_a_file(ready: Cli, tmp_path: Path, suffix: str) -> None:
    record = demo_constituency()[0]
    path = tmp_path / f"org{suffix}"
    path.write_text(json.dumps(record), encoding="utf-8")  # JSON is valid YAML too
    added = ready.json("members", "add", "--file", str(path))
    assert added["name"] == record["name"]
    assert len(added["networks"]) == len(record["networks"])


def test_add_refuses_a_file_and_options_together(ready: Cli, tmp_path: Path) -> None:
    path = tmp_path / "org.json"
    path.write_text("{}", encoding="utf-8")
    result = ready("members", "add", "--file", str(path), "--name", "X", code=2)
    assert "either --file or the field options" in result.stderr


def test_add_reports_every_problem_naming_record_and_field(ready: Cli) -> None:
    result = ready(
        "members",
        "add",
        "--name",
        "Feilklinikken",
        "--org-number",
        "123456789",
        "--sector",
        "spaceport",
        "--network",
        "192.0.2.1/24",
        "--network",
        "300.1.2.0/24",
        "--contact",
        "Ola <ola@feil.test>",
        "--role",
        "boss",
        code=2,
    )
    assert result.stdout == ""
    err = result.stderr
    assert "5 problems" in err
    assert "organisation 'Feilklinikken': org_number:" in err
    assert "organisation 'Feilklinikken': sector: 'spaceport' is not one of" in err
    assert "organisation 'Feilklinikken': networks[0]: '192.0.2.1/24' has host bits set" in err
    assert "organisation 'Feilklinikken': networks[1]:" in err
    assert "contacts[0]: roles: 'boss' is not one of" in err
    assert ready.json("members", "list") == []


def test_add_overlong_name_and_bad_contact_syntax(ready: Cli) -> None:
    long_name = ready("members", "add", "--name", "x" * 201, "--sector", "other", code=2)
    assert "name: is 201 characters long; at most 200" in long_name.stderr
    bad_contact = ready(
        "members", "add", "--name", "Y", "--sector", "other", "--contact", "just text", code=2
    )
    assert "contacts[0]: 'just text': write a contact as 'Name <email>'" in bad_contact.stderr


def test_add_duplicate_is_refused_naming_the_holder(ready: Cli) -> None:
    ready(*ADD_KARI)
    result = ready(*ADD_KARI, code=2)
    assert "name: an organisation named 'Fjelltun legesenter' exists (id 1)" in result.stderr
    assert "org_number: 100900009 belongs to 'Fjelltun legesenter'" in result.stderr


def test_add_file_with_invalid_utf8_or_syntax(ready: Cli, tmp_path: Path) -> None:
    latin1 = tmp_path / "org.json"
    latin1.write_bytes('{"name": "Tromsø"}'.encode("latin-1"))
    result = ready("members", "add", "--file", str(latin1), code=2)
    assert "is not UTF-8 text" in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ', encoding="utf-8")
    result = ready("members", "add", "--file", str(broken), code=2)
    assert "broken.json: line 1 column 10: is not valid JSON" in result.stderr


def test_list_filters(demo_cli: Cli) -> None:
    everything = demo_cli.json("members", "list")
    vendors = demo_cli.json("members", "list", "--sector", "vendor")
    assert vendors
    assert {o["sector"] for o in vendors} == {"vendor"}
    assert len(vendors) == sum(1 for o in everything if o["sector"] == "vendor")
    applied = demo_cli.json("members", "list", "--state", "applied")
    assert applied
    assert {o["membership"]["state"] for o in applied} == {"applied"}
    testing = demo_cli.json("members", "list", "--service", "penetration_testing")
    assert testing
    assert all("penetration_testing" in o["services"] for o in testing)
    found = demo_cli.json("members", "list", "-q", "FJELLVIK")
    assert {o["name"] for o in found} == {"Fjellvik kommune", "Fjellvik helse og omsorg"}
    table = demo_cli("members", "list", "--sector", "health_region").stdout
    assert "Helse Nordvest RHF" in table
    assert "4 organisations" in table
    bad = demo_cli("members", "list", "--sector", "spaceport", code=2)
    assert "spaceport" in bad.stderr


def test_show_names_parent_and_children(demo_cli: Cli) -> None:
    region = demo_cli("members", "show", "Helse Nordvest RHF").stdout
    assert "Nordhamn sykehus HF" in region
    trust = demo_cli("members", "show", "Nordhamn sykehus HF").stdout
    assert "Helse Nordvest RHF" in trust


def test_show_unknown_is_not_found(ready: Cli) -> None:
    result = ready("members", "show", "Finnes ikke", code=3)
    assert "no organisation has the id, org number or name 'Finnes ikke'" in result.stderr
    ready("members", "show", "99999999999", code=3)


def test_edit_with_set_and_file(ready: Cli, tmp_path: Path) -> None:
    ready(*ADD_KARI)
    ready(
        "members",
        "edit",
        "Fjelltun legesenter",
        "--set",
        "membership.joined_on=2025-02-01",
        "--set",
        "criticality=high",
        "--set",
        "networks=203.0.113.240/29;198.51.100.240/28",
    )
    patch = tmp_path / "patch.yaml"
    patch.write_text("notes: Moved to the new building\nservices: [monitoring, advisories]\n")
    after = ready.json(
        "members", "edit", "100900009", "--file", str(patch), "--set", "state=suspended"
    )
    assert after["criticality"] == "high"
    assert after["notes"] == "Moved to the new building"
    assert after["services"] == ["monitoring", "advisories"]
    assert {n["cidr"] for n in after["networks"]} == {"203.0.113.240/29", "198.51.100.240/28"}
    # A change of state keeps the dates recorded before.
    assert after["membership"] == {
        "state": "suspended",
        "applied_on": None,
        "joined_on": "2025-02-01",
        "suspended_on": None,
        "left_on": None,
    }
    said = ready("members", "edit", "Fjelltun legesenter", "--set", "short_name=Fjelltun")
    assert "Updated organisation 1: Fjelltun legesenter (short_name)" in said.stdout


def test_edit_errors(ready: Cli) -> None:
    ready(*ADD_KARI)
    unknown_field = ready("members", "edit", "1", "--set", "colour=blue", code=2)
    assert "organisation 1: colour: is not a field of an organisation" in unknown_field.stderr
    bad_cidr = ready("members", "edit", "1", "--set", "networks=10.0.0.1/8", code=2)
    assert "organisation 1: networks[0]: '10.0.0.1/8' has host bits set" in bad_cidr.stderr
    assert ready("members", "edit", "404", "--set", "notes=x", code=3).stderr
    nothing = ready("members", "edit", "1", code=2)
    assert "nothing to change" in nothing.stderr
    no_equals = ready("members", "edit", "1", "--set", "notes", code=2)
    assert "write it as field=value" in no_equals.stderr
    # Nothing of the failed edits was applied.
    assert {n["cidr"] for n in ready.json("members", "show", "1")["networks"]} == {
        "203.0.113.240/29",
        "192.168.240.0/24",
    }


def test_remove_asks_unless_yes(ready: Cli) -> None:
    ready(*ADD_KARI)
    declined = ready("members", "remove", "Fjelltun legesenter", input="n\n", code=1)
    assert "Remove Fjelltun legesenter (id 1)" in declined.stdout
    assert ready.json("members", "show", "1")["name"] == "Fjelltun legesenter"
    removed = ready("members", "remove", "Fjelltun legesenter", "--yes")
    assert "Removed organisation 1: Fjelltun legesenter" in removed.stdout
    ready("members", "show", "1", code=3)
    ready("members", "remove", "Fjelltun legesenter", "--yes", code=3)
