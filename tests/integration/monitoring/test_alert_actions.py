"""What people do with alerts: acknowledge, close, reopen, comment — who may, the history,
the audit trail, and how new events treat an acknowledged or closed alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from support.factories import CERT, CERT_ADMIN, member
from support.pipeline import T0, add_member, eve_batch, eve_line, make_pipeline
from support.web import Headers, bearer
from vardeild.access.model import Principal, Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.monitoring.alert_actions import (
    AlertAction,
    CloseReason,
    act_on_alert,
    alert_history,
)
from vardeild.monitoring.alerts import AlertStatus, get_alert_or_raise
from vardeild.monitoring.pipeline import Pipeline
from vardeild.platform import Platform

API = "/api/v1"
READONLY = Principal(actor="reader@cert.test", role=Role.CERT_READONLY)


@pytest.fixture
def pipeline(platform: Platform) -> Pipeline:
    return make_pipeline(platform)


@pytest.fixture
def members(platform: Platform) -> dict[str, int]:
    return {"a": add_member(platform, "10.1.0.0/16"), "b": add_member(platform, "10.2.0.0/16")}


def alert_at(pipeline: Pipeline, dst: str, src_port: int = 1, minutes: int = 0) -> int:
    line = eve_line(dst=dst, src_port=src_port, at=T0 + timedelta(minutes=minutes))
    return pipeline.ingest(eve_batch([line], batch_key=f"{dst}:{src_port}")).alert_ids[0]


def act(
    platform: Platform,
    principal: Principal,
    alert_id: int,
    action: AlertAction,
    **options: object,
) -> dict[str, object]:
    with platform.session() as session:
        return act_on_alert(
            session,
            principal,
            alert_id,
            action,
            clock=platform.clock,
            **options,  # type: ignore[arg-type]
        )


def status_of(platform: Platform, alert_id: int) -> str:
    with platform.session() as session:
        return str(get_alert_or_raise(session, CERT_ADMIN, alert_id)["status"])


def test_lifecycle_is_kept_as_history_and_audited(
    platform: Platform, pipeline: Pipeline, members: dict[str, int]
) -> None:
    alert = alert_at(pipeline, "10.1.0.5")
    own = member(members["a"], Role.MEMBER_USER)
    act(platform, own, alert, AlertAction.ACKNOWLEDGE, note="Vi ser på det")
    assert status_of(platform, alert) == AlertStatus.ACKNOWLEDGED
    act(platform, own, alert, AlertAction.COMMENT, note="Brannmuren blokkerer nå")
    act(platform, CERT, alert, AlertAction.CLOSE, reason=CloseReason.RESOLVED, note="blocked")
    assert status_of(platform, alert) == AlertStatus.CLOSED
    act(platform, CERT_ADMIN, alert, AlertAction.REOPEN, note="came back")
    assert status_of(platform, alert) == AlertStatus.OPEN

    with platform.session() as session:
        history = alert_history(session, own, alert)
        trail, _ = list_entries(session, filters=AuditFilter(entity_type="alert"))
    assert [(h["action"], h["actor"], h["status_before"], h["status_after"]) for h in history] == [
        ("acknowledge", own.actor, "open", "acknowledged"),
        ("comment", own.actor, "acknowledged", "acknowledged"),
        ("close", CERT.actor, "acknowledged", "closed"),
        ("reopen", CERT_ADMIN.actor, "closed", "open"),
    ]
    assert [h["note"] for h in history] == [
        "Vi ser på det",
        "Brannmuren blokkerer nå",
        "blocked",
        "came back",
    ]
    assert history[2]["reason"] == "resolved"
    assert all(h["at"] == platform.clock.now() for h in history)
    # One audit entry per action, for the alert's member, newest first.
    assert [e.action for e in trail] == [
        "alert.reopen",
        "alert.close",
        "alert.comment",
        "alert.acknowledge",
    ]
    assert {e.organisation_id for e in trail} == {members["a"]}
    assert trail[1].after == {
        "status": "closed",
        "reason": "resolved",
        "history_id": history[2]["id"],
    }
    assert trail[1].before == {"status": "acknowledged"}


def test_who_may_do_what(platform: Platform, pipeline: Pipeline, members: dict[str, int]) -> None:
    alert = alert_at(pipeline, "10.1.0.5")
    own_admin = member(members["a"], Role.MEMBER_ADMIN)
    other = member(members["b"], Role.MEMBER_ADMIN)
    # Another member's alert does not exist for it, whatever it tries.
    for action in AlertAction:
        with pytest.raises(NotFound):
            act(platform, other, alert, action, note="x", reason=None)
    # Its own members may acknowledge and comment, not close or reopen.
    with pytest.raises(PermissionDenied, match="ask the CERT"):
        act(platform, own_admin, alert, AlertAction.CLOSE, reason=CloseReason.BENIGN)
    act(platform, CERT, alert, AlertAction.ACKNOWLEDGE)
    with pytest.raises(PermissionDenied):
        act(platform, own_admin, alert, AlertAction.REOPEN)
    # Read-only CERT staff change nothing.
    for action in AlertAction:
        with pytest.raises(PermissionDenied):
            act(platform, READONLY, alert, action, note="x")
    with platform.session() as session:
        assert len(alert_history(session, CERT, alert)) == 1
        with pytest.raises(NotFound):
            alert_history(session, other, alert)


def test_wrong_transitions_and_bad_input_are_refused(
    platform: Platform, pipeline: Pipeline, members: dict[str, int]
) -> None:
    alert = alert_at(pipeline, "10.1.0.5")
    with pytest.raises(ValidationFailed, match="reason: is required"):
        act(platform, CERT, alert, AlertAction.CLOSE)
    with pytest.raises(ValidationFailed, match="note: is required"):
        act(platform, CERT, alert, AlertAction.COMMENT, note="  ")
    with pytest.raises(ValidationFailed, match="only given when closing"):
        act(platform, CERT, alert, AlertAction.ACKNOWLEDGE, reason=CloseReason.DUPLICATE)
    with pytest.raises(Conflict, match="only a closed or acknowledged"):
        act(platform, CERT, alert, AlertAction.REOPEN)
    act(platform, CERT, alert, AlertAction.CLOSE, reason=CloseReason.FALSE_POSITIVE)
    with pytest.raises(Conflict, match=f"alert {alert} is closed .by {CERT.actor}"):
        act(platform, CERT, alert, AlertAction.CLOSE, reason=CloseReason.FALSE_POSITIVE)
    with pytest.raises(Conflict, match="reopen it first"):
        act(platform, member(members["a"]), alert, AlertAction.ACKNOWLEDGE)
    with pytest.raises(NotFound, match="alert 999999 not found"):
        act(platform, CERT, 999999, AlertAction.ACKNOWLEDGE)
    with platform.session() as session:
        assert len(alert_history(session, CERT, alert)) == 1


def test_new_events_keep_an_acknowledged_alert_and_reopen_a_closed_one(
    platform: Platform, pipeline: Pipeline, members: dict[str, int]
) -> None:
    acknowledged = alert_at(pipeline, "10.1.0.5", src_port=1)
    closed = alert_at(pipeline, "10.2.0.6", src_port=2)  # B's: another alert
    assert closed != acknowledged
    act(platform, CERT, acknowledged, AlertAction.ACKNOWLEDGE)
    act(platform, CERT, closed, AlertAction.CLOSE, reason=CloseReason.RESOLVED)
    # More of the same, in the same window: folded into the same two alerts.
    assert alert_at(pipeline, "10.1.0.5", src_port=3, minutes=5) == acknowledged
    assert alert_at(pipeline, "10.2.0.6", src_port=4, minutes=5) == closed
    assert status_of(platform, acknowledged) == AlertStatus.ACKNOWLEDGED
    assert status_of(platform, closed) == AlertStatus.OPEN
    with platform.session() as session:
        assert get_alert_or_raise(session, CERT, acknowledged)["count"] == 2
        # The reopening by new events is in the closed alert's history and the audit trail;
        # the acknowledged one, whose status did not change, gets no entry.
        history = alert_history(session, CERT, closed)
        kept = alert_history(session, CERT, acknowledged)
        trail, _ = list_entries(session, filters=AuditFilter(entity_type="alert"))
    assert [(h["action"], h["actor"], h["status_before"], h["status_after"]) for h in history] == [
        ("close", CERT.actor, "open", "closed"),
        ("reopen", "pipeline", "closed", "open"),
    ]
    assert history[1]["note"] == "reopened by 1 new event"
    assert [h["action"] for h in kept] == ["acknowledge"]
    reopen = [e for e in trail if e.action == "alert.reopen"]
    assert [(e.entity_id, e.actor, e.organisation_id) for e in reopen] == [
        (str(closed), "pipeline", members["b"])
    ]
    assert reopen[0].before == {"status": "closed"}
    assert reopen[0].after == {"status": "open", "history_id": history[1]["id"]}


# --- the API --------------------------------------------------------------------------------


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


def test_api_acknowledge_close_reopen_and_history(
    client: TestClient, platform: Platform, pipeline: Pipeline, members: dict[str, int]
) -> None:
    alert = alert_at(pipeline, "10.1.0.5")
    user = token(platform, Role.MEMBER_USER, members["a"])
    analyst = token(platform, Role.CERT_ANALYST)
    base = f"{API}/alerts/{alert}"

    acked = client.post(f"{base}/acknowledge", json={"note": "på saken"}, headers=user)
    assert acked.status_code == 200, acked.text
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["history"][0]["note"] == "på saken"
    # Without a body too.
    assert client.post(f"{base}/acknowledge", headers=user).status_code == 409
    comment = client.post(f"{base}/comments", json={"note": "takk"}, headers=user)
    assert comment.status_code == 201, comment.text

    refused = client.post(f"{base}/close", json={"reason": "resolved"}, headers=user)
    assert refused.status_code == 403
    assert "ask the CERT" in refused.json()["message"]
    no_reason = client.post(f"{base}/close", json={}, headers=analyst)
    assert no_reason.status_code == 422
    bad_reason = client.post(f"{base}/close", json={"reason": "bored"}, headers=analyst)
    assert bad_reason.status_code == 422
    closed = client.post(
        f"{base}/close", json={"reason": "false_positive", "note": "lab"}, headers=analyst
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    again = client.post(f"{base}/close", json={"reason": "resolved"}, headers=analyst)
    assert again.status_code == 409
    reopened = client.post(f"{base}/reopen", headers=analyst)
    assert reopened.status_code == 200
    detail = client.get(base, headers=user).json()
    assert detail["status"] == "open"
    assert [(h["action"], h["reason"]) for h in detail["history"]] == [
        ("acknowledge", None),
        ("comment", None),
        ("close", "false_positive"),
        ("reopen", None),
    ]
    assert detail["history"][2]["actor"].endswith(":test cert_analyst")
    listed = client.get(f"{API}/alerts", params={"status": "open"}, headers=user).json()
    assert [a["id"] for a in listed["items"]] == [alert]
