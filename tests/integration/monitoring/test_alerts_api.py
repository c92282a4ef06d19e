"""GET /api/v1/alerts and /api/v1/alerts/{id}: filters, pages, and member scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from support.pipeline import T0, add_member, eve_batch, eve_line, make_pipeline
from support.web import Headers, bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.platform import Platform

API = "/api/v1"


@pytest.fixture
def client(platform: Platform) -> TestClient:
    return TestClient(create_web_app(platform))


def token(platform: Platform, role: Role, organisation_id: int | None = None) -> Headers:
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


@pytest.fixture
def world(platform: Platform) -> dict[str, int]:
    """Member A with three alerts (two signatures, two windows), member B with one; one event
    goes from A to B."""
    a = add_member(platform, "10.1.0.0/16", criticality="critical")
    b = add_member(platform, "10.2.0.0/16")
    pipeline = make_pipeline(platform)
    pipeline.ingest(
        eve_batch(
            [
                eve_line(dst="10.1.0.5", sid=1, severity=3, src_port=1),
                eve_line(dst="10.1.0.5", sid=1, severity=3, src_port=2),
                eve_line(dst="10.1.0.5", sid=2, severity=1, src_port=3),
                eve_line(dst="10.1.0.5", sid=1, severity=3, at=T0 + timedelta(hours=3), src_port=4),
                eve_line(src="10.1.0.9", dst="10.2.0.7", sid=3, severity=2, src_port=5),
            ]
        )
    )
    return {"a": a, "b": b}


def test_cert_lists_every_alert_newest_first_with_filters(
    client: TestClient, platform: Platform, world: dict[str, int]
) -> None:
    cert = token(platform, Role.CERT_READONLY)
    everything = client.get(f"{API}/alerts", headers=cert).json()
    assert everything["total"] == 5  # A: sid 1 twice (two windows), sid 2, sid 3; B: sid 3
    seen = [item["last_seen"] for item in everything["items"]]
    assert seen == sorted(seen, reverse=True)
    of_b = client.get(f"{API}/alerts", params={"organisation_id": world["b"]}, headers=cert)
    assert [i["member_id"] for i in of_b.json()["items"]] == [world["b"]]
    # Suricata severity 1 is high; A is critical, so its alert is raised to critical.
    critical = client.get(f"{API}/alerts", params={"severity": "critical"}, headers=cert).json()
    assert [i["classification"]["identifier"] for i in critical["items"]] == ["sid:1:2"]
    later = client.get(
        f"{API}/alerts", params={"since": (T0 + timedelta(hours=1)).isoformat()}, headers=cert
    ).json()
    assert later["total"] == 1
    assert later["items"][0]["count"] == 1
    page = client.get(f"{API}/alerts", params={"limit": 2, "offset": 2}, headers=cert).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (2, 5, 2, 2)
    closed = client.get(f"{API}/alerts", params={"status": "closed"}, headers=cert).json()
    assert closed["total"] == 0


def test_a_member_sees_its_own_alerts_only(
    client: TestClient, platform: Platform, world: dict[str, int]
) -> None:
    headers = token(platform, Role.MEMBER_USER, world["a"])
    own = client.get(f"{API}/alerts", headers=headers).json()
    assert own["total"] == 4
    assert {item["member_id"] for item in own["items"]} == {world["a"]}
    foreign = client.get(f"{API}/alerts", params={"organisation_id": world["b"]}, headers=headers)
    assert foreign.json()["total"] == 0
    cert = token(platform, Role.CERT_ADMIN)
    b_alert = client.get(
        f"{API}/alerts", params={"organisation_id": world["b"]}, headers=cert
    ).json()["items"][0]["id"]
    answer = client.get(f"{API}/alerts/{b_alert}", headers=headers)
    assert answer.status_code == 404
    assert answer.json()["error"] == "not_found"
    assert client.get(f"{API}/alerts/999999", headers=headers).status_code == 404


def test_an_alert_shows_its_events_without_naming_the_other_member(
    client: TestClient, platform: Platform, world: dict[str, int]
) -> None:
    headers = token(platform, Role.MEMBER_ADMIN, world["a"])
    items = client.get(f"{API}/alerts", headers=headers).json()["items"]
    outbound = next(i for i in items if i["classification"]["identifier"] == "sid:1:3")
    detail = client.get(f"{API}/alerts/{outbound['id']}", headers=headers).json()
    assert detail["external_party"] == "10.2.0.7"
    (event,) = detail["events"]
    assert event["event"]["source_member"] == world["a"]
    # B owns the destination, but A is not told so (as whois would not tell it).
    assert event["event"]["destination_member"] is None
    assert '"dest_ip":"10.2.0.7"' in event["raw"].replace(" ", "")
    cert = client.get(f"{API}/alerts/{outbound['id']}", headers=token(platform, Role.CERT_ADMIN))
    assert cert.json()["events"][0]["event"]["destination_member"] == world["b"]


def test_alerts_need_a_token(client: TestClient, world: dict[str, int]) -> None:
    assert client.get(f"{API}/alerts").status_code == 401
    assert client.get(f"{API}/alerts/1").status_code == 401
