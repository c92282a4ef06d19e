"""The registry's organisation use cases, against a real database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT, member, org_data
from vardeild.access.model import Principal, Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from vardeild.members import service
from vardeild.members.lookup import build_attribution_index, list_conflicts, whois
from vardeild.members.tables import NetworkRow, OrganisationRow


def create(session: Session, clock: FixedClock, **overrides: Any) -> dict[str, Any]:
    return service.create_organisation(
        session, CERT, org_data(**overrides), clock=clock, key_inspector=None
    )


def count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def test_create_stores_everything_and_audits(session: Session, clock: FixedClock) -> None:
    org = create(session, clock, name="Helse Test HF", domains=["Sykehus.Test.NO."])
    assert org["name"] == "Helse Test HF"
    assert org["domains"][0]["name"] == "sykehus.test.no"
    assert {n["family"] for n in org["networks"]} == {4, 6}
    entries, total = list_entries(session, filters=AuditFilter(organisation_id=org["id"]))
    assert total == 1
    assert entries[0].action == "organisation.create"
    assert entries[0].before is None
    assert entries[0].after is not None
    assert entries[0].after["name"] == "Helse Test HF"
    assert entries[0].actor == CERT.actor


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"networks": ["10.0.0.1/24"]}, "networks[0]", "host bits set"),
        ({"networks": ["10.0.0.0/33"]}, "networks[0]", "not an IPv4 or IPv6 network"),
        ({"org_number": "974760674"}, "org_number", "mod-11"),
        ({"sector": "hospital"}, "sector", "not one of"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"name": "bad\x00name"}, "name", "control characters"),
        ({"asns": ["ASX"]}, "asns[0]", "not an AS number"),
        ({"domains": ["*.example.no"]}, "domains[0]", "wildcard"),
        ({"contacts": [{"name": "A", "email": "a@b.no", "roles": ["boss"]}]}, "roles", "boss"),
        (
            {"contacts": [{"name": "A", "email": "a@b.no\r\nBcc: x@y.no"}]},
            "email",
            "not a single e-mail address",
        ),
        ({"colour": "blue"}, "colour", "not a field"),
    ],
)
def test_bad_input_names_record_and_field_and_writes_nothing(
    session: Session, clock: FixedClock, overrides: dict[str, Any], field: str, fragment: str
) -> None:
    before = (count(session, OrganisationRow), count(session, AuditRow))
    with pytest.raises(ValidationFailed) as caught:
        create(session, clock, **overrides)
    problems = caught.value.problems
    assert any(p.field == field and fragment in p.message for p in problems), problems
    assert all(p.record.startswith("organisation") for p in problems)
    assert (count(session, OrganisationRow), count(session, AuditRow)) == before


def test_duplicates_are_refused_with_the_clash_named(session: Session, clock: FixedClock) -> None:
    first = create(session, clock)
    with pytest.raises(ValidationFailed) as by_name:
        create(session, clock, name=first["name"])
    assert "exists (id" in by_name.value.summary()
    with pytest.raises(ValidationFailed) as by_number:
        create(session, clock, org_number=first["org_number"])
    assert f"belongs to {first['name']!r}" in by_number.value.summary()


def test_update_replaces_lists_keeps_ids_and_audits_before_after(
    session: Session, clock: FixedClock
) -> None:
    org = create(session, clock)
    kept = org["networks"][0]
    updated = service.update_organisation(
        session,
        CERT,
        org["id"],
        {"networks": [kept["cidr"], "192.0.2.0/28"], "criticality": "critical"},
        clock=clock,
        key_inspector=None,
    )
    assert [n["cidr"] for n in updated["networks"]] == [kept["cidr"], "192.0.2.0/28"]
    assert updated["networks"][0]["id"] == kept["id"]
    assert updated["criticality"] == "critical"
    entries, _ = list_entries(session, filters=AuditFilter(action="organisation.update"))
    assert entries[0].before is not None
    assert entries[0].before["criticality"] == "high"
    assert entries[0].after is not None
    assert entries[0].after["criticality"] == "critical"


def test_items_add_and_remove(session: Session, clock: FixedClock) -> None:
    org = create(session, clock)
    added = service.add_item(
        session, CERT, org["id"], "networks", "198.51.100.0/24", clock=clock, key_inspector=None
    )
    assert "198.51.100.0/24" in [n["cidr"] for n in added["networks"]]
    with pytest.raises(Conflict, match="registered already"):
        service.add_item(
            session, CERT, org["id"], "networks", "198.51.100.0/24", clock=clock, key_inspector=None
        )
    with pytest.raises(ValidationFailed, match="host bits"):
        service.add_item(
            session, CERT, org["id"], "networks", "198.51.100.1/24", clock=clock, key_inspector=None
        )
    network_id = next(n["id"] for n in added["networks"] if n["cidr"] == "198.51.100.0/24")
    removed = service.remove_item(session, CERT, org["id"], "networks", network_id, clock=clock)
    assert "198.51.100.0/24" not in [n["cidr"] for n in removed["networks"]]
    with pytest.raises(NotFound):
        service.remove_item(session, CERT, org["id"], "networks", network_id, clock=clock)


def test_contact_update(session: Session, clock: FixedClock) -> None:
    org = create(session, clock)
    contact = org["contacts"][0]
    updated = service.update_contact(
        session,
        CERT,
        org["id"],
        contact["id"],
        {"phone": "+47 22 00 00 00", "language": "en"},
        clock=clock,
        key_inspector=None,
    )
    assert updated["contacts"][0]["phone"] == "+47 22 00 00 00"
    assert updated["contacts"][0]["language"] == "en"
    assert updated["contacts"][0]["id"] == contact["id"]


def test_parents_and_cycles(session: Session, clock: FixedClock) -> None:
    region = create(session, clock, sector="health_region")
    trust = create(session, clock, parent=region["org_number"])
    assert trust["parent_id"] == region["id"]
    assert service.get_organisation_or_raise(session, CERT, region["id"])["children"] == [
        trust["id"]
    ]
    with pytest.raises(ValidationFailed, match="own ancestor"):
        service.update_organisation(
            session, CERT, region["id"], {"parent": trust["name"]}, clock=clock, key_inspector=None
        )
    with pytest.raises(ValidationFailed, match="no organisation has org number or name"):
        create(session, clock, parent="Finnes Ikke HF")


def test_delete_cascades_and_orphans_children(session: Session, clock: FixedClock) -> None:
    region = create(session, clock, sector="health_region")
    trust = create(session, clock, parent=region["org_number"])
    service.delete_organisation(session, CERT, region["id"], clock=clock)
    session.expire_all()
    assert service.get_organisation_or_raise(session, CERT, trust["id"])["parent_id"] is None
    assert (
        session.scalar(select(func.count()).where(NetworkRow.organisation_id == region["id"])) == 0
    )
    with pytest.raises(NotFound):
        service.get_organisation_or_raise(session, CERT, region["id"])


def test_list_filters_and_pages(session: Session, clock: FixedClock) -> None:
    made = [create(session, clock, sector="pharmacy", name=f"Apotek {i:02d}") for i in range(5)]
    create(session, clock, sector="dental", name="Tannlege AS")
    page, total = service.list_organisations(
        session, CERT, query=service.OrganisationQuery(sector="pharmacy"), limit=2, offset=2
    )
    assert total == 5
    assert [o["name"] for o in page] == ["Apotek 02", "Apotek 03"]
    found, _ = service.list_organisations(
        session, CERT, query=service.OrganisationQuery(text="tannLEGE")
    )
    assert [o["name"] for o in found] == ["Tannlege AS"]
    mine, total_mine = service.list_organisations(session, member(made[0]["id"]))
    assert total_mine == 1
    assert mine[0]["id"] == made[0]["id"]


def test_member_cannot_read_or_edit_another(session: Session, clock: FixedClock) -> None:
    a = create(session, clock)
    b = create(session, clock)
    me = member(a["id"])
    assert service.get_organisation_or_raise(session, me, a["id"])["id"] == a["id"]
    with pytest.raises(NotFound):
        service.get_organisation_or_raise(session, me, b["id"])
    with pytest.raises(NotFound):
        service.update_organisation(
            session, me, b["id"], {"notes": "x"}, clock=clock, key_inspector=None
        )
    with pytest.raises(PermissionDenied):
        service.update_organisation(
            session, me, a["id"], {"notes": "x"}, clock=clock, key_inspector=None
        )
    readonly = Principal(actor="ro", role=Role.CERT_READONLY)
    with pytest.raises(PermissionDenied):
        service.delete_organisation(session, readonly, a["id"], clock=clock)


def test_whois_longest_prefix_domains_asns_and_tenancy(session: Session, clock: FixedClock) -> None:
    hosting = create(
        session,
        clock,
        name="Vertsleverandør AS",
        networks=["192.0.2.0/24"],
        domains=["vert.test.no"],
        asns=[64501],
    )
    clinic = create(
        session,
        clock,
        name="Legesenter",
        networks=["192.0.2.16/28"],
        domains=["lege.vert.test.no"],
        asns=[64502],
    )
    index = build_attribution_index(session)
    answer = whois(session, CERT, "192.0.2.20", index=index)
    assert answer.matched == "192.0.2.16/28"
    assert [o["name"] for o in answer.organisations] == ["Legesenter"]
    assert whois(session, CERT, "192.0.2.200", index=index).organisations[0]["id"] == hosting["id"]
    assert whois(session, CERT, "www.lege.vert.test.no", index=index).matched == "lege.vert.test.no"
    assert whois(session, CERT, "AS64501", index=index).organisations[0]["id"] == hosting["id"]
    outside = whois(session, CERT, "203.0.113.5", index=index)
    assert outside.organisations == []
    assert outside.to_dict()["member"] is False
    # A member learns nothing of space another member owns.
    assert whois(session, member(clinic["id"]), "192.0.2.200", index=index).organisations == []
    with pytest.raises(ValidationFailed, match="not an IP address"):
        whois(session, CERT, "not a thing!", index=index)
    conflicts = list_conflicts(session, CERT)
    pairs = {(c["kind"], c["outer"], c["inner"]) for c in conflicts}
    assert ("network", "192.0.2.0/24", "192.0.2.16/28") in pairs
    assert ("domain", "vert.test.no", "lege.vert.test.no") in pairs
    with pytest.raises(PermissionDenied):
        list_conflicts(session, member(clinic["id"]))


def test_registry_revision_moves_on_every_change(session: Session, clock: FixedClock) -> None:
    start = service.registry_revision(session)
    org = create(session, clock)
    after_create = service.registry_revision(session)
    assert after_create > start
    service.add_item(
        session, CERT, org["id"], "domains", "ny.test.no", clock=clock, key_inspector=None
    )
    assert service.registry_revision(session) > after_create


def test_cert_notes_never_reach_a_member(session: Session, clock: FixedClock) -> None:
    org = create(session, clock, notes="CERT-intern: mistenkt kompromittert")
    me = member(org["id"])
    assert service.get_organisation_or_raise(session, CERT, org["id"])["notes"]
    assert service.get_organisation_or_raise(session, me, org["id"])["notes"] is None
    listed, _ = service.list_organisations(session, me)
    assert listed[0]["notes"] is None


def test_organisation_names_are_scoped_like_the_list(session: Session, clock: FixedClock) -> None:
    made = [create(session, clock, name=name) for name in ("Bravo HF", "Alfa", "Charlie AS")]
    names = service.organisation_names(session, CERT)
    assert list(names.values()) == ["Alfa", "Bravo HF", "Charlie AS"]  # by name
    assert names == {org["id"]: org["name"] for org in made}
    assert list(service.organisation_names(session, CERT, limit=2).values()) == ["Alfa", "Bravo HF"]
    assert service.organisation_names(session, member(made[2]["id"])) == {
        made[2]["id"]: "Charlie AS"
    }
