"""The sensor registry over HTTP (/api/v1/sensors), and a sensor token's one permission: every
other route of the app refuses it with 403."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN, org_data
from support.sensors import RegisteredSensor, register_sensor
from support.web import Headers, bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.members import service as members
from vardeild.platform import Platform
from vardeild.web.api import create_api

API = "/api/v1/sensors"


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    """The API, without a pipeline: these tests deliver no events."""
    return create_api(platform)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app."""
    with TestClient(app) as test_client:
        yield test_client


def _org(platform: Platform) -> int:
    with platform.session() as session:
        created = members.create_organisation(
            session,
            CERT_ADMIN,
            org_data(),
            clock=platform.clock,
            key_inspector=platform.key_inspector,
        )
    return int(created["id"])


def _token(platform: Platform, role: Role, organisation_id: int | None = None) -> Headers:
    with platform.session() as session:
        issued = issue_token(
            session,
            CERT_ADMIN,
            clock=platform.clock,
            name=f"test {role.value}",
            role=role,
            organisation_id=organisation_id,
        )
    return bearer(issued.secret)


def test_cert_registers_lists_and_reads_sensors(client: TestClient, platform: Platform) -> None:
    org = _org(platform)
    cert = _token(platform, Role.CERT_ANALYST)
    body = {
        "name": "osl-dc1-ids",
        "location": "Oslo DC1",
        "organisation_id": org,
        "description": "Kjernesvitsj, SPAN",
        "silence_after_minutes": 30,
    }
    created = client.post(API, json=body, headers=cert)
    assert created.status_code == 201, created.text
    sensor = created.json()
    assert created.headers["Location"] == f"{API}/{sensor['id']}"
    assert {k: sensor[k] for k in body} == body
    assert sensor["status"] == "active"
    assert (sensor["last_seen_at"], sensor["silent"], sensor["health"]) == (None, False, None)
    assert sensor["created_by"].startswith("token:")
    assert client.get(f"{API}/{sensor['id']}", headers=cert).json() == sensor
    listed = client.get(API, headers=cert).json()
    assert (listed["total"], listed["items"]) == (1, [sensor])
    again = client.post(API, json=body, headers=cert)
    assert again.status_code == 409
    assert client.get(f"{API}/999999", headers=cert).status_code == 404
    with platform.session() as session:
        entries, _ = list_entries(session, filters=AuditFilter(entity_type="sensor"))
    assert [e.action for e in entries] == ["sensor.create"]


def test_registration_problems_name_their_fields(client: TestClient, platform: Platform) -> None:
    cert = _token(platform, Role.CERT_ADMIN)
    answer = client.post(
        API, json={"name": "Not A Slug", "location": "x", "organisation_id": 999}, headers=cert
    )
    assert answer.status_code == 422
    assert sorted(p["field"] for p in answer.json()["problems"]) == ["name", "organisation_id"]
    unknown = client.post(API, json={"name": "a", "location": "b", "token": "x"}, headers=cert)
    assert unknown.status_code == 422


def test_members_see_their_own_sensors_and_register_none(
    client: TestClient, platform: Platform
) -> None:
    a, b = _org(platform), _org(platform)
    with platform.session() as session:
        own = register_sensor(session, platform.clock, "a-ids", organisation_id=a)
        other = register_sensor(session, platform.clock, "b-ids", organisation_id=b)
        cert_own = register_sensor(session, platform.clock, "cert-ids")
    for role in (Role.MEMBER_ADMIN, Role.MEMBER_USER):
        headers = _token(platform, role, a)
        listed = client.get(API, headers=headers).json()
        assert [s["name"] for s in listed["items"]] == ["a-ids"]
        assert client.get(f"{API}/{own.id}", headers=headers).status_code == 200
        for hidden in (other, cert_own):
            answer = client.get(f"{API}/{hidden.id}", headers=headers)
            assert answer.status_code == 404
            assert hidden.name not in answer.text
        refused = client.post(
            API, json={"name": "new-ids", "location": "x", "organisation_id": a}, headers=headers
        )
        assert refused.status_code == 403
    readonly = _token(platform, Role.CERT_READONLY)
    assert client.get(API, headers=readonly).json()["total"] == 3
    assert (
        client.post(API, json={"name": "r", "location": "x"}, headers=readonly).status_code == 403
    )


def test_retired_sensors_are_listed_on_request(client: TestClient, platform: Platform) -> None:
    from vardeild.monitoring.sensors import retire_sensor

    with platform.session() as session:
        register_sensor(session, platform.clock, "old-ids")
        retire_sensor(session, CERT_ADMIN, "old-ids", clock=platform.clock)
    cert = _token(platform, Role.CERT_READONLY)
    assert client.get(API, headers=cert).json()["total"] == 0
    listed = client.get(API, params={"include_retired": "true"}, headers=cert).json()
    assert [(s["name"], s["status"]) for s in listed["items"]] == [("old-ids", "retired")]


def _calls(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) under /api/v1, ids in paths replaced by 1."""
    found = []
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.original_route, APIRoute) and path.startswith("/api/v1"):
            path = re.sub(r"\{[^}]+\}", "1", path)
            found.extend((method, path) for method in sorted(context.methods or ()))
    return found


def test_a_sensor_token_may_do_nothing_but_ingest(
    client: TestClient, app: FastAPI, platform: Platform
) -> None:
    with platform.session() as session:
        sensor: RegisteredSensor = register_sensor(session, platform.clock)
    calls = _calls(app)
    assert len(calls) > 30
    for method, path in calls:
        if (method, path) == ("POST", "/api/v1/ingest/eve"):
            continue  # the one route it may use: test_http_ingest.py
        answer = client.request(method, path, headers=sensor.headers, json={})
        if path.startswith("/api/v1/notices/ack/"):
            # An acknowledgement link is authorised by its own token, not by the caller's:
            # the sensor's token neither helps nor hinders, and a made-up link acts on nothing.
            assert answer.status_code >= 400, f"{method} {path}: {answer.status_code}"
            continue
        assert answer.status_code == 403, f"{method} {path}: {answer.status_code} {answer.text}"
        assert answer.json()["error"] == "permission_denied"
        assert "sensor token" in answer.json()["message"]
