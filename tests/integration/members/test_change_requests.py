"""Members propose, the CERT decides, only approved changes apply."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from support.factories import CERT, member, org_data
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.members import changes, service


@pytest.fixture
def org(session: Session, clock: FixedClock) -> dict[str, Any]:
    return service.create_organisation(
        session, CERT, org_data(networks=["192.0.2.0/25"]), clock=clock, key_inspector=None
    )


def propose(session: Session, clock: FixedClock, org: dict[str, Any], body: dict[str, Any]) -> Any:
    return changes.propose_change(
        session,
        member(org["id"]),
        org["id"],
        body,
        comment="ny rute",
        clock=clock,
        key_inspector=None,
    )


def test_approved_changes_apply_and_are_audited(
    session: Session, clock: FixedClock, org: dict[str, Any]
) -> None:
    email = org["contacts"][0]["email"]
    request = propose(
        session,
        clock,
        org,
        {
            "networks": {"add": ["192.0.2.128/25"], "remove": ["192.0.2.0/25"]},
            "contacts": {
                "update": [{"email": email, "phone": "+47 900 00 000"}],
                "add": [{"name": "Ola", "email": "ola@ny.test.no", "roles": ["on_call"]}],
            },
        },
    )
    unchanged = service.get_organisation_or_raise(session, CERT, org["id"])
    assert "192.0.2.0/25" in [n["cidr"] for n in unchanged["networks"]]
    approved = changes.approve_change_request(
        session, CERT, request.id, reason="ok", clock=clock, key_inspector=None
    )
    assert approved.status is changes.ChangeStatus.APPROVED
    after = service.get_organisation_or_raise(session, CERT, org["id"])
    cidrs = [n["cidr"] for n in after["networks"]]
    assert "192.0.2.128/25" in cidrs
    assert "192.0.2.0/25" not in cidrs
    assert {c["email"] for c in after["contacts"]} == {email, "ola@ny.test.no"}
    assert next(c for c in after["contacts"] if c["email"] == email)["phone"] == "+47 900 00 000"
    actions = [
        e.action for e in list_entries(session, filters=AuditFilter(organisation_id=org["id"]))[0]
    ]
    assert "change_request.propose" in actions
    assert "change_request.approve" in actions
    assert actions.count("organisation.update") == 1


def test_rejection_applies_nothing_and_needs_a_reason(
    session: Session, clock: FixedClock, org: dict[str, Any]
) -> None:
    request = propose(session, clock, org, {"domains": {"add": ["ny.test.no"]}})
    with pytest.raises(ValidationFailed, match="say why"):
        changes.reject_change_request(session, CERT, request.id, reason=" ", clock=clock)
    rejected = changes.reject_change_request(
        session, CERT, request.id, reason="not your domain", clock=clock
    )
    assert rejected.status is changes.ChangeStatus.REJECTED
    after = service.get_organisation_or_raise(session, CERT, org["id"])
    assert "ny.test.no" not in [d["name"] for d in after["domains"]]
    with pytest.raises(Conflict, match="not pending"):
        changes.approve_change_request(session, CERT, request.id, clock=clock, key_inspector=None)


def test_the_member_withdraws_a_pending_request_and_nothing_applies(
    session: Session, clock: FixedClock, org: dict[str, Any]
) -> None:
    request = propose(session, clock, org, {"domains": {"add": ["trukket.test.no"]}})
    other = service.create_organisation(session, CERT, org_data(), clock=clock, key_inspector=None)
    with pytest.raises(PermissionDenied):  # a member user only reads
        changes.withdraw_change_request(
            session, member(org["id"], Role.MEMBER_USER), request.id, clock=clock
        )
    with pytest.raises(NotFound):  # another member cannot reach it, nor learn it exists
        changes.withdraw_change_request(session, member(other["id"]), request.id, clock=clock)
    withdrawn = changes.withdraw_change_request(
        session, member(org["id"]), request.id, reason="feil domene", clock=clock
    )
    assert withdrawn.status is changes.ChangeStatus.WITHDRAWN
    assert withdrawn.decided_by == member(org["id"]).actor
    assert withdrawn.decision_reason == "feil domene"
    assert withdrawn.decided_at == clock.now()
    with pytest.raises(Conflict, match="is withdrawn, not pending"):
        changes.approve_change_request(session, CERT, request.id, clock=clock, key_inspector=None)
    with pytest.raises(Conflict, match="not pending"):
        changes.withdraw_change_request(session, member(org["id"]), request.id, clock=clock)
    after = service.get_organisation_or_raise(session, CERT, org["id"])
    assert "trukket.test.no" not in [d["name"] for d in after["domains"]]
    entries, _ = list_entries(session, filters=AuditFilter(action="change_request.withdraw"))
    assert [(e.entity_id, e.actor, e.before, (e.after or {}).get("status")) for e in entries] == [
        (str(request.id), member(org["id"]).actor, {"status": "pending"}, "withdrawn")
    ]
    decided = propose(session, clock, org, {"domains": {"add": ["godkjent.test.no"]}})
    changes.approve_change_request(session, CERT, decided.id, clock=clock, key_inspector=None)
    with pytest.raises(Conflict, match="is approved, not pending"):
        changes.withdraw_change_request(session, member(org["id"]), decided.id, clock=clock)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"networks": {"add": ["192.0.2.1/25"]}}, "host bits"),
        ({"networks": {"remove": ["198.51.100.0/24"]}}, "is not registered"),
        ({"networks": {"add": ["192.0.2.0/25"]}}, "registered already"),
        ({"name": {"add": ["x"]}}, "cannot be changed by request"),
        ({"domains": {"update": ["x.no"]}}, "only contacts"),
        ({"contacts": {"add": [{"name": "A", "email": "a@b.no", "roles": ["boss"]}]}}, "boss"),
        ({}, "must be an object"),
    ],
)
def test_bad_proposals_are_refused_with_the_reason(
    session: Session, clock: FixedClock, org: dict[str, Any], body: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationFailed, match=fragment):
        propose(session, clock, org, body)
    assert changes.list_change_requests(session, CERT)[1] == 0


def test_members_cannot_decide_or_see_others(
    session: Session, clock: FixedClock, org: dict[str, Any]
) -> None:
    other = service.create_organisation(session, CERT, org_data(), clock=clock, key_inspector=None)
    request = propose(session, clock, org, {"domains": {"add": ["ny.test.no"]}})
    with pytest.raises(PermissionDenied):
        changes.approve_change_request(
            session, member(org["id"]), request.id, clock=clock, key_inspector=None
        )
    with pytest.raises(NotFound):
        changes.get_change_request_or_raise(session, member(other["id"]), request.id)
    assert changes.list_change_requests(session, member(other["id"]))[1] == 0
    with pytest.raises(PermissionDenied):
        changes.propose_change(
            session,
            member(org["id"], Role.MEMBER_USER),
            org["id"],
            {"domains": {"add": ["x.test.no"]}},
            clock=clock,
            key_inspector=None,
        )
    with pytest.raises(NotFound):
        changes.propose_change(
            session,
            member(other["id"]),
            org["id"],
            {"domains": {"add": ["x.test.no"]}},
            clock=clock,
            key_inspector=None,
        )


def test_approval_revalidates_against_the_entry_as_it_is_now(
    session: Session, clock: FixedClock, org: dict[str, Any]
) -> None:
    request = propose(session, clock, org, {"domains": {"add": ["ny.test.no"]}})
    service.add_item(
        session, CERT, org["id"], "domains", "ny.test.no", clock=clock, key_inspector=None
    )
    with pytest.raises(ValidationFailed, match="registered already"):
        changes.approve_change_request(session, CERT, request.id, clock=clock, key_inspector=None)
    assert changes.get_change_request_or_raise(session, CERT, request.id).status is (
        changes.ChangeStatus.PENDING
    )
