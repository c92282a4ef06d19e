"""Who may move a case where: the workflow's moves, per role."""

from __future__ import annotations

import pytest

from vardeild.access.model import Role
from vardeild.core.errors import Conflict, PermissionDenied
from vardeild.incidents.model import (
    ADMIN_ONLY,
    TRANSITIONS,
    CaseStatus,
    allowed_moves,
    check_transition,
)

S = CaseStatus
FORWARD = [
    (S.NEW, S.TRIAGE),
    (S.TRIAGE, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.NEW, S.REJECTED),
    (S.TRIAGE, S.REJECTED),
    (S.RESOLVED, S.IN_PROGRESS),
]


@pytest.mark.parametrize(("before", "after"), FORWARD)
@pytest.mark.parametrize("role", [Role.CERT_ADMIN, Role.CERT_ANALYST])
def test_handlers_move_cases_along_the_workflow(role: Role, before: S, after: S) -> None:
    check_transition(role, before, after)


@pytest.mark.parametrize("role", [Role.CERT_READONLY, Role.MEMBER_ADMIN, Role.MEMBER_USER])
@pytest.mark.parametrize(("before", "after"), FORWARD)
def test_readers_and_members_move_nothing(role: Role, before: S, after: S) -> None:
    with pytest.raises(PermissionDenied):
        check_transition(role, before, after)
    assert allowed_moves(role, before) == []


@pytest.mark.parametrize("before", [S.CLOSED, S.REJECTED])
def test_only_an_admin_reopens_what_is_finished(before: S) -> None:
    check_transition(Role.CERT_ADMIN, before, S.TRIAGE)
    with pytest.raises(PermissionDenied, match="only a CERT admin"):
        check_transition(Role.CERT_ANALYST, before, S.TRIAGE)
    assert allowed_moves(Role.CERT_ANALYST, before) == []
    assert allowed_moves(Role.CERT_ADMIN, before) == [S.TRIAGE]


@pytest.mark.parametrize(
    ("before", "after"),
    [(S.NEW, S.CLOSED), (S.NEW, S.RESOLVED), (S.CLOSED, S.IN_PROGRESS), (S.REJECTED, S.CLOSED),
     (S.IN_PROGRESS, S.CLOSED), (S.MERGED, S.TRIAGE)],
)  # fmt: skip
def test_moves_outside_the_workflow_are_conflicts(before: S, after: S) -> None:
    with pytest.raises(Conflict, match=f"cannot go to {after.value}"):
        check_transition(Role.CERT_ADMIN, before, after)


@pytest.mark.parametrize("before", list(S))
def test_merged_is_reached_only_by_merging(before: S) -> None:
    with pytest.raises(Conflict):
        check_transition(Role.CERT_ADMIN, before, S.MERGED)


def test_every_status_has_a_rule_and_admin_only_moves_exist() -> None:
    assert set(TRANSITIONS) == set(S)
    for before, after in ADMIN_ONLY:
        assert after in TRANSITIONS[before]
    assert allowed_moves(Role.CERT_ANALYST, S.NEW) == [S.TRIAGE, S.IN_PROGRESS, S.REJECTED]
