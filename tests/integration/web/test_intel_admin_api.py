"""POST /api/v1/intel/import, GET /api/v1/intel/indicators[/{id}] and the audience routes
/api/v1/intel/indicators/{id}/audience[/{organisation_id}]."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from support.web import Headers, OrgMaker, TokenMaker
from vardeild.access.model import Role
from vardeild.audit.tables import AuditRow
from vardeild.core.tlp import Tlp
from vardeild.intel.stix_out import TLP_MARKING_IDS
from vardeild.intel.tables import IndicatorRow
from vardeild.platform import Platform

API = "/api/v1/intel"
IMPORT = f"{API}/import"
INDICATORS = f"{API}/indicators"
STAMP = "2026-11-01T10:00:00.000Z"


def indicator(n: int, pattern: str, tlp: Tlp = Tlp.AMBER) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": STAMP,
        "modified": STAMP,
        "name": f"test {n}",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": STAMP,
        "object_marking_refs": [TLP_MARKING_IDS[tlp]],
    }


def bundle(*objects: Any) -> bytes:
    document = {
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000001",
        "objects": list(objects),
    }
    return json.dumps(document).encode()


def counts(platform: Platform) -> tuple[int, int]:
    with platform.session() as session:
        stored = session.scalar(select(func.count()).select_from(IndicatorRow)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditRow)) or 0
    return stored, audit


def import_(client: TestClient, headers: Headers, body: bytes, **params: Any) -> Any:
    return client.post(
        IMPORT, params={"source": "partner", **params}, content=body, headers=headers
    )


def test_import_of_a_stix_bundle_answers_counts_and_stores_them(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    body = bundle(
        indicator(1, "[ipv4-addr:value = '198.51.100.9']"),
        indicator(2, "[domain-name:value = 'c2.bad.example']", Tlp.RED),
        indicator(3, "[ipv4-addr:value = 'not-an-ip']"),
        {"type": "malware", "id": "malware--00000000-0000-4000-8000-000000000009"},
        "not an object",
    )
    _, audit_before = counts(platform)
    answer = import_(client, cert, body)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["format"], result["source"], result["created"]) == ("stix", "partner", 2)
    assert (result["updated"], result["unchanged"], result["dry_run"]) == (0, 0, False)
    assert (result["ignored"], result["unmatchable"]) == (1, 1)
    assert result["problems"] == [
        {"record": "object 5", "field": "", "message": "is not a JSON object"}
    ]
    assert counts(platform) == (2, audit_before + 1)

    again = import_(client, cert, body).json()
    assert (again["created"], again["unchanged"]) == (0, 2)

    listed = client.get(INDICATORS, params={"source": "partner"}, headers=cert).json()
    assert listed["total"] == 2
    assert (listed["limit"], listed["offset"]) == (50, 0)
    assert [(i["type"], i["value"], i["tlp"]) for i in listed["items"]] == [
        ("domain", "c2.bad.example", "RED"),
        ("ipv4", "198.51.100.9", "AMBER"),
    ]
    red = client.get(INDICATORS, params={"tlp": "RED"}, headers=cert).json()
    assert [i["value"] for i in red["items"]] == ["c2.bad.example"]
    one = client.get(f"{INDICATORS}/{listed['items'][1]['id']}", headers=cert).json()
    assert one["value"] == "198.51.100.9"
    assert client.get(f"{INDICATORS}/999999", headers=cert).status_code == 404
    assert client.get(INDICATORS, params={"feed": "nope"}, headers=cert).status_code == 404


def test_a_dry_run_counts_and_stores_nothing(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    before = counts(platform)
    body = b"198.51.100.1\n198.51.100.2\n"
    answer = import_(client, cert, body, format="plain", tlp="GREEN", dry_run="true")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["created"], answer.json()["dry_run"]) == (2, True)
    assert counts(platform)[0] == before[0]


@pytest.mark.parametrize(
    ("body", "params", "said"),
    [
        (b"{not json", {"format": "stix"}, "not JSON"),
        (b'{"type": "report"}', {"format": "stix"}, "bundle"),
        (b"198.51.100.1\n", {"format": "misp-feed"}, "manifest.json"),
    ],
)
def test_a_file_refused_whole_answers_422_and_stores_nothing(
    client: TestClient,
    cert: Headers,
    platform: Platform,
    body: bytes,
    params: dict[str, str],
    said: str,
) -> None:
    before = counts(platform)
    answer = import_(client, cert, body, **params)
    assert answer.status_code == 422, answer.text
    assert said in json.dumps(answer.json()["problems"])
    assert counts(platform) == before


def test_import_needs_a_valid_source(client: TestClient, cert: Headers) -> None:
    answer = client.post(IMPORT, content=b"198.51.100.1\n", headers=cert)
    assert answer.status_code == 422
    assert "source" in answer.text


def test_a_file_over_import_max_bytes_answers_413(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    platform.settings.import_max_bytes = 2048
    before = counts(platform)
    body = b"".join(f"198.51.100.{i % 250}\n".encode() for i in range(400))
    answer = import_(client, cert, body, format="plain")
    assert answer.status_code == 413
    assert "at most 2,048 bytes are accepted" in answer.json()["message"]
    assert counts(platform) == before


def test_share_names_a_member_who_then_receives_it(
    client: TestClient, cert: Headers, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org(name="Mottaker HF")
    other = make_org(name="Annen HF")
    member = token(Role.MEMBER_USER, org["id"])
    import_(client, cert, bundle(indicator(1, "[domain-name:value = 'amber.bad.example']")))
    [amber] = client.get(INDICATORS, headers=cert).json()["items"]
    audience = f"{INDICATORS}/{amber['id']}/audience"

    def shared() -> list[str]:
        answer = client.get(f"{API}/shared", headers=member)
        assert answer.status_code == 200, answer.text
        return [i["value"] for i in answer.json()["items"]]

    assert shared() == []
    added = client.post(audience, json={"organisation_ids": [org["id"]]}, headers=cert)
    assert added.status_code == 200, added.text
    assert added.json()["added"] == 1
    assert [m["organisation_id"] for m in added.json()["items"]] == [org["id"]]
    assert shared() == ["amber.bad.example"]
    again = client.post(audience, json={"organisation_ids": [org["id"]]}, headers=cert).json()
    assert again["added"] == 0
    listed = client.get(audience, headers=cert).json()
    assert [m["organisation_id"] for m in listed["items"]] == [org["id"]]

    assert client.delete(f"{audience}/{other['id']}", headers=cert).status_code == 204
    assert client.delete(f"{audience}/{org['id']}", headers=cert).status_code == 204
    assert shared() == []
    assert client.get(audience, headers=cert).json()["total"] == 0
    assert client.delete(f"{audience}/999999", headers=cert).status_code == 404
    missing = client.post(
        f"{INDICATORS}/999999/audience", json={"organisation_ids": [org["id"]]}, headers=cert
    )
    assert missing.status_code == 404
    assert client.get(f"{INDICATORS}/999999/audience", headers=cert).status_code == 404
    assert client.delete(f"{INDICATORS}/999999/audience/{org['id']}", headers=cert).status_code == (
        404
    )


def test_a_red_indicator_is_never_shared(
    client: TestClient, cert: Headers, make_org: OrgMaker, platform: Platform
) -> None:
    org = make_org(name="Mottaker HF")
    body = bundle(indicator(1, "[domain-name:value = 'red.bad.example']", Tlp.RED))
    import_(client, cert, body)
    [red] = client.get(INDICATORS, headers=cert).json()["items"]
    _, audit_before = counts(platform)
    answer = client.post(
        f"{INDICATORS}/{red['id']}/audience", json={"organisation_ids": [org["id"]]}, headers=cert
    )
    assert answer.status_code == 422
    assert "TLP:RED never leaves the CERT" in answer.json()["problems"][0]["message"]
    assert client.get(f"{INDICATORS}/{red['id']}/audience", headers=cert).json()["total"] == 0
    assert counts(platform)[1] == audit_before


@pytest.mark.parametrize("role", [Role.MEMBER_ADMIN, Role.MEMBER_USER])
def test_members_may_use_none_of_the_routes(
    client: TestClient,
    cert: Headers,
    token: TokenMaker,
    make_org: OrgMaker,
    platform: Platform,
    role: Role,
) -> None:
    org = make_org(name="Medlem HF")
    member = token(role, org["id"])
    import_(client, cert, bundle(indicator(1, "[domain-name:value = 'amber.bad.example']")))
    [amber] = client.get(INDICATORS, headers=cert).json()["items"]
    audience = f"{INDICATORS}/{amber['id']}/audience"
    before = counts(platform)
    calls = [
        ("POST", IMPORT, {"params": {"source": "x"}, "content": b"198.51.100.1\n"}),
        ("GET", INDICATORS, {}),
        ("GET", f"{INDICATORS}/{amber['id']}", {}),
        ("GET", audience, {}),
        ("POST", audience, {"json": {"organisation_ids": [org["id"]]}}),
        ("DELETE", f"{audience}/{org['id']}", {}),
    ]
    for method, url, extra in calls:
        answer = client.request(method, url, headers=member, **extra)
        assert answer.status_code == 403, f"{method} {url}: {answer.text}"
    assert counts(platform) == before
