"""The demo constituency: valid, complete, fictional, and overlapping only where meant to."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from vardeild.core.identifiers import validate_org_number
from vardeild.members.attribution import (
    AttributionIndex,
    find_asn_overlaps,
    find_domain_overlaps,
    find_overlaps,
)
from vardeild.members.demo import DEMO_EXAMPLES, DEMO_OVERLAPS, demo_constituency
from vardeild.members.model import Exposure, Sector, parse_organisation, spec_to_dict

DEMO = demo_constituency()
BY_NAME = {org["name"]: i for i, org in enumerate(DEMO)}

DOCUMENTATION = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
] + [ipaddress.ip_network("2001:db8::/32")]
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _within(cidr: str, ranges: list[Any]) -> bool:
    network = ipaddress.ip_network(cidr)
    return any(network.version == outer.version and network.subnet_of(outer) for outer in ranges)


def test_some_forty_organisations() -> None:
    assert 35 <= len(DEMO) <= 45


@pytest.mark.parametrize("org", DEMO, ids=lambda org: org["name"])
def test_every_organisation_parses_to_itself(org: dict[str, Any]) -> None:
    spec = parse_organisation(org, org["name"])
    assert spec is not None
    assert spec_to_dict(spec) == org


def test_org_numbers_valid_unique_and_outside_the_assigned_series() -> None:
    numbers = [org["org_number"] for org in DEMO]
    assert all(validate_org_number(n) == n for n in numbers)
    assert len(set(numbers)) == len(numbers)
    # Brønnøysund assigns numbers starting with 8 or 9; none of these can be a real one.
    assert all(n[0] not in "89" for n in numbers)


def test_names_and_domains_unique() -> None:
    assert len(BY_NAME) == len(DEMO)
    domains = [d["name"] for org in DEMO for d in org["domains"]]
    assert len(set(domains)) == len(domains)


def test_every_sector_type_is_present() -> None:
    assert {org["sector"] for org in DEMO} == {s.value for s in Sector}


def test_health_regions_own_their_trusts_and_parents_come_first() -> None:
    numbers = {org["org_number"]: org for org in DEMO}
    seen: set[str] = set()
    for org in DEMO:
        if org["parent"] is not None:
            assert org["parent"] in seen, f"{org['name']} comes before its parent"
        seen.add(org["org_number"])
    trusts = [org for org in DEMO if org["sector"] == "hospital_trust"]
    assert trusts
    assert all(numbers[t["parent"]]["sector"] == "health_region" for t in trusts)
    regions = [org for org in DEMO if org["sector"] == "health_region"]
    assert len(regions) == 4
    assert all(any(t["parent"] == r["org_number"] for t in trusts) for r in regions)


def test_only_documentation_and_private_ranges_private_ones_internal() -> None:
    for org in DEMO:
        for network in org["networks"]:
            cidr = network["cidr"]
            if _within(cidr, PRIVATE):
                assert network["exposure"] == Exposure.INTERNAL.value, (org["name"], cidr)
            else:
                assert _within(cidr, DOCUMENTATION), (org["name"], cidr)


def test_only_documentation_and_private_asns() -> None:
    for org in DEMO:
        for entry in org["asns"]:
            asn = entry["asn"]
            assert 64496 <= asn <= 64511 or 65536 <= asn <= 65551 or asn >= 4_200_000_000, asn


def test_only_reserved_domains_and_addresses_on_them() -> None:
    for org in DEMO:
        domains = [d["name"] for d in org["domains"]]
        assert all(d.endswith((".example", ".test")) for d in domains), domains
        for contact in org["contacts"]:
            assert contact["email"].rpartition("@")[2] in domains
            assert contact["phone"].startswith("+47 ")
            assert contact["language"] in {"nb", "en"}
            assert contact["roles"]


def test_a_mix_of_states_and_services() -> None:
    assert {org["membership"]["state"] for org in DEMO} == {
        "applied",
        "active",
        "suspended",
        "left",
    }
    services = {s for org in DEMO for s in org["services"]}
    assert services == {"monitoring", "vulnerability_overview", "penetration_testing", "advisories"}


def test_the_deliberate_overlaps_and_no_others() -> None:
    networks = [(n["cidr"], i) for i, org in enumerate(DEMO) for n in org["networks"]]
    found = {
        (o.outer, DEMO[o.outer_owner]["name"], o.inner, DEMO[o.inner_owner]["name"])
        for o in find_overlaps(networks)
    }
    assert found == set(DEMO_OVERLAPS)
    assert (
        find_domain_overlaps([(d["name"], i) for i, o in enumerate(DEMO) for d in o["domains"]])
        == []
    )
    assert find_asn_overlaps([(a["asn"], i) for i, o in enumerate(DEMO) for a in o["asns"]]) == []


@pytest.mark.parametrize(("value", "owner"), DEMO_EXAMPLES)
def test_examples_are_owned_as_documented(value: str, owner: str | None) -> None:
    index = AttributionIndex.build(
        [(n["cidr"], i) for i, org in enumerate(DEMO) for n in org["networks"]],
        [(d["name"], i) for i, org in enumerate(DEMO) for d in org["domains"]],
        [(a["asn"], i) for i, org in enumerate(DEMO) for a in org["asns"]],
    )
    match = index.whois(value)
    if owner is None:
        assert match is None
    else:
        assert match is not None
        assert DEMO[match.owner]["name"] == owner
