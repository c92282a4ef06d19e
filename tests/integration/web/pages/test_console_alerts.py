"""An alert's page in the console: its events, the indicators they matched and its history;
acknowledging, closing (with a reason), reopening and commenting through the page go through
monitoring.alert_actions, so each lands in the alert's history and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN
from support.pipeline import add_member, eve_batch, eve_line, make_pipeline
from support.portal import csrf_token, make_user, sign_in
from vardeild.app import indicator_source
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.monitoring.alert_actions import alert_history
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
from vardeild.platform import Platform


def test_alert_actions_through_the_page(app: FastAPI, platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    line = eve_line(dst="10.1.0.5", signature="ET SCAN <b>SSH</b>")
    (alert_id,) = make_pipeline(platform).ingest(eve_batch([line])).alert_ids
    client = TestClient(app)
    sign_in(client, make_user(platform, email="act@console.example", totp=False), platform.clock)
    page = f"/console/alerts/{alert_id}"
    html = client.get(page).text
    assert "ET SCAN &lt;b&gt;SSH&lt;/b&gt;" in html  # escaped, never markup
    assert "10.1.0.5:22" in html  # the sample event
    assert 'id="acknowledge"' in html
    assert 'id="reopen"' not in html  # an open alert has nothing to reopen

    def act(action: str, **form: str) -> int:
        token = csrf_token(client.get(page).text)
        answer = client.post(
            f"{page}/{action}", data={"csrf_token": token, **form}, follow_redirects=False
        )
        return answer.status_code

    assert act("acknowledge", note="Ser på det") == 303
    assert act("comment", note="Ringte medlemmet") == 303
    assert act("comment", note="") == 422
    assert act("close", reason="benign", note="Avtalt test") == 303
    assert act("close", reason="benign") == 409
    assert act("close", reason="no-such-reason") == 422
    assert act("reopen") == 303
    with platform.session() as session:
        history = alert_history(session, CERT_ADMIN, alert_id)
        alert = get_alert_or_raise(session, CERT_ADMIN, alert_id)
        trail, _ = list_entries(session, filters=AuditFilter(entity_type="alert"))
    assert [h["action"] for h in history] == ["acknowledge", "comment", "close", "reopen"]
    assert history[2]["reason"] == "benign"
    assert alert["status"] == "open"
    assert len(trail) == 4
    shown = client.get(page).text.split('id="history"')[1]
    for text in ("Ser på det", "Ringte medlemmet", "Avtalt test", "benign"):
        assert text in shown


def test_the_alert_page_names_the_indicators_it_matched(app: FastAPI, platform: Platform) -> None:
    add_member(platform, "10.1.0.0/16")
    with platform.session() as session:
        load_indicators(
            session,
            CERT_ADMIN,
            b"value,type,tlp,description\n203.0.113.66,ipv4,AMBER,Kjent C2-server\n",
            clock=platform.clock,
            fmt="csv",
            source="console-test",
        )
        [indicator], _ = list_indicators(
            session, CERT_ADMIN, IndicatorFilter(source="console-test")
        )
    # The platform's own indicator source, as the app's pipeline has it.
    pipeline = Pipeline(
        platform.session,
        clock=platform.clock,
        config=PipelineConfig(alert_window=timedelta(minutes=60)),
        indicators=indicator_source(),
        cache=platform.cached,
    )
    result = pipeline.ingest(eve_batch([eve_line(src="203.0.113.66", dst="10.1.0.5")]))
    (alert_id,) = result.alert_ids
    client = TestClient(app)
    sign_in(client, make_user(platform, email="ind@console.example", totp=False), platform.clock)
    html = client.get(f"/console/alerts/{alert_id}").text.split('id="indicators"')[1]
    assert "Kjent C2-server" in html
    assert f"<td>{indicator.id}</td>" in html
