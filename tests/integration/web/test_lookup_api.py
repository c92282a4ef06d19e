"""Whois and conflicts over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.web import Headers, OrgMaker, TokenMaker
from vardeild.access.model import Role

API = "/api/v1"


def test_whois_names_the_owner_and_says_no_member_outside(
    client: TestClient, cert: Headers, make_org: OrgMaker
) -> None:
    org = make_org(networks=["192.0.2.0/24"], domains=["sykehus.example.no"], asns=[64999])
    answer = client.get(f"{API}/whois", params={"value": "192.0.2.77"}, headers=cert)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["member"], body["kind"], body["matched"]) == (True, "network", "192.0.2.0/24")
    assert [o["id"] for o in body["organisations"]] == [org["id"]]
    by_domain = client.get(
        f"{API}/whois", params={"value": "https://www.sykehus.example.no/login"}, headers=cert
    ).json()
    assert by_domain["organisations"][0]["id"] == org["id"]
    assert client.get(f"{API}/whois?value=AS64999", headers=cert).json()["member"] is True
    outside = client.get(f"{API}/whois?value=203.0.113.1", headers=cert).json()
    assert outside == {
        "value": "203.0.113.1",
        "kind": None,
        "matched": None,
        "organisations": [],
        "member": False,
    }


def test_whois_problems(client: TestClient, cert: Headers) -> None:
    bad = client.get(f"{API}/whois?value=not%20a%20thing%21", headers=cert)
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["record"] == "whois"
    assert bad.json()["problems"][0]["field"] == "value"
    missing = client.get(f"{API}/whois", headers=cert)
    assert missing.status_code == 422
    assert missing.json()["problems"][0]["field"] == "query.value"


def test_whois_for_a_member_names_only_itself(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    own = make_org(networks=["192.0.2.0/24"])
    other = make_org(networks=["198.51.100.0/24"])
    headers = token(Role.MEMBER_USER, own["id"])
    assert client.get(f"{API}/whois?value=192.0.2.1", headers=headers).json()["member"] is True
    foreign = client.get(f"{API}/whois?value=198.51.100.1", headers=headers).json()
    assert foreign["member"] is False
    assert other["name"] not in str(foreign)


def test_conflicts(client: TestClient, token: TokenMaker, make_org: OrgMaker) -> None:
    region = make_org(networks=["10.20.0.0/16"])
    trust = make_org(networks=["10.20.5.0/24"])
    answer = client.get(f"{API}/conflicts", headers=token(Role.CERT_READONLY))
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert len(items) == 1
    conflict = items[0]
    assert (conflict["outer"], conflict["inner"]) == ("10.20.0.0/16", "10.20.5.0/24")
    assert conflict["outer_organisation"]["id"] == region["id"]
    assert conflict["inner_organisation"]["id"] == trust["id"]
    assert "more specific" in conflict["resolution"]
    member = token(Role.MEMBER_ADMIN, region["id"])
    assert client.get(f"{API}/conflicts", headers=member).status_code == 403
