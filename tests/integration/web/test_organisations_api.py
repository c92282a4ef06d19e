"""Organisations over HTTP: create, read, change, delete, lists and what they own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.factories import org_data
from support.web import Headers, OrgMaker, TokenMaker
from vardeild.access.model import Role
from vardeild.web.schemas import AsnOut, ContactOut, DomainOut, NetworkOut, OrganisationOut

API = "/api/v1"


def problems(answer: Any) -> list[dict[str, str]]:
    """Return the problems of a 422 answer, checking its shape."""
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "validation_failed"
    assert body["message"]
    return list(body["problems"])


def total(client: TestClient, headers: Headers) -> int:
    answer = client.get(f"{API}/organisations", headers=headers)
    assert answer.status_code == 200
    return int(answer.json()["total"])


def test_create_read_change_delete(client: TestClient, cert: Headers) -> None:
    data = org_data(notes="Avtale fornyet 2026")
    created = client.post(f"{API}/organisations", json=data, headers=cert)
    assert created.status_code == 201, created.text
    org = created.json()
    assert created.headers["location"] == f"{API}/organisations/{org['id']}"
    assert org["name"] == data["name"]
    assert org["org_number"] == data["org_number"]
    assert [n["cidr"] for n in org["networks"]] == sorted(data["networks"])
    assert org["contacts"][0]["email"] == data["contacts"][0]["email"]
    assert org["notes"] == "Avtale fornyet 2026"

    read = client.get(f"{API}/organisations/{org['id']}", headers=cert)
    assert read.status_code == 200
    assert read.json() == org

    changed = client.patch(
        f"{API}/organisations/{org['id']}",
        json={"criticality": "critical", "services": ["monitoring", "advisories"]},
        headers=cert,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["criticality"] == "critical"
    assert changed.json()["services"] == ["monitoring", "advisories"]
    assert changed.json()["networks"] == org["networks"]  # lists not given stay as they are

    deleted = client.delete(f"{API}/organisations/{org['id']}", headers=cert)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = client.get(f"{API}/organisations/{org['id']}", headers=cert)
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


def test_network_with_host_bits_names_record_and_field(client: TestClient, cert: Headers) -> None:
    before = total(client, cert)
    data = org_data(name="Vertsbit HF", networks=["192.0.2.1/24"])
    found = problems(client.post(f"{API}/organisations", json=data, headers=cert))
    assert found == [
        {
            "record": "organisation 'Vertsbit HF'",
            "field": "networks[0]",
            "message": found[0]["message"],
        }
    ]
    assert "host bits" in found[0]["message"]
    assert "192.0.2.0/24" in found[0]["message"]
    assert total(client, cert) == before


def test_invalid_org_number(client: TestClient, cert: Headers) -> None:
    found = problems(
        client.post(f"{API}/organisations", json=org_data(org_number="123456789"), headers=cert)
    )
    assert [p["field"] for p in found] == ["org_number"]


def test_duplicate_organisation_names_the_clash(
    client: TestClient, cert: Headers, make_org: OrgMaker
) -> None:
    existing = make_org()
    data = org_data(name=existing["name"], org_number=existing["org_number"])
    found = problems(client.post(f"{API}/organisations", json=data, headers=cert))
    assert {p["field"] for p in found} == {"name", "org_number"}
    assert all(f"id {existing['id']}" in p["message"] for p in found)


def test_unknown_sector_overlong_name_and_every_problem_at_once(
    client: TestClient, cert: Headers
) -> None:
    data = org_data(name="N" * 201, sector="bakery", contacts=[{"name": "K", "email": "nope"}])
    found = problems(client.post(f"{API}/organisations", json=data, headers=cert))
    by_field = {p["field"]: p["message"] for p in found}
    assert "at most 200" in by_field["name"]
    assert "'bakery' is not one of" in by_field["sector"]
    assert "hospital_trust" in by_field["sector"]
    assert "email" in by_field


def test_unknown_field_and_wrong_json_type_are_request_problems(
    client: TestClient, cert: Headers
) -> None:
    found = problems(
        client.post(f"{API}/organisations", json={**org_data(), "colour": "blue"}, headers=cert)
    )
    assert found[0]["record"] == "request"
    assert found[0]["field"] == "body.colour"
    found = problems(
        client.post(f"{API}/organisations", json={**org_data(), "networks": 5}, headers=cert)
    )
    assert {p["field"] for p in found} == {"body.networks"}
    found = problems(
        client.post(
            f"{API}/organisations",
            content=b"{not json",
            headers={**cert, "Content-Type": "application/json"},
        )
    )
    assert found[0]["record"] == "request"


def test_patch_errors(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    org = make_org()
    found = problems(
        client.patch(f"{API}/organisations/{org['id']}", json={"name": ""}, headers=cert)
    )
    assert found == [
        {"record": f"organisation {org['id']}", "field": "name", "message": "is required"}
    ]
    assert client.patch(f"{API}/organisations/999999", json={}, headers=cert).status_code == 404
    assert client.get(f"{API}/organisations/0", headers=cert).status_code == 422
    assert client.get(f"{API}/organisations/{2**70}", headers=cert).status_code == 422
    assert client.get(f"{API}/organisations/abc", headers=cert).status_code == 422


def test_pagination(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    names = sorted(make_org(name=f"Side {i}")["name"] for i in range(3))
    first = client.get(f"{API}/organisations?q=side&limit=2", headers=cert).json()
    assert [o["name"] for o in first["items"]] == names[:2]
    assert (first["total"], first["limit"], first["offset"]) == (3, 2, 0)
    rest = client.get(f"{API}/organisations?q=side&limit=2&offset=2", headers=cert).json()
    assert [o["name"] for o in rest["items"]] == names[2:]
    assert client.get(f"{API}/organisations?limit=0", headers=cert).status_code == 422
    assert client.get(f"{API}/organisations?offset=-1", headers=cert).status_code == 422
    too_many = problems(client.get(f"{API}/organisations?limit=501", headers=cert))
    assert too_many == [
        {"record": "request", "field": "query.limit", "message": "is 501; at most 500"}
    ]
    assert client.get(f"{API}/organisations?limit=500", headers=cert).status_code == 200


def test_filters(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    region = make_org(name="Filter Region", sector="health_region", services=[])
    trust = make_org(
        name="Filter Trust",
        sector="hospital_trust",
        criticality="critical",
        parent=region["org_number"],
        services=["penetration_testing"],
    )
    left = make_org(name="Filter Gone", sector="dental", membership={"state": "left"})

    def names(query: str) -> list[str]:
        answer = client.get(f"{API}/organisations?q=filter&{query}", headers=cert)
        assert answer.status_code == 200, answer.text
        return [o["name"] for o in answer.json()["items"]]

    assert names("sector=health_region") == [region["name"]]
    assert names("criticality=critical") == [trust["name"]]
    assert names("state=left") == [left["name"]]
    assert names("service=penetration_testing") == [trust["name"]]
    assert names(f"parent_id={region['id']}") == [trust["name"]]
    assert names("") == sorted([region["name"], trust["name"], left["name"]])
    assert (
        client.get(f"{API}/organisations?q={trust['org_number']}", headers=cert).json()["total"]
        == 1
    )
    bad = problems(client.get(f"{API}/organisations?sector=bakery", headers=cert))
    assert bad[0]["field"] == "query.sector"
    bad = problems(client.get(f"{API}/organisations?q=%00", headers=cert))
    assert bad[0]["field"] == "query.q"


def test_member_tokens_see_their_own_organisation_without_cert_notes(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    own = make_org(notes="Intern merknad fra CERT-et")
    make_org()
    headers = token(Role.MEMBER_USER, own["id"])
    listed = client.get(f"{API}/organisations", headers=headers).json()
    assert [o["id"] for o in listed["items"]] == [own["id"]]
    assert listed["total"] == 1
    read = client.get(f"{API}/organisations/{own['id']}", headers=headers).json()
    assert read["notes"] is None
    assert "Intern merknad" not in str(listed) + str(read)


def test_members_and_read_only_staff_cannot_change_organisations(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    own = make_org()
    for headers in (
        token(Role.MEMBER_ADMIN, own["id"]),
        token(Role.MEMBER_USER, own["id"]),
        token(Role.CERT_READONLY),
    ):
        assert (
            client.post(f"{API}/organisations", json=org_data(), headers=headers).status_code == 403
        )
        patched = client.patch(
            f"{API}/organisations/{own['id']}", json={"criticality": "low"}, headers=headers
        )
        assert patched.status_code == 403
        assert patched.json()["error"] == "permission_denied"
        assert client.delete(f"{API}/organisations/{own['id']}", headers=headers).status_code == 403


# --- what organisations own -------------------------------------------------------------


def test_networks(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    org = make_org(networks=["192.0.2.0/24"])
    base = f"{API}/organisations/{org['id']}/networks"
    added = client.post(
        base,
        json={"cidr": "2001:DB8:AB::/48", "exposure": "internal", "description": "Sykehusnett"},
        headers=cert,
    )
    assert added.status_code == 201, added.text
    item = added.json()
    assert item["cidr"] == "2001:db8:ab::/48"
    assert (item["family"], item["exposure"], item["description"]) == (6, "internal", "Sykehusnett")
    assert added.headers["location"] == f"{base}/{item['id']}"

    listed = client.get(base, headers=cert).json()
    assert listed["total"] == 2
    assert item in listed["items"]
    assert (
        client.get(f"{base}?limit=1&offset=1", headers=cert).json()["items"] == listed["items"][1:]
    )

    duplicate = client.post(base, json={"cidr": "192.0.2.0/24"}, headers=cert)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "conflict"
    assert "192.0.2.0/24 is registered already" in duplicate.json()["message"]

    host_bits = problems(client.post(base, json={"cidr": "198.51.100.7/24"}, headers=cert))
    assert host_bits[0]["record"] == f"organisation {org['id']}"
    assert host_bits[0]["field"] == "network"
    assert "host bits" in host_bits[0]["message"]

    assert client.delete(f"{base}/{item['id']}", headers=cert).status_code == 204
    assert client.get(base, headers=cert).json()["total"] == 1
    missing = client.delete(f"{base}/{item['id']}", headers=cert)
    assert missing.status_code == 404
    assert client.get(f"{API}/organisations/999999/networks", headers=cert).status_code == 404


def test_asns_and_domains(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    org = make_org(asns=[], domains=[])
    base = f"{API}/organisations/{org['id']}"
    asn = client.post(f"{base}/asns", json={"asn": "AS64512"}, headers=cert)
    assert asn.status_code == 201, asn.text
    assert asn.json()["asn"] == 64512
    assert client.post(f"{base}/asns", json={"asn": 64512}, headers=cert).status_code == 409
    assert (
        problems(client.post(f"{base}/asns", json={"asn": "ASX"}, headers=cert))[0]["field"]
        == "asn"
    )
    domain = client.post(f"{base}/domains", json={"name": "Sykehus.Example.NO."}, headers=cert)
    assert domain.status_code == 201, domain.text
    assert domain.json()["name"] == "sykehus.example.no"
    assert (
        problems(client.post(f"{base}/domains", json={"name": "-bad-"}, headers=cert))[0]["field"]
        == "domain"
    )
    assert client.get(f"{base}/asns", headers=cert).json()["total"] == 1
    assert client.delete(f"{base}/asns/{asn.json()['id']}", headers=cert).status_code == 204
    assert client.delete(f"{base}/domains/{domain.json()['id']}", headers=cert).status_code == 204
    assert client.get(f"{base}/domains", headers=cert).json()["items"] == []


def test_contacts(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    org = make_org(contacts=[])
    base = f"{API}/organisations/{org['id']}/contacts"
    added = client.post(
        base,
        json={"name": "Ola Nordmann", "email": "Ola@Example.no", "roles": ["on_call"]},
        headers=cert,
    )
    assert added.status_code == 201, added.text
    contact = added.json()
    assert (contact["email"], contact["roles"], contact["language"]) == (
        "Ola@example.no",
        ["on_call"],
        "nb",
    )
    duplicate = client.post(base, json={"name": "Ola", "email": "Ola@EXAMPLE.no"}, headers=cert)
    assert duplicate.status_code == 409

    patched = client.patch(
        f"{base}/{contact['id']}", json={"phone": "+47 22 00 00 00", "language": "en"}, headers=cert
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["id"] == contact["id"]
    assert (patched.json()["phone"], patched.json()["language"]) == ("+47 22 00 00 00", "en")

    bad = problems(client.patch(f"{base}/{contact['id']}", json={"roles": ["chef"]}, headers=cert))
    assert bad[0]["field"] == "roles"
    assert "'chef' is not one of" in bad[0]["message"]
    assert (
        problems(client.patch(f"{base}/{contact['id']}", json={"favourite": "x"}, headers=cert))[0][
            "field"
        ]
        == "body.favourite"
    )
    assert client.patch(f"{base}/999999", json={"phone": "1"}, headers=cert).status_code == 404

    moved = client.patch(f"{base}/{contact['id']}", json={"email": "vakt@example.no"}, headers=cert)
    assert moved.status_code == 200, moved.text
    assert moved.json()["email"] == "vakt@example.no"
    assert moved.json()["phone"] == "+47 22 00 00 00"

    assert client.delete(f"{base}/{moved.json()['id']}", headers=cert).status_code == 204
    assert client.get(base, headers=cert).json()["total"] == 0


def test_missing_contact_fields(client: TestClient, cert: Headers, make_org: OrgMaker) -> None:
    org = make_org()
    found = problems(
        client.post(f"{API}/organisations/{org['id']}/contacts", json={"name": "K"}, headers=cert)
    )
    assert found == [{"record": "request", "field": "body.email", "message": "Field required"}]


@pytest.mark.parametrize("kind", ["networks", "asns", "domains", "contacts"])
def test_members_cannot_change_what_they_own_directly(
    client: TestClient, token: TokenMaker, make_org: OrgMaker, kind: str
) -> None:
    org = make_org()
    headers = token(Role.MEMBER_ADMIN, org["id"])
    body = {
        "networks": {"cidr": "203.0.113.0/24"},
        "asns": {"asn": 65001},
        "domains": {"name": "ny.example.no"},
        "contacts": {"name": "Ny", "email": "ny@example.no"},
    }[kind]
    base = f"{API}/organisations/{org['id']}/{kind}"
    assert client.get(base, headers=headers).status_code == 200
    assert client.post(base, json=body, headers=headers).status_code == 403
    assert client.delete(f"{base}/{org[kind][0]['id']}", headers=headers).status_code == 403


def test_answers_mirror_the_snapshot_field_for_field(
    client: TestClient, cert: Headers, make_org: OrgMaker
) -> None:
    """The typed answer drops nothing the registry holds (nor invents anything)."""
    snapshot = make_org()
    answer = client.get(f"{API}/organisations/{snapshot['id']}", headers=cert).json()
    for stamp in ("created_at", "updated_at"):  # the same instant, written with Z
        assert datetime.fromisoformat(answer.pop(stamp)) == datetime.fromisoformat(
            snapshot.pop(stamp)
        )
    assert answer == snapshot
    assert set(OrganisationOut.model_fields) == {*snapshot, "created_at", "updated_at"}
    for kind, schema in (
        ("networks", NetworkOut),
        ("asns", AsnOut),
        ("domains", DomainOut),
        ("contacts", ContactOut),
    ):
        assert set(schema.model_fields) == set(snapshot[kind][0]), kind


def test_oversized_bodies_are_refused(client: TestClient, cert: Headers) -> None:
    body = org_data(notes="x" * (5 * 1024 * 1024))
    answer = client.post(f"{API}/organisations", json=body, headers=cert)
    assert answer.status_code == 413
    assert answer.headers["x-frame-options"] == "DENY"
