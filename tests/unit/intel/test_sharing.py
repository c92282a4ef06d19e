"""The one sharing decision: which canaries each audience receives, who may read which
audience, and naming audiences (checked, audited, undone)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member
from support.sharing import EXPECTED, SharingWorld, make_sharing_world
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.intel.audience import list_audience, share_indicators, unshare_indicators
from vardeild.intel.model import IndicatorType
from vardeild.intel.service import expire_indicators
from vardeild.intel.sharing import (
    Audience,
    AudienceKind,
    SharedQuery,
    authorize_audience,
    default_audience,
    list_shared,
    may_read,
)
from vardeild.intel.stix_out import indicator_object
from vardeild.intel.tables import IndicatorRow


@pytest.fixture
def world(session: Session, clock: FixedClock) -> SharingWorld:
    return make_sharing_world(session, clock)


def _levels(world: SharingWorld, found: list) -> frozenset[str]:
    return world.found_in(" ".join(item.value for item in found))


def test_each_audience_receives_exactly_its_canaries(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    cases = {
        Audience.member(world.a): EXPECTED["a"],
        Audience.member(world.b): EXPECTED["b"],
        Audience.public(): EXPECTED["public"],
        Audience.all_members(): EXPECTED["cert"],
        Audience.named(world.a): frozenset({"amber_strict_a", "amber_a"}),
        Audience.named(world.b): frozenset({"amber_b"}),
    }
    for audience, expected in cases.items():
        found = list_shared(session, CERT_ADMIN, audience, now=clock.now())
        assert _levels(world, found) == expected, audience


def test_no_audience_ever_receives_red(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    for kind in AudienceKind:
        organisation = world.a if kind in (AudienceKind.MEMBER, AudienceKind.NAMED) else None
        found = list_shared(session, CERT_ADMIN, Audience(kind, organisation), now=clock.now())
        assert all(item.tlp.value != "RED" for item in found)
        assert "red" not in _levels(world, found)


def test_an_indicator_expiring_leaves_every_set(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    later = clock.now() + timedelta(days=3650)
    assert _levels(world, list_shared(session, CERT, Audience.all_members(), now=later)) == {
        "green",
        "clear",
    }  # valid_until empty: still valid
    expire_indicators(session, CERT_ADMIN, clock=clock, ids=[world.ids["green"]])
    found = list_shared(session, CERT, Audience.all_members(), now=clock.now())
    assert _levels(world, found) == {"clear"}


def test_who_may_read_which_audience(world: SharingWorld) -> None:
    a_user = member(world.a, Role.MEMBER_USER)
    assert may_read(None, Audience.public())
    assert not may_read(None, Audience.all_members())
    assert not may_read(None, Audience.member(world.a))
    assert may_read(a_user, Audience.all_members())
    assert may_read(a_user, Audience.member(world.a))
    assert may_read(a_user, Audience.named(world.a))
    assert may_read(CERT, Audience.member(world.b))
    with pytest.raises(NotFound):
        authorize_audience(a_user, Audience.member(world.b))
    with pytest.raises(NotFound):
        authorize_audience(a_user, Audience.named(world.b))
    with pytest.raises(PermissionDenied):
        authorize_audience(None, Audience.all_members())


def test_a_member_reading_another_members_set_reads_nothing(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    with pytest.raises(NotFound):
        list_shared(session, member(world.a), Audience.member(world.b), now=clock.now())


def test_default_audiences() -> None:
    assert default_audience(None) == Audience.public()
    assert default_audience(member(7)) == Audience.member(7)
    assert default_audience(CERT) == Audience.all_members()


@pytest.mark.parametrize(
    ("text", "audience"),
    [
        ("public", Audience.public()),
        ("all-members", Audience.all_members()),
        ("member:12", Audience.member(12)),
        ("Named:3", Audience.named(3)),
    ],
)
def test_audiences_parse_and_print(text: str, audience: Audience) -> None:
    assert Audience.parse(text) == audience
    assert Audience.parse(str(audience)) == audience


@pytest.mark.parametrize("text", ["", "member", "member:0", "members", "named:x", "cert"])
def test_bad_audiences_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an audience"):
        Audience.parse(text)


def test_query_filters_and_pages(session: Session, clock: FixedClock, world: SharingWorld) -> None:
    audience = Audience.member(world.a)
    whole = list_shared(session, CERT, audience, now=clock.now())
    assert [(i.date_added, i.id) for i in whole] == sorted((i.date_added, i.id) for i in whole)
    first = list_shared(session, CERT, audience, now=clock.now(), limit=2)
    rest = list_shared(
        session,
        CERT,
        audience,
        now=clock.now(),
        query=SharedQuery(after=(first[-1].date_added, first[-1].id)),
    )
    assert [i.id for i in first + rest] == [i.id for i in whole]
    assert not list_shared(
        session, CERT, audience, now=clock.now(), query=SharedQuery(types=[IndicatorType.MD5])
    )
    later = clock.now() + timedelta(seconds=1)
    assert not list_shared(
        session, CERT, audience, now=clock.now(), query=SharedQuery(updated_since=later)
    )


def test_naming_a_member_later_adds_the_indicator_then(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    clock.advance(timedelta(hours=2))
    share_indicators(
        session,
        CERT_ADMIN,
        clock=clock,
        indicator_ids=[world.ids["amber_a"]],
        organisation_ids=[world.b],
    )
    found = list_shared(session, CERT, Audience.member(world.b), now=clock.now())
    [shared] = [i for i in found if i.id == world.ids["amber_a"]]
    assert shared.date_added == clock.now()
    assert "amber_a" in _levels(world, found)


def test_sharing_is_checked_whole(session: Session, clock: FixedClock, world: SharingWorld) -> None:
    for level in ("red", "green", "clear"):
        with pytest.raises(ValidationFailed, match="only AMBER and AMBER\\+STRICT") as caught:
            share_indicators(
                session,
                CERT_ADMIN,
                clock=clock,
                indicator_ids=[world.ids["amber_b"], world.ids[level]],
                organisation_ids=[world.a],
            )
        if level == "red":
            assert "never leaves the CERT" in str(caught.value)
    assert "amber_b" not in _levels(
        world, list_shared(session, CERT, Audience.member(world.a), now=clock.now())
    )
    with pytest.raises(NotFound, match="indicator 999999"):
        share_indicators(
            session, CERT_ADMIN, clock=clock, indicator_ids=[999999], organisation_ids=[world.a]
        )
    with pytest.raises(NotFound, match="organisation 999999"):
        share_indicators(
            session,
            CERT_ADMIN,
            clock=clock,
            indicator_ids=[world.ids["amber_a"]],
            organisation_ids=[999999],
        )
    with pytest.raises(PermissionDenied):
        share_indicators(
            session,
            member(world.a),
            clock=clock,
            indicator_ids=[world.ids["amber_b"]],
            organisation_ids=[world.a],
        )


def test_sharing_and_unsharing_are_audited_per_member(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    amber = world.ids["amber_b"]
    added = share_indicators(
        session, CERT_ADMIN, clock=clock, indicator_ids=[amber], organisation_ids=[world.a, world.b]
    )
    assert added == 1  # B was named already
    assert [m.organisation_id for m in list_audience(session, CERT, amber)] == [world.a, world.b]
    entries, _ = list_entries(
        session, filters=AuditFilter(action="indicator.share", organisation_id=world.a)
    )
    assert entries[0].after == {"count": 1, "indicator_ids": [amber]}
    removed = unshare_indicators(
        session, CERT_ADMIN, clock=clock, indicator_ids=[amber], organisation_ids=[world.a]
    )
    assert removed == 1
    assert [m.organisation_id for m in list_audience(session, CERT, amber)] == [world.b]
    entries, _ = list_entries(
        session, filters=AuditFilter(action="indicator.unshare", organisation_id=world.a)
    )
    assert len(entries) == 1
    assert "amber_b" not in _levels(
        world, list_shared(session, CERT, Audience.member(world.a), now=clock.now())
    )
    with pytest.raises(PermissionDenied):
        list_audience(session, member(world.a), amber)


def test_an_imported_stix_id_travels_with_the_indicator(
    session: Session, clock: FixedClock, world: SharingWorld
) -> None:
    imported = "indicator--3b3f9c1e-6a0d-4f5e-8a7b-2c1d0e9f8a7b"
    session.execute(
        update(IndicatorRow).where(IndicatorRow.id == world.ids["green"]).values(stix_id=imported)
    )
    found = list_shared(session, CERT, Audience.all_members(), now=clock.now())
    [green] = [i for i in found if i.id == world.ids["green"]]
    assert green.stix_id == imported
    assert indicator_object(green, cert_name="C")["id"] == imported
