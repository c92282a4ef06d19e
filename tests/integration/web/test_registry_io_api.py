"""GET /api/v1/registry/export and POST /api/v1/registry/import."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from support.factories import org_number
from vardeild.access.model import Role
from vardeild.audit.tables import AuditRow
from vardeild.members.tables import OrganisationRow
from vardeild.platform import Platform

Headers = dict[str, str]
TokenMaker = Callable[..., Headers]
OrgMaker = Callable[..., dict[str, Any]]

EXPORT = "/api/v1/registry/export"
IMPORT = "/api/v1/registry/import"


def counts(platform: Platform) -> tuple[int, int]:
    with platform.session() as session:
        orgs = session.scalar(select(func.count()).select_from(OrganisationRow)) or 0
        audit = session.scalar(select(func.count()).select_from(AuditRow)) or 0
    return orgs, audit


def record(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Apotek Test",
        "org_number": org_number(800),
        "sector": "pharmacy",
        "networks": ["198.51.100.0/24"],
        "contacts": [{"name": "Siri", "email": "siri@apotek-test.no", "roles": ["security"]}],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("fmt", "media_type", "start"),
    [
        ("json", "application/json", b"[\n  {"),
        ("yaml", "application/yaml", b"- name: "),
        ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbfname,short_name,"),
    ],
)
def test_export_answers_a_file_of_the_format(
    client: TestClient, cert: Headers, make_org: OrgMaker, fmt: str, media_type: str, start: bytes
) -> None:
    make_org(name="Eksport HF")
    answer = client.get(EXPORT, params={"format": fmt}, headers=cert)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == media_type
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="vardeild-registry-2026-11-28.{fmt}"'
    )
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content.startswith(start)
    assert b"Eksport HF" in answer.content


def test_export_defaults_to_json_and_refuses_an_unknown_format(
    client: TestClient, cert: Headers
) -> None:
    assert client.get(EXPORT, headers=cert).headers["content-type"] == "application/json"
    answer = client.get(EXPORT, params={"format": "xlsx"}, headers=cert)
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "query.format"


@pytest.mark.parametrize("role", [Role.MEMBER_ADMIN, Role.MEMBER_USER])
def test_members_may_neither_export_nor_import(
    client: TestClient, token: TokenMaker, make_org: OrgMaker, platform: Platform, role: Role
) -> None:
    org = make_org()
    headers = token(role, org["id"])
    assert client.get(EXPORT, headers=headers).status_code == 403
    before = counts(platform)
    body = json.dumps([record()]).encode()
    answer = client.post(IMPORT, params={"format": "json"}, content=body, headers=headers)
    assert answer.status_code == 403
    assert counts(platform) == before


def test_read_only_cert_staff_may_export_but_not_import(
    client: TestClient, token: TokenMaker, platform: Platform
) -> None:
    headers = token(Role.CERT_READONLY)
    assert client.get(EXPORT, headers=headers).status_code == 200
    before = counts(platform)
    body = json.dumps([record()]).encode()
    answer = client.post(IMPORT, params={"format": "json"}, content=body, headers=headers)
    assert answer.status_code == 403
    assert counts(platform) == before


def test_without_a_token_both_answer_401_before_the_body_is_read(
    client: TestClient, platform: Platform
) -> None:
    assert client.get(EXPORT).status_code == 401
    assert client.post(IMPORT, params={"format": "json"}, content=b"[]").status_code == 401
    platform.settings.import_max_bytes = 1024
    too_large = client.post(IMPORT, params={"format": "json"}, content=b" " * 4096)
    assert too_large.status_code == 401


def test_import_applies_and_answers_the_plan(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    body = json.dumps([record()]).encode()
    answer = client.post(IMPORT, params={"filename": "apotek.json"}, content=body, headers=cert)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "source": "apotek.json",
        "applied": True,
        "has_changes": True,
        "created": ["Apotek Test"],
        "updated": [],
        "unchanged": 0,
    }
    exported = client.get(EXPORT, params={"format": "csv"}, headers=cert).content
    again = client.post(IMPORT, params={"format": "csv"}, content=exported, headers=cert)
    assert again.json()["has_changes"] is False
    assert again.json()["unchanged"] == 1


def test_dry_run_answers_the_diff_and_writes_nothing(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    client.post(IMPORT, params={"format": "json"}, content=json.dumps([record()]), headers=cert)
    before = counts(platform)
    changed = json.dumps([record(sector="laboratory")]).encode()
    answer = client.post(
        IMPORT, params={"format": "json", "dry_run": "true"}, content=changed, headers=cert
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["applied"] is False
    assert plan["updated"][0]["changes"] == [
        {
            "field": "sector",
            "before": "pharmacy",
            "after": "laboratory",
        }
    ]
    assert counts(platform) == before


def test_bad_records_answer_422_naming_record_and_field_and_apply_nothing(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    before = counts(platform)
    records = [
        record(),
        record(name="Annen", org_number=org_number(801), networks=["10.0.0.1/8"]),
        record(name="Tredje"),  # the first record's org number again
    ]
    body = json.dumps(records).encode()
    answer = client.post(IMPORT, params={"filename": "bad.json"}, content=body, headers=cert)
    assert answer.status_code == 422
    error = answer.json()
    assert error["message"].startswith("Nothing was changed.")
    assert [(p["record"], p["field"]) for p in error["problems"]] == [
        ("bad.json record 2 (name 'Annen')", "networks[0]"),
        ("bad.json record 3 (name 'Tredje')", "org_number"),
    ]
    assert "host bits set" in error["problems"][0]["message"]
    assert (
        "is also given in bad.json record 1 (name 'Apotek Test')"
        in (error["problems"][1]["message"])
    )
    assert counts(platform) == before


def test_a_file_over_import_max_bytes_answers_413(
    client: TestClient, cert: Headers, platform: Platform
) -> None:
    platform.settings.import_max_bytes = 2048
    before = counts(platform)
    body = json.dumps([record(notes="x" * 3000)]).encode()
    answer = client.post(IMPORT, params={"format": "json"}, content=body, headers=cert)
    assert answer.status_code == 413
    assert (
        "at most 2,048 bytes are accepted (the import_max_bytes setting)"
        in (answer.json()["message"])
    )

    def chunks() -> Any:  # no Content-Length: the limit holds while reading
        yield body[:1000]
        yield body[1000:]

    streamed = client.post(IMPORT, params={"format": "json"}, content=chunks(), headers=cert)
    assert streamed.status_code == 413
    assert counts(platform) == before


def test_format_comes_from_the_filename_or_must_be_given(client: TestClient, cert: Headers) -> None:
    yaml_body = b"- name: Apotek Yaml\n  sector: pharmacy\n"
    told = client.post(
        IMPORT, params={"filename": "r.yml", "dry_run": True}, content=yaml_body, headers=cert
    )
    assert told.json()["created"] == ["Apotek Yaml"]
    untold = client.post(IMPORT, content=yaml_body, headers=cert)
    assert untold.status_code == 422
    assert untold.json()["problems"][0]["field"] == "query.format"
    unknown = client.post(IMPORT, params={"filename": "r.xlsx"}, content=yaml_body, headers=cert)
    assert unknown.status_code == 422
    assert ".json, .yaml, .yml, .csv" in unknown.json()["problems"][0]["message"]


def test_invalid_utf8_and_a_wrong_csv_header_answer_422(client: TestClient, cert: Headers) -> None:
    answer = client.post(
        IMPORT, params={"format": "json"}, content=b'[{"name": "\xff"}]', headers=cert
    )
    assert answer.status_code == 422
    assert "is not UTF-8: byte 11" in answer.json()["problems"][0]["message"]
    answer = client.post(
        IMPORT, params={"format": "csv"}, content=b"navn,sektor\r\nA,other\r\n", headers=cert
    )
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["record"] == "upload line 1"


def test_the_openapi_document_lists_both_endpoints(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths[EXPORT]
    assert "post" in paths[IMPORT]
