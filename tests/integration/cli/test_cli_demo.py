"""`vardeild demo`, and the questions the demo is for: `whois` and `members conflicts`."""

from __future__ import annotations

import stat

import pytest

from support.cli import Cli
from vardeild.access.service import authenticate
from vardeild.members.demo import DEMO_EXAMPLES, DEMO_OVERLAPS, demo_constituency
from vardeild.platform import Platform


def test_demo_seeds_the_constituency_once_and_writes_a_working_token(
    cli: Cli, platform_of: Platform
) -> None:
    expected = len(demo_constituency())
    first = cli("demo", "--no-serve")
    assert f"{expected} of {expected} organisations added" in first.stdout
    assert "vardeild whois 192.0.2.10" in first.stdout
    assert "/api/v1/organisations" in first.stdout
    organisations = cli.json("members", "list")
    assert len(organisations) == expected
    assert {o["name"] for o in organisations} == {o["name"] for o in demo_constituency()}

    token = cli.data_dir / "demo-cert-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    secret = token.read_text(encoding="utf-8").strip()
    with platform_of.session() as session:
        principal = authenticate(session, secret, clock=platform_of.clock)
    assert principal is not None
    assert principal.is_cert

    second = cli("demo", "--no-serve")
    assert "nothing to add" in second.stdout
    assert len(cli.json("members", "list")) == expected
    # The token still works, so no second one was issued.
    assert token.read_text(encoding="utf-8").strip() == secret
    assert len(cli.json("tokens", "list")) == 1


def test_demo_adds_back_what_is_missing_and_reset_restores_edits(demo_cli: Cli) -> None:
    cli = demo_cli
    cli("members", "remove", "Lysnes Apotek", "--yes")
    cli("members", "edit", "Breidal legekontor", "--set", "criticality=critical")
    again = cli("demo", "--no-serve")
    assert "1 of" in again.stdout
    assert cli.json("members", "show", "Breidal legekontor")["criticality"] == "critical"
    cli("demo", "--no-serve", "--reset")
    assert cli.json("members", "show", "Breidal legekontor")["criticality"] == "low"
    assert len(cli.json("members", "list")) == len(demo_constituency())


def test_demo_import_is_audited(demo_cli: Cli) -> None:
    entries = demo_cli.json(
        "audit", "list", "--action", "organisation.import.create", "--limit", "100"
    )
    assert len(entries) == len(demo_constituency())
    assert all(e["actor"].startswith("cli:") for e in entries)


@pytest.mark.parametrize(("value", "owner"), [e for e in DEMO_EXAMPLES if e[1] is not None])
def test_whois_names_the_owner_of_a_demo_range(demo_cli: Cli, value: str, owner: str) -> None:
    result = demo_cli("whois", value)
    assert owner in result.stdout
    answer = demo_cli.json("whois", value)
    assert answer["member"] is True
    assert [o["name"] for o in answer["organisations"]] == [owner]


def test_whois_outside_every_member_range_says_no_member(demo_cli: Cli) -> None:
    outside = next(value for value, owner in DEMO_EXAMPLES if owner is None)
    result = demo_cli("whois", outside)
    assert result.stdout.strip() == f"{outside}: no member"
    answer = demo_cli.json("whois", outside)
    assert answer["organisations"] == []
    assert answer["member"] is False


def test_whois_of_an_identical_claim_names_both_and_points_at_conflicts(demo_cli: Cli) -> None:
    result = demo_cli("whois", "172.20.14.7")
    assert "Fjellvik kommune" in result.stdout
    assert "Fjellvik helse og omsorg" in result.stdout
    assert "members conflicts" in result.stdout


def test_whois_of_nonsense_is_a_validation_error(demo_cli: Cli) -> None:
    result = demo_cli("whois", "not an address!", code=2)
    assert "whois: value:" in result.stderr


def test_conflicts_lists_the_deliberate_overlaps(demo_cli: Cli) -> None:
    found = demo_cli.json("members", "conflicts")
    pairs = {
        (c["outer"], c["outer_organisation"]["name"], c["inner"], c["inner_organisation"]["name"])
        for c in found
    }
    for outer, outer_owner, inner, inner_owner in DEMO_OVERLAPS:
        assert (outer, outer_owner, inner, inner_owner) in pairs or (
            inner == outer and (outer, inner_owner, inner, outer_owner) in pairs
        )
    assert len(found) == len(DEMO_OVERLAPS)
    table = demo_cli("members", "conflicts").stdout
    assert "Fjordsky Drift AS" in table
    assert "Solvik fastlegekontor" in table
    assert f"{len(DEMO_OVERLAPS)} overlaps" in table


def test_conflicts_on_an_empty_registry(cli: Cli) -> None:
    cli("init")
    assert "No overlaps" in cli("members", "conflicts").stdout
    assert cli.json("members", "conflicts") == []
