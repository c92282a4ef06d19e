"""The feeds API as CERT staff use it: configure (the secret never answered), refuse bad
input and duplicates, disable, sync (the SSRF guard's refusal is the sync's error), remove.
Members' 403s are in the tenancy walk."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from support.web import bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.platform import Platform

API = "/api/v1/intel/feeds"


def test_feeds_over_the_api(platform: Platform) -> None:
    with platform.session() as session:
        issued = issue_token(
            session,
            CERT_ADMIN,
            clock=platform.clock,
            name="feeds",
            role=Role.CERT_ANALYST,
            organisation_id=None,
        )
    headers = bearer(issued.secret)
    client = TestClient(create_web_app(platform))
    body = {
        "name": "partner",
        "url": "http://127.0.0.1:9/ips.txt",
        "format": "plain",
        "auth_kind": "header",
        "auth_name": "X-Api-Key",
        "auth_secret": "0123456789abcdef",
    }
    created = client.post(API, json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["auth_secret"] == "****ef"
    assert "0123456789abcdef" not in client.get(API, headers=headers).text
    assert client.post(API, json=body, headers=headers).status_code == 409
    bad = client.post(API, json={**body, "name": "other", "url": "ftp://x"}, headers=headers)
    assert bad.status_code == 422
    assert "url" in bad.text
    patched = client.patch(f"{API}/partner", json={"enabled": False}, headers=headers)
    assert patched.json()["enabled"] is False
    synced = client.post(f"{API}/partner/sync", headers=headers)
    assert synced.status_code == 200
    assert "loopback" in synced.json()["error"]
    assert "loopback" in client.get(f"{API}/partner", headers=headers).json()["last_error"]
    assert client.delete(f"{API}/partner", headers=headers).status_code == 204
    assert client.get(f"{API}/partner", headers=headers).status_code == 404
