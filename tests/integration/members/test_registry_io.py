"""Bulk import and export of the registry on both databases: the upsert, the diff, the
dry run, round trips, and every kind of bad input refused with nothing applied."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT, CERT_ADMIN, member, org_data, org_number
from vardeild.access.model import Principal, Role
from vardeild.audit.tables import AuditRow
from vardeild.core.clock import FixedClock
from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed
from vardeild.members import registry_io, service
from vardeild.members.model import KeyInfo
from vardeild.members.openpgp import inspect_public_key
from vardeild.members.registry_io import (
    ImportPlan,
    RegistryFormat,
    apply_import,
    export_registry,
    plan_import,
    read_records,
)
from vardeild.members.tables import ContactRow, OrganisationRow

ARMOUR = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{}\n-----END PGP PUBLIC KEY BLOCK-----"
JSON = RegistryFormat.JSON


def fake_key(word: str) -> str:
    return ARMOUR.format(word)


def fake_inspector(armoured: str) -> KeyInfo:
    """Stands in for gpg: armour is a key, 'expired' inside makes it expired."""
    if not armoured.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
        raise ValueError("is not an ASCII-armoured OpenPGP public key")
    if "expired" in armoured:
        raise ValueError("key ABC expired on 2020-01-01; ask the contact to extend its expiry")
    return KeyInfo(hashlib.sha256(armoured.encode()).hexdigest().upper(), None, ())


def run(
    session: Session,
    clock: FixedClock,
    data: bytes | list[Any],
    fmt: RegistryFormat = JSON,
    *,
    dry_run: bool = False,
    source: str = "f.json",
    principal: Principal = CERT,
    inspector: Callable[[str], KeyInfo] | None = fake_inspector,
) -> ImportPlan:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return apply_import(
        session,
        principal,
        body,
        fmt,
        source=source,
        clock=clock,
        key_inspector=inspector,
        dry_run=dry_run,
        max_bytes=registry_io.DEFAULT_MAX_BYTES,
    )


def state(session: Session) -> tuple[bytes, int]:
    """Everything import could change: the whole registry and the audit log's length."""
    session.expire_all()
    audit = session.scalar(select(func.count()).select_from(AuditRow)) or 0
    return export_registry(session, CERT, JSON), audit


def refused(
    session: Session, clock: FixedClock, data: bytes | list[Any], **kwargs: Any
) -> list[str]:
    """Import data, expecting it to be refused with nothing applied; return the problems."""
    before = state(session)
    with pytest.raises(ValidationFailed) as exc:
        run(session, clock, data, **kwargs)
    assert state(session) == before, "a refused import changed something"
    return [str(p) for p in exc.value.problems]


def create(session: Session, clock: FixedClock, **overrides: Any) -> dict[str, Any]:
    return service.create_organisation(
        session, CERT, org_data(**overrides), clock=clock, key_inspector=fake_inspector
    )


@pytest.fixture
def registry(session: Session, clock: FixedClock) -> dict[str, dict[str, Any]]:
    """A small constituency using every field: a region, its trust, a clinic without an org
    number, internal entries, descriptions and a contact with a key."""
    region = create(session, clock, name="Helse Test RHF", sector="health_region")
    trust = create(
        session,
        clock,
        name="=Sykehuset Test HF",  # a name a spreadsheet would run as a formula
        parent=region["org_number"],
        networks=[
            "192.0.2.0/24",
            {"cidr": "10.20.0.0/16", "exposure": "internal", "description": "Helsenett; intern"},
        ],
        asns=[{"asn": 64_999, "exposure": "internal", "description": "Transit"}],
        domains=["sykehuset-test.no", {"name": "intern.sykehuset-test.no", "exposure": "internal"}],
        notes="+line one\nline two",
        contacts=[
            {
                "name": "Kari <Sikkerhet> | Test",
                "email": "kari@sykehuset-test.no",
                "phone": "+47 22 00 00 00",
                "roles": ["security", "on_call"],
                "language": "en",
                "pgp_key": fake_key("kari"),
            },
            {"name": "Ola", "email": "ola@sykehuset-test.no", "roles": []},
        ],
    )
    clinic = create(
        session, clock, name="Legekontoret Test", org_number=None, sector="gp_clinic", parent=None
    )
    return {"region": region, "trust": trust, "clinic": clinic}


def minimal(**overrides: Any) -> dict[str, Any]:
    """A record in the issue's minimal form."""
    data: dict[str, Any] = {
        "name": "Bydel Test kommune",
        "org_number": org_number(900),
        "sector": "municipality",
        "networks": ["198.51.100.0/24"],
        "asns": [64500],
        "domains": ["bydel-test.no"],
        "contacts": [{"name": "Per", "email": "per@bydel-test.no", "roles": ["security"]}],
    }
    data.update(overrides)
    return data


def audit_rows(session: Session, action: str) -> list[AuditRow]:
    return list(session.scalars(select(AuditRow).where(AuditRow.action == action)))


# --- creating, updating, leaving alone -------------------------------------------------------


def test_the_issue_minimal_form_creates_and_audits_each_organisation(
    session: Session, clock: FixedClock
) -> None:
    plan = run(session, clock, [minimal(), minimal(name="Annen", org_number=org_number(901))])
    assert plan.applied
    assert plan.created == ("Bydel Test kommune", "Annen")
    assert (plan.updated, plan.unchanged) == ((), 0)
    row = session.scalar(select(OrganisationRow).where(OrganisationRow.name == "Annen"))
    assert row is not None
    assert [n.cidr for n in row.networks] == ["198.51.100.0/24"]
    entries = audit_rows(session, "organisation.import.create")
    assert len(entries) == 2
    assert {e.note for e in entries} == {"imported from f.json"}
    assert entries[0].after is not None
    assert entries[0].before is None


def test_importing_the_same_file_again_changes_and_audits_nothing(
    session: Session, clock: FixedClock
) -> None:
    run(session, clock, [minimal()])
    before = state(session)
    plan = run(session, clock, [minimal()])
    assert (plan.created, plan.updated, plan.unchanged, plan.has_changes) == ((), (), 1, False)
    assert state(session) == before


def test_a_matched_organisation_is_replaced_and_the_diff_says_how(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    trust = registry["trust"]
    record = {
        **{k: trust[k] for k in ("name", "org_number", "sector", "parent")},
        "criticality": "critical",
        "networks": [
            "192.0.2.0/24",
            {"cidr": "10.20.0.0/16", "description": "now facing the Internet"},
            "203.0.113.0/24",
        ],
        "domains": ["sykehuset-test.no"],
        "contacts": [
            {
                "name": "Kari <Sikkerhet> | Test",
                "email": "kari@sykehuset-test.no",
                "roles": ["abuse"],
            }
        ],
    }
    plan = run(session, clock, [record])
    (diff,) = plan.updated
    assert (diff.organisation_id, diff.record) == (
        trust["id"],
        "f.json record 1 (name '=Sykehuset Test HF')",
    )
    changes = {c.field: c for c in diff.changes}
    assert (changes["criticality"].before, changes["criticality"].after) == ("high", "critical")
    assert changes["networks"].added == ("203.0.113.0/24",)
    assert changes["networks[10.20.0.0/16].exposure"].after == "internet"
    assert changes["networks[10.20.0.0/16].description"].before == "Helsenett; intern"
    assert changes["domains"].removed == ("intern.sykehuset-test.no (internal)",)
    assert changes["asns"].removed == ("AS64999 (internal) Transit",)
    assert changes["contacts"].removed == ("Ola <ola@sykehuset-test.no> nb",)
    assert changes["contacts[kari@sykehuset-test.no].roles"].after == "abuse"
    assert changes["contacts[kari@sykehuset-test.no].phone"].before == "+47 22 00 00 00"
    assert "contacts[kari@sykehuset-test.no].pgp_key" not in changes  # no field: key kept
    assert "notes" in changes
    assert "parent" not in changes
    # The file is the truth: the lists are now exactly the file's.
    after = service.get_organisation_or_raise(session, CERT, trust["id"])
    assert [n["cidr"] for n in after["networks"]] == [
        "10.20.0.0/16",
        "192.0.2.0/24",
        "203.0.113.0/24",
    ]
    assert after["asns"] == []
    assert [c["email"] for c in after["contacts"]] == ["kari@sykehuset-test.no"]
    assert after["contacts"][0]["pgp_key"] == fake_key("kari")
    (entry,) = audit_rows(session, "organisation.import.update")
    assert entry.organisation_id == trust["id"]
    assert entry.before is not None


def test_organisations_the_file_does_not_name_are_untouched(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    before = {
        k: service.get_organisation_or_raise(session, CERT, v["id"]) for k, v in registry.items()
    }
    run(session, clock, [minimal()])
    session.expire_all()
    for key, org in registry.items():
        assert service.get_organisation_or_raise(session, CERT, org["id"]) == before[key]


def test_a_record_is_matched_by_org_number_first_so_a_rename_keeps_the_id(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    region = registry["region"]
    plan = run(
        session, clock, [{**minimal(), "name": "Helse Ny RHF", "org_number": region["org_number"]}]
    )
    (diff,) = plan.updated
    assert diff.organisation_id == region["id"]
    assert {c.field: (c.before, c.after) for c in diff.changes}["name"] == (
        "Helse Test RHF",
        "Helse Ny RHF",
    )
    # The trust still hangs off its (renamed) region.
    trust = service.get_organisation_or_raise(session, CERT, registry["trust"]["id"])
    assert trust["parent_id"] == region["id"]


def test_a_record_without_org_number_is_matched_by_exact_name(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    clinic = registry["clinic"]
    plan = run(session, clock, [{"name": "Legekontoret Test", "sector": "dental"}])
    assert plan.updated[0].organisation_id == clinic["id"]
    assert plan.created == ()


def test_a_name_registered_under_another_org_number_is_refused(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    problems = refused(session, clock, [minimal(name="Helse Test RHF")])
    assert problems == [
        f"f.json record 1 (name 'Helse Test RHF'): org_number: 'Helse Test RHF' is registered "
        f"with org number {registry['region']['org_number']} (id {registry['region']['id']}), "
        f"not {org_number(900)}; correct the number, or the name if this is another organisation"
    ]


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_export_then_import_of_the_same_file_is_a_no_op(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]], fmt: RegistryFormat
) -> None:
    exported = export_registry(session, CERT, fmt)
    before = state(session)
    plan = run(session, clock, exported, fmt, source=f"export.{fmt.value}")
    assert (plan.created, plan.updated, plan.unchanged) == ((), (), 3)
    assert state(session) == before
    assert export_registry(session, CERT, fmt) == exported


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_import_export_import_is_idempotent(
    session: Session, clock: FixedClock, fmt: RegistryFormat
) -> None:
    child = minimal(name="Barn HF", org_number=org_number(902), parent="Mor RHF", networks=[])
    mother = minimal(
        name="Mor RHF", org_number=org_number(903), sector="health_region", networks=[]
    )
    first = run(session, clock, [child, mother])
    assert first.created == ("Barn HF", "Mor RHF")  # in the file's order
    exported = export_registry(session, CERT, fmt)
    second = run(session, clock, exported, fmt)
    assert (second.has_changes, second.unchanged) == (False, 2)
    assert export_registry(session, CERT, fmt) == exported


def test_lists_written_in_another_order_change_nothing(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    records = json.loads(export_registry(session, CERT, JSON))
    trust = records[0]
    for field in ("networks", "asns", "domains", "contacts", "services"):
        trust[field].reverse()
    trust["contacts"][-1]["roles"].reverse()
    trust["parent"] = "Helse Test RHF"  # by name instead of org number, and not in the file
    plan = run(session, clock, [trust, records[2]])
    assert (plan.has_changes, plan.unchanged) == (False, 2)


def test_export_is_ordered_by_name_and_names_parents_by_org_number(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    exported = json.loads(export_registry(session, CERT, JSON))
    assert [o["name"] for o in exported] == [
        "=Sykehuset Test HF",
        "Helse Test RHF",
        "Legekontoret Test",
    ]
    assert exported[0]["parent"] == registry["region"]["org_number"]
    assert exported[0]["contacts"][0]["pgp_key"] == fake_key("kari")


def test_csv_export_guards_formulas_and_the_import_restores_them_exactly(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    exported = export_registry(session, CERT, RegistryFormat.CSV).decode("utf-8-sig")
    assert "\r\n'=Sykehuset Test HF," in exported
    assert '"\'+line one\nline two"' in exported
    ((_, mapping), *_) = read_records(exported.encode(), RegistryFormat.CSV, source="x.csv")
    assert mapping["name"] == "=Sykehuset Test HF"
    assert mapping["notes"] == "+line one\nline two"


# --- keys --------------------------------------------------------------------------------


def test_a_csv_import_keeps_the_keys_it_cannot_carry(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    exported = export_registry(session, CERT, RegistryFormat.CSV)
    assert b"BEGIN PGP" not in exported
    changed = exported.replace(b"+47 22 00 00 00", b"+47 23 00 00 00")
    plan = run(session, clock, changed, RegistryFormat.CSV)
    (diff,) = plan.updated
    assert [c.field for c in diff.changes] == ["contacts[kari@sykehuset-test.no].phone"]
    kari = session.scalar(select(ContactRow).where(ContactRow.email == "kari@sykehuset-test.no"))
    assert kari is not None
    assert (kari.pgp_key, kari.pgp_fingerprint) == (
        fake_key("kari"),
        fake_inspector(fake_key("kari")).fingerprint,
    )


def test_an_empty_pgp_key_field_removes_the_key_and_a_new_key_is_checked(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    records = json.loads(export_registry(session, CERT, JSON))
    records[0]["contacts"][0]["pgp_key"] = ""
    records[0]["contacts"][1]["pgp_key"] = fake_key("ola")
    plan = run(session, clock, records)
    changes = {c.field: c for c in plan.updated[0].changes}
    assert changes["contacts[kari@sykehuset-test.no].pgp_key"].after == ""
    assert changes["contacts[ola@sykehuset-test.no].pgp_key"].after.startswith("key sha256:")
    ola = session.scalar(select(ContactRow).where(ContactRow.email == "ola@sykehuset-test.no"))
    assert ola is not None
    assert ola.pgp_fingerprint == fake_inspector(fake_key("ola")).fingerprint


def test_a_stored_key_that_has_since_expired_does_not_block_an_import(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    def refuses_all(armoured: str) -> KeyInfo:
        raise ValueError("expired")

    records = json.loads(export_registry(session, CERT, JSON))
    records[0]["short_name"] = "STH"
    plan = run(session, clock, records, inspector=refuses_all)
    assert [c.field for c in plan.updated[0].changes] == ["short_name"]


# --- dry run -------------------------------------------------------------------------------


def test_dry_run_shows_the_diff_and_writes_nothing(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    before = state(session)
    records = json.loads(export_registry(session, CERT, JSON))
    records[1]["sector"] = "other"
    plan = run(session, clock, [*records, minimal()], dry_run=True)
    assert not plan.applied
    assert plan.has_changes
    assert plan.created == ("Bydel Test kommune",)
    (diff,) = plan.updated
    assert [(c.field, c.before, c.after) for c in diff.changes] == [
        ("sector", "health_region", "other")
    ]
    assert plan.unchanged == 2
    assert plan.to_dict() == {
        "source": "f.json",
        "applied": False,
        "has_changes": True,
        "created": ["Bydel Test kommune"],
        "updated": [
            {
                "organisation_id": registry["region"]["id"],
                "name": "Helse Test RHF",
                "record": "f.json record 2 (name 'Helse Test RHF')",
                "changes": [{"field": "sector", "before": "health_region", "after": "other"}],
            }
        ],
        "unchanged": 2,
    }
    assert state(session) == before


def test_plan_import_writes_nothing_either(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    before = state(session)
    records = read_records(json.dumps([minimal()]).encode(), JSON, source="p.json")
    plan = plan_import(session, CERT, records, key_inspector=fake_inspector)
    assert plan.created == ("Bydel Test kommune",)
    assert not plan.applied
    assert state(session) == before


# --- parents -------------------------------------------------------------------------------


def test_parents_may_come_later_in_the_file_and_be_named_either_way(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    records = [
        minimal(name="Barnebarn", org_number=org_number(910), parent="Barn HF", networks=[]),
        minimal(name="Barn HF", org_number=org_number(911), parent="Mor RHF", networks=[]),
        minimal(name="Mor RHF", org_number=None, parent="Helse Test RHF", networks=[]),
    ]
    run(session, clock, records)
    rows = {r.name: r for r in session.scalars(select(OrganisationRow))}
    assert rows["Barnebarn"].parent_id == rows["Barn HF"].id
    assert rows["Barn HF"].parent_id == rows["Mor RHF"].id
    assert rows["Mor RHF"].parent_id == registry["region"]["id"]
    exported = {o["name"]: o for o in json.loads(export_registry(session, CERT, JSON))}
    assert exported["Barnebarn"]["parent"] == org_number(911)  # written as its org number
    assert exported["Mor RHF"]["parent"] == registry["region"]["org_number"]


def test_a_parent_renamed_in_the_same_file_is_found_by_its_old_or_new_name(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    region = registry["region"]
    records = [
        minimal(name="Ny", org_number=org_number(920), parent="Helse Omdøpt RHF", networks=[]),
        minimal(name="Gammel", org_number=org_number(921), parent="Helse Test RHF", networks=[]),
        {"name": "Helse Omdøpt RHF", "org_number": region["org_number"], "sector": "health_region"},
    ]
    run(session, clock, records)
    rows = {r.name: r for r in session.scalars(select(OrganisationRow))}
    assert rows["Ny"].parent_id == rows["Gammel"].parent_id == region["id"]
    assert rows["Helse Omdøpt RHF"].id == region["id"]


def test_an_unknown_parent_is_refused(session: Session, clock: FixedClock) -> None:
    problems = refused(session, clock, [minimal(parent="Finnes Ikke HF")])
    assert problems == [
        "f.json record 1 (name 'Bydel Test kommune'): parent: no organisation in the file or "
        "the registry has org number or name 'Finnes Ikke HF'"
    ]


def test_a_parent_cycle_in_the_file_names_the_records(session: Session, clock: FixedClock) -> None:
    records = [
        minimal(name="A", org_number=org_number(930), parent="B", networks=[]),
        minimal(name="B", org_number=org_number(931), parent="A", networks=[]),
    ]
    problems = refused(session, clock, records)
    assert problems == [
        "f.json record 1 (name 'A'): parent: makes a cycle: f.json record 1 (name 'A') -> "
        "f.json record 2 (name 'B') -> f.json record 1 (name 'A')",
        "f.json record 2 (name 'B'): parent: makes a cycle: f.json record 2 (name 'B') -> "
        "f.json record 1 (name 'A') -> f.json record 2 (name 'B')",
    ]


def test_a_cycle_through_an_organisation_outside_the_file_is_refused(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    region = registry["region"]
    record = {**minimal(), "name": region["name"], "org_number": region["org_number"]}
    record["parent"] = registry["trust"]["org_number"]  # the trust's parent is the region
    (problem,) = refused(session, clock, [record])
    assert (
        "parent: makes a cycle: f.json record 1 (name 'Helse Test RHF') -> '=Sykehuset Test HF'"
        in problem
    )


# --- bad input -------------------------------------------------------------------------------

LABEL = "f.json record 2 (name 'Bydel Test kommune')"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"networks": ["192.0.2.300/24"]},
            f"{LABEL}: networks[0]: '192.0.2.300/24' is not an IPv4 or IPv6 network",
            id="malformed-cidr",
        ),
        pytest.param(
            {"networks": ["198.51.100.1/24"]},
            f"{LABEL}: networks[0]: '198.51.100.1/24' has host bits set",
            id="cidr-host-bits",
        ),
        pytest.param(
            {"org_number": "974760674"},
            f"{LABEL}: org_number: '974760674' fails the mod-11 check digit",
            id="org-number",
        ),
        pytest.param(
            {"contacts": [{"name": "Per", "email": "per@bydel-test.no", "roles": ["boss"]}]},
            f"{LABEL}: contacts[0]: roles: 'boss' is not one of: security, technical",
            id="unknown-role",
        ),
        pytest.param(
            {"sector": "hospital"},
            f"{LABEL}: sector: 'hospital' is not one of: health_region, hospital_trust",
            id="unknown-sector",
        ),
        pytest.param(
            {"short_name": "K" * 41},
            f"{LABEL}: short_name: is 41 characters long; at most 40 are allowed",
            id="overlong-field",
        ),
        pytest.param(
            {"contacts": [{"name": "Per", "email": "per@bydel-test.no", "pgp_key": "mQENBF..."}]},
            f"{LABEL}: contacts[0].pgp_key: is not an ASCII-armoured OpenPGP public key",
            id="non-armoured-key",
        ),
        pytest.param(
            {"contacts": [{"name": "Per", "email": "per@x.no", "pgp_key": fake_key("expired")}]},
            f"{LABEL}: contacts[0].pgp_key: key ABC expired on 2020-01-01",
            id="expired-key",
        ),
        pytest.param(
            {"asns": ["AS-1"]},
            f"{LABEL}: asns[0]: 'AS-1' is not an AS number",
            id="bad-asn",
        ),
        pytest.param(
            {"homepage": "https://x"},
            f"{LABEL}: homepage: is not a field of an organisation",
            id="unknown-field",
        ),
    ],
)
def test_bad_input_names_record_and_field_and_applies_nothing(
    session: Session,
    clock: FixedClock,
    registry: dict[str, dict[str, Any]],
    overrides: dict[str, Any],
    expected: str,
) -> None:
    def inspector(armoured: str) -> KeyInfo:
        if "expired" in armoured:
            return fake_inspector(armoured)
        return inspect_public_key(armoured, now=clock.now())  # refuses non-armour before gpg

    good = minimal(name="Først", org_number=org_number(940), networks=["203.0.113.0/24"])
    problems = refused(session, clock, [good, minimal(**overrides)], inspector=inspector)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_problems_of_every_record_are_reported_together(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    records = [
        minimal(networks=["bad"]),
        minimal(name="Two", org_number="123", sector="nope"),
        minimal(name="Three", org_number=org_number(950), parent="Nobody"),
        "not an object",
    ]
    problems = refused(session, clock, records)
    labels = [p.split(": ")[0] for p in problems]
    assert labels == [
        "f.json record 1 (name 'Bydel Test kommune')",
        "f.json record 2 (name 'Two')",
        "f.json record 2 (name 'Two')",
        "f.json record 3 (name 'Three')",
        "f.json record 4",
    ]


def test_a_duplicate_in_the_file_names_both_records(session: Session, clock: FixedClock) -> None:
    records = [
        minimal(),
        minimal(name="Other name"),  # the same org number
        minimal(name="Bydel Test kommune", org_number=org_number(960)),  # the same name
    ]
    problems = refused(session, clock, records)
    assert problems == [
        f"f.json record 2 (name 'Other name'): org_number: {org_number(900)} is also given in "
        "f.json record 1 (name 'Bydel Test kommune')",
        "f.json record 3 (name 'Bydel Test kommune'): name: 'Bydel Test kommune' is also given "
        "in f.json record 1 (name 'Bydel Test kommune')",
    ]


def test_a_duplicate_of_an_organisation_in_the_registry_is_refused(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    trust = registry["trust"]
    # Matched by its org number to the region, but taking the trust's name.
    record = {**minimal(), "org_number": registry["region"]["org_number"], "name": trust["name"]}
    problems = refused(session, clock, [record])
    assert problems == [
        f"f.json record 1 (name '=Sykehuset Test HF'): name: an organisation named "
        f"'=Sykehuset Test HF' exists already (id {trust['id']}, org number {trust['org_number']})"
    ]


def test_two_records_for_one_organisation_are_refused(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    region = registry["region"]
    records = [
        {"name": "Helse Test RHF", "sector": "health_region"},  # by name
        {"name": "Helse Omdøpt RHF", "org_number": region["org_number"], "sector": "other"},
    ]
    problems = refused(session, clock, records)
    assert problems == [
        f"f.json record 2 (name 'Helse Omdøpt RHF'): is organisation {region['id']} "
        "('Helse Test RHF'), as f.json record 1 (name 'Helse Test RHF') is; an organisation may "
        "appear once in a file"
    ]


def test_a_csv_with_a_wrong_header_applies_nothing(
    session: Session, clock: FixedClock, registry: dict[str, dict[str, Any]]
) -> None:
    exported = export_registry(session, CERT, RegistryFormat.CSV)
    broken = exported.replace(b"org_number", b"orgnr", 1)
    (problem,) = refused(session, clock, broken, fmt=RegistryFormat.CSV, source="r.csv")
    assert problem.startswith(
        "r.csv line 1: header: unknown column(s) 'orgnr'; missing column(s) org_number"
    )


def test_invalid_utf8_applies_nothing(session: Session, clock: FixedClock) -> None:
    data = json.dumps([minimal()]).encode().replace(b"Bydel", b"B\xf8del")
    (problem,) = refused(session, clock, data)
    assert problem.startswith("f.json: is not UTF-8: byte 12 (line 1) is 0xf8")


def test_a_failure_half_way_leaves_nothing_behind(
    session: Session,
    clock: FixedClock,
    registry: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    real = service.save_organisation

    def fails_second_time(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs["record"])
        if len(calls) == 2:
            raise ValidationFailed.one(kwargs["record"], "", "the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_io, "save_organisation", fails_second_time)
    before = state(session)
    with pytest.raises(ValidationFailed):
        run(session, clock, [minimal(), minimal(name="Two", org_number=org_number(970))])
    assert len(calls) == 2
    assert state(session) == before


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "error"),
    [
        (Principal("ro@cert.test", Role.CERT_READONLY), PermissionDenied),
        (member(1, Role.MEMBER_ADMIN), PermissionDenied),
        (member(1, Role.MEMBER_USER), PermissionDenied),
    ],
)
def test_only_cert_staff_who_edit_may_import(
    session: Session, clock: FixedClock, principal: Principal, error: type[Exception]
) -> None:
    before = state(session)
    with pytest.raises(error):
        run(session, clock, [minimal()], principal=principal)
    with pytest.raises(error):
        run(session, clock, [minimal()], principal=principal, dry_run=True)
    assert state(session) == before


def test_members_may_not_export_and_read_only_cert_staff_may(
    session: Session, registry: dict[str, dict[str, Any]]
) -> None:
    for role in (Role.MEMBER_ADMIN, Role.MEMBER_USER):
        with pytest.raises((PermissionDenied, NotFound)):
            export_registry(session, member(registry["trust"]["id"], role), JSON)
    readonly = Principal("ro@cert.test", Role.CERT_READONLY)
    assert export_registry(session, readonly, JSON) == export_registry(session, CERT_ADMIN, JSON)
