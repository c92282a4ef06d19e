"""/api/v1/notices: the CERT sends a notice, the member reads and previews its own, follows the
acknowledgement link (opening it changes nothing, the button does), and the CERT sees when."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from support.notify import add_member
from support.web import Headers, TokenMaker
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock
from vardeild.platform import Platform

API = "/api/v1"


def test_send_read_preview_and_acknowledge_by_link(
    client: TestClient, platform: Platform, cert: Headers, token: TokenMaker, clock: FixedClock
) -> None:
    member = add_member(
        platform, [{"name": "Ola", "email": "ola@api.example", "roles": ["security"]}]
    )
    sent = client.post(
        f"{API}/notices",
        json={"organisation_id": member, "title": "Nedetid", "text": "I kveld", "tlp": "GREEN"},
        headers=cert,
    )
    assert sent.status_code == 201, sent.text
    notice = sent.json()
    assert (notice["status"], notice["tlp"], notice["kind"]) == ("queued", "GREEN", "message")
    own = token(Role.MEMBER_USER, member)
    listed = client.get(f"{API}/notices", headers=own).json()
    assert [n["id"] for n in listed["items"]] == [notice["id"]]
    preview = client.get(
        f"{API}/notices/{notice['id']}/preview", params={"language": "en"}, headers=own
    ).json()
    assert preview["subject"].startswith(f"[VARDEILD-N#{notice['id']}] TLP:GREEN")
    link = next(line for line in preview["body"].splitlines() if "/notices/ack/" in line)
    path = link.strip().split("127.0.0.1:8000", 1)[1]

    page = client.get(path)
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    detail = client.get(f"{API}/notices/{notice['id']}", headers=cert).json()
    assert detail["acknowledged_at"] is None  # opening the link acknowledged nothing

    clock.advance(timedelta(minutes=5))
    done = client.post(path)
    assert done.status_code == 200, done.text
    detail = client.get(f"{API}/notices/{notice['id']}", headers=cert).json()
    assert detail["acknowledged_at"] == clock.now().isoformat().replace("+00:00", "Z")
    assert detail["acknowledged_by"] == "link"
    assert "acknowledged" in [e["status"] for e in detail["log"]]
    clock.advance(timedelta(minutes=5))
    client.post(path)  # the first acknowledgement counts
    again = client.get(f"{API}/notices/{notice['id']}", headers=cert).json()
    assert again["acknowledged_at"] == detail["acknowledged_at"]
    assert client.post(f"{API}/notices/ack/{'z' * 32}").status_code == 404


def test_a_bad_policy_change_names_each_field(
    client: TestClient, platform: Platform, cert: Headers
) -> None:
    member = add_member(platform, [{"name": "Ola", "email": "ola@policy.example"}])
    answer = client.patch(
        f"{API}/organisations/{member}/notice-policy",
        json={"schedule": "weekly", "cap_per_hour": -1},
        headers=cert,
    )
    assert answer.status_code == 422
    assert {p["field"] for p in answer.json()["problems"]} == {"schedule", "cap_per_hour"}
    fine = client.patch(
        f"{API}/organisations/{member}/notice-policy",
        json={"require_encryption": True},
        headers=cert,
    )
    assert fine.json()["require_encryption"] is True


def test_a_members_acknowledgement_is_in_the_audit_log(
    client: TestClient, platform: Platform, cert: Headers, token: TokenMaker
) -> None:
    member = add_member(
        platform, [{"name": "Kari", "email": "kari@api.example", "roles": ["security"]}]
    )
    sent = client.post(
        f"{API}/notices",
        json={"organisation_id": member, "title": "Varsel", "text": "Tekst", "tlp": "GREEN"},
        headers=cert,
    ).json()
    own = token(Role.MEMBER_ADMIN, member, name="kari-integrasjon")
    answer = client.post(f"{API}/notices/{sent['id']}/acknowledge", headers=own)
    assert answer.status_code == 200, answer.text
    client.post(f"{API}/notices/{sent['id']}/acknowledge", headers=own)  # once is recorded
    trail = client.get(
        f"{API}/audit", params={"entity_type": "notice", "entity_id": sent["id"]}, headers=cert
    ).json()
    [entry] = trail["items"]
    assert entry["action"] == "acknowledge"
    assert entry["organisation_id"] == member
    assert entry["before"] == {"acknowledged_at": None}
    assert entry["after"]["acknowledged_at"] is not None
