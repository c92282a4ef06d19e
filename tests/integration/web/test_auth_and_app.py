"""Authentication, security headers, the OpenAPI document, the start page and health."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from support.factories import CERT_ADMIN, org_data
from support.web import Headers, OrgMaker, TokenMaker, bearer
from vardeild.access.model import Role
from vardeild.access.service import revoke_token
from vardeild.core.clock import FixedClock
from vardeild.platform import Platform

API = "/api/v1"


def assert_unauthenticated(answer: Response, *, invalid: bool) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "unauthenticated"
    assert (
        "Authorization: Bearer" in answer.json()["message"] or "new one" in answer.json()["message"]
    )
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert ('error="invalid_token"' in challenge) is invalid


def test_missing_token(client: TestClient) -> None:
    assert_unauthenticated(client.get(f"{API}/me"), invalid=False)
    assert_unauthenticated(client.get(f"{API}/organisations"), invalid=False)
    assert_unauthenticated(
        client.get(f"{API}/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), invalid=False
    )


def test_wrong_token(client: TestClient, cert: Headers) -> None:
    assert_unauthenticated(client.get(f"{API}/me", headers=bearer("vdt_wrong")), invalid=True)
    assert_unauthenticated(
        client.get(f"{API}/me", headers=bearer(cert["Authorization"][7:] + "x")), invalid=True
    )
    assert_unauthenticated(client.get(f"{API}/me", headers=bearer("x" * 5000)), invalid=True)


def test_token_only_in_the_authorization_header(client: TestClient, cert: Headers) -> None:
    secret = cert["Authorization"].removeprefix("Bearer ")
    assert_unauthenticated(client.get(f"{API}/me?access_token={secret}"), invalid=False)
    assert_unauthenticated(client.get(f"{API}/me?token={secret}"), invalid=False)
    client.cookies.set("access_token", secret)
    assert_unauthenticated(client.get(f"{API}/me"), invalid=False)


def test_expired_token(client: TestClient, token: TokenMaker, clock: FixedClock) -> None:
    headers = token(Role.CERT_ANALYST, expires_at=clock.now() + timedelta(hours=1))
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    clock.advance(timedelta(hours=1))
    assert_unauthenticated(client.get(f"{API}/me", headers=headers), invalid=True)


def test_revoked_token(client: TestClient, token: TokenMaker, platform: Platform) -> None:
    headers = token(Role.CERT_ANALYST)
    me = client.get(f"{API}/me", headers=headers).json()
    token_id = int(me["actor"].split(":")[1])
    with platform.session() as session:
        revoke_token(session, CERT_ADMIN, token_id, clock=platform.clock)
    assert_unauthenticated(client.get(f"{API}/me", headers=headers), invalid=True)


def test_unauthenticated_requests_answer_401_before_looking_at_input(
    client: TestClient, make_org: OrgMaker
) -> None:
    org = make_org()
    assert client.post(f"{API}/organisations", json={"bad": 1}).status_code == 401
    assert client.delete(f"{API}/organisations/{org['id']}").status_code == 401
    assert client.get(f"{API}/organisations/{org['id']}").status_code == 401


def test_me(client: TestClient, token: TokenMaker, make_org: OrgMaker) -> None:
    org = make_org()
    me = client.get(f"{API}/me", headers=token(Role.MEMBER_ADMIN, org["id"], name="SIEM"))
    assert me.status_code == 200
    body = me.json()
    assert body["actor"].endswith(":SIEM")
    assert (body["role"], body["organisation_id"], body["is_cert"]) == (
        "member_admin",
        org["id"],
        False,
    )
    assert set(body["actions"]) == {"read", "propose", "read_audit", "manage_tokens"}
    readonly = client.get(f"{API}/me", headers=token(Role.CERT_READONLY)).json()
    assert set(readonly["actions"]) == {"read", "list_all", "read_audit", "export"}


@pytest.mark.parametrize(
    "path", ["/", "/healthz", f"{API}/openapi.json", f"{API}/me", f"{API}/nowhere", "/api/docs"]
)
def test_security_headers_on_every_answer(client: TestClient, cert: Headers, path: str) -> None:
    answer = client.get(path, headers=cert)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert policy.startswith("default-src 'self'")
    if path != "/api/docs":
        assert "script-src" not in policy
        assert "unsafe" not in policy


def test_errors_carry_security_headers(client: TestClient, cert: Headers) -> None:
    for answer in (
        client.get(f"{API}/me"),
        client.get(f"{API}/organisations/999999", headers=cert),
        client.post(f"{API}/organisations", json={}, headers=cert),
        client.put(f"{API}/me", headers=cert),
    ):
        assert answer.status_code in {401, 404, 405, 422}
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.json()["message"]


def test_docs_allow_only_their_cdn_and_their_own_inline_script(client: TestClient) -> None:
    answer = client.get("/api/docs")
    assert answer.status_code == 200
    assert "/api/v1/openapi.json" in answer.text
    policy = answer.headers["content-security-policy"]
    assert "script-src https://cdn.jsdelivr.net 'sha256-" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_openapi_document(client: TestClient) -> None:
    answer = client.get(f"{API}/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert "/api/v1/organisations" in paths
    assert "/api/v1/organisations/{organisation_id}/networks/{item_id}" in paths
    assert "/api/v1/whois" in paths
    schemas = document["components"]["schemas"]
    assert "OrganisationOut" in schemas
    assert set(schemas["OrganisationIn"]["properties"]["sector"]["enum"]) >= {
        "hospital_trust",
        "municipality",
    }
    create = paths["/api/v1/organisations"]["post"]
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_start_page(client: TestClient, platform: Platform) -> None:
    """The start page (web/pages/public.py; tests/integration/web/pages/test_public_pages.py
    has the rest): escaped, script-free, in bokmål unless asked, linking the API docs."""
    platform.settings.cert_name = "HelseCERT <Test>"
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert '<html lang="nb">' in page
    assert "HelseCERT &lt;Test&gt;" in page
    assert "<Test>" not in page
    assert 'href="/api/docs"' in page
    assert "Tjenestene våre" in page
    english = client.get("/", headers={"Accept-Language": "en"}).text
    assert '<html lang="en">' in english
    assert "Our services" in english
    assert "<script" not in page
    assert "style=" not in page


def test_health(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


def test_health_answers_503_when_the_database_does_not(
    client: TestClient, platform: Platform
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    broken = create_engine("sqlite:////nonexistent/dir/vardeild.sqlite3")
    platform.session_factory = sessionmaker(broken)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "error"}
    broken.dispose()


def test_a_request_that_fails_half_way_changes_nothing(
    app: FastAPI, cert: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request's transaction is rolled back when the route raises after writing, and the
    answer is JSON with the security headers."""
    from vardeild.web.routes import organisations as route

    def explode(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(route, "organisation_for", explode)
    client = TestClient(app, raise_server_exceptions=False)
    data = org_data(name="Halvveis HF")
    answer = client.post(f"{API}/organisations", json=data, headers=cert)
    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error"
    assert "boom" not in answer.text
    assert answer.headers["x-frame-options"] == "DENY"
    monkeypatch.undo()
    listed = client.get(f"{API}/organisations?q=Halvveis", headers=cert).json()
    assert listed["total"] == 0
