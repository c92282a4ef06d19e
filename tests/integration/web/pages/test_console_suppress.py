"""Suppressing from the console, through the real pipeline and the real notify pass: an analyst
suppresses alerts like one for N days; a later event like it is counted against the rule, not
stored, folded into no alert and noticed to no one, while an unlike event still is; ending the
rule through the page lets such events through again. Each change is audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from support.factories import CERT_ADMIN
from support.pipeline import T0, add_member, alerts, eve_batch, eve_line, make_pipeline
from support.portal import csrf_token, make_user, sign_in
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.monitoring import suppression
from vardeild.notify.config import config_from_settings
from vardeild.notify.from_alerts import notice_alerts
from vardeild.notify.tables import NoticeRow
from vardeild.platform import Platform

LATER = T0 + timedelta(hours=1, minutes=30)  # the next alert window: a new alert, were it let in


def _notices(platform: Platform) -> list[int]:
    """Run the notify pass's alert step now; return the ids of the notices it made."""
    with platform.session() as session:
        return notice_alerts(
            session, config=config_from_settings(platform.settings), now=platform.clock.now()
        )


def _notice_count(platform: Platform) -> int:
    with platform.session() as session:
        return int(session.scalar(select(func.count()).select_from(NoticeRow)) or 0)


def _analyst(app: FastAPI, platform: Platform) -> TestClient:
    client = TestClient(app)
    user = make_user(platform, email="suppress@console.example", totp=False)
    sign_in(client, user, platform.clock)
    return client


def test_suppress_from_an_alert_then_end_the_rule(app: FastAPI, platform: Platform) -> None:
    member = add_member(platform, "10.1.0.0/16")
    pipeline = make_pipeline(platform)
    scan = {"src": "203.0.113.9", "dst": "10.1.0.5", "sid": 2001219, "severity": 1}
    first = pipeline.ingest(eve_batch([eve_line(**scan, at=T0)]))
    (alert_id,) = first.alert_ids
    assert len(_notices(platform)) == 1  # the first alert is noticed, as any

    client = _analyst(app, platform)
    page = f"/console/alerts/{alert_id}"
    token = csrf_token(client.get(page).text)
    made = client.post(
        f"{page}/suppress",
        data={"csrf_token": token, "days": "7", "reason": "Avtalt skanning", "same_party": "true"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"].startswith("/console/suppressions")
    listed = client.get(made.headers["location"]).text
    with platform.session() as session:
        (rule,) = suppression.list_rules(session, CERT_ADMIN)
    assert (rule["member_id"], rule["identifier"], rule["network"]) == (
        member,
        "sid:1:2001219",
        "203.0.113.9/32",
    )
    assert rule["expires_at"] == platform.clock.now() + timedelta(days=7)
    assert f'id="rule-{rule["id"]}" class="active"' in listed
    assert "Avtalt skanning" in listed

    notices_before = _notice_count(platform)
    later = pipeline.ingest(
        eve_batch(
            [
                eve_line(**scan, at=LATER),  # like the alert: suppressed
                eve_line(**{**scan, "src": "203.0.113.77"}, at=LATER),  # another party: not
            ],
            batch_key="later",
        )
    )
    assert (later.events_suppressed, later.events_stored) == (1, 1)
    with platform.session() as session:
        stored = alerts(session)
        (rule,) = suppression.list_rules(session, CERT_ADMIN)
    assert [a.external_party for a in stored] == ["203.0.113.9", "203.0.113.77"]
    assert stored[0].count == 1  # the suppressed event folded into nothing
    assert rule["hit_count"] == 1
    made_now = _notices(platform)
    assert len(made_now) == 1  # for the other party's alert only
    assert _notice_count(platform) == notices_before + 1

    # End it through the page: the same events come through again.
    token = csrf_token(client.get("/console/suppressions").text)
    ended = client.post(
        f"/console/suppressions/{rule['id']}/end",
        data={"csrf_token": token, "note": "Skanningen er ferdig"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert f'id="rule-{rule["id"]}"' not in client.get("/console/suppressions").text
    assert (
        f'id="rule-{rule["id"]}" class="ended"'
        in client.get("/console/suppressions?ended=true").text
    )
    again = pipeline.ingest(
        eve_batch([eve_line(**scan, at=LATER + timedelta(minutes=1))], batch_key="again")
    )
    assert (again.events_suppressed, again.events_stored) == (0, 1)
    twice = client.post(
        f"/console/suppressions/{rule['id']}/end",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert twice.status_code == 409
    with platform.session() as session:
        trail, _ = list_entries(session, filters=AuditFilter(entity_type="suppression_rule"))
    assert sorted(e.action for e in trail) == ["suppression_rule.create", "suppression_rule.end"]
    assert {e.organisation_id for e in trail} == {member}


def test_read_only_staff_cannot_suppress(app: FastAPI, platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    (alert_id,) = make_pipeline(platform).ingest(eve_batch([eve_line(dst="10.1.0.5")])).alert_ids
    client = TestClient(app)
    user = make_user(platform, email="ro@console.example", role=Role.CERT_READONLY, totp=False)
    sign_in(client, user, platform.clock)
    page = f"/console/alerts/{alert_id}"
    token = csrf_token(client.get(page).text)
    refused = client.post(
        f"{page}/suppress", data={"csrf_token": token, "days": "7", "reason": "x"}
    )
    assert refused.status_code == 403
    with platform.session() as session:
        assert suppression.list_rules(session, CERT_ADMIN) == []


def test_a_suppression_needs_a_reason_and_a_sane_length(app: FastAPI, platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    (alert_id,) = make_pipeline(platform).ingest(eve_batch([eve_line(dst="10.1.0.5")])).alert_ids
    client = _analyst(app, platform)
    page = f"/console/alerts/{alert_id}"
    token = csrf_token(client.get(page).text)
    for form in ({"days": "7", "reason": ""}, {"days": "0", "reason": "x"}):
        answer = client.post(f"{page}/suppress", data={"csrf_token": token, **form})
        assert answer.status_code == 422, form
    with platform.session() as session:
        assert suppression.list_rules(session, CERT_ADMIN) == []
