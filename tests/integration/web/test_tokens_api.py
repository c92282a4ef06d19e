"""API tokens over HTTP: issue (the secret once), list, revoke, and who may do which."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from support.web import OrgMaker, TokenMaker, bearer
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock

API = "/api/v1"


def test_issue_list_revoke(client: TestClient, token: TokenMaker, clock: FixedClock) -> None:
    admin = token(Role.CERT_ADMIN)
    expires = (clock.now() + timedelta(days=30)).isoformat()
    issued = client.post(
        f"{API}/tokens",
        json={"name": "Sensor Bergen", "role": "cert_readonly", "expires_at": expires},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    secret = body["secret"]
    assert secret.startswith("vdt_")
    assert secret.startswith(body["prefix"])
    assert (body["role"], body["organisation_id"]) == ("cert_readonly", None)

    me = client.get(f"{API}/me", headers=bearer(secret)).json()
    assert me["role"] == "cert_readonly"

    listed = client.get(f"{API}/tokens", headers=admin).json()
    assert body["id"] in [t["id"] for t in listed["items"]]
    assert secret not in str(listed)
    assert "secret" not in listed["items"][0]

    revoked = client.delete(f"{API}/tokens/{body['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get(f"{API}/me", headers=bearer(secret)).status_code == 401
    assert client.delete(f"{API}/tokens/999999", headers=admin).status_code == 404


def test_invalid_requests(client: TestClient, token: TokenMaker, make_org: OrgMaker) -> None:
    admin = token(Role.CERT_ADMIN)
    org = make_org()
    cases = [
        ({"name": "", "role": "cert_admin"}, "name"),
        ({"name": "x", "role": "cert_admin", "organisation_id": org["id"]}, "organisation"),
        ({"name": "x", "role": "member_user"}, "organisation"),
        ({"name": "x", "role": "cert_admin", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "role": "superuser"}, "body.role"),
        (
            {"name": "x", "role": "cert_admin", "expires_at": "2030-01-01T00:00:00"},
            "body.expires_at",
        ),
    ]
    for body, field in cases:
        answer = client.post(f"{API}/tokens", json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["problems"][0]["field"] == field


def test_member_admin_manages_its_own_member_tokens_only(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org()
    other = make_org()
    member_admin = token(Role.MEMBER_ADMIN, org["id"])
    others_token = client.post(
        f"{API}/tokens",
        json={"name": "theirs", "role": "member_user", "organisation_id": other["id"]},
        headers=token(Role.CERT_ADMIN),
    ).json()

    issued = client.post(
        f"{API}/tokens", json={"name": "Skript", "role": "member_user"}, headers=member_admin
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["organisation_id"] == org["id"]

    for role in ("cert_admin", "cert_analyst", "cert_readonly"):
        raised = client.post(
            f"{API}/tokens", json={"name": "Opp", "role": role}, headers=member_admin
        )
        assert raised.status_code == 403, raised.text
        scoped = client.post(
            f"{API}/tokens",
            json={"name": "Opp", "role": role, "organisation_id": org["id"]},
            headers=member_admin,
        )
        assert scoped.status_code == 422
    foreign = client.post(
        f"{API}/tokens",
        json={"name": "Inn", "role": "member_admin", "organisation_id": other["id"]},
        headers=member_admin,
    )
    assert foreign.status_code == 404

    listed = client.get(f"{API}/tokens", headers=member_admin).json()
    assert {t["organisation_id"] for t in listed["items"]} == {org["id"]}
    assert listed["total"] == 2
    assert (
        client.delete(f"{API}/tokens/{others_token['id']}", headers=member_admin).status_code == 404
    )
    assert (
        client.delete(f"{API}/tokens/{issued.json()['id']}", headers=member_admin).status_code
        == 200
    )


def test_who_may_not_manage_tokens(
    client: TestClient, token: TokenMaker, make_org: OrgMaker
) -> None:
    org = make_org()
    for headers in (
        token(Role.MEMBER_USER, org["id"]),
        token(Role.CERT_ANALYST),
        token(Role.CERT_READONLY),
    ):
        assert client.get(f"{API}/tokens", headers=headers).status_code == 403
        assert (
            client.post(
                f"{API}/tokens", json={"name": "x", "role": "cert_readonly"}, headers=headers
            ).status_code
            == 403
        )
