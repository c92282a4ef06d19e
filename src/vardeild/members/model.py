"""The member registry's vocabulary and rules: enums, validated value objects, no I/O.

`OrganisationSpec` is the one shape an organisation takes on its way in, from the CLI, the API,
an import file or an approved change request; `parse_organisation` turns a plain mapping into
one, collecting every problem with the record and field it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.core.identifiers import (
    normalise_domain,
    normalise_email,
    parse_asn,
    parse_network,
    validate_org_number,
)
from vardeild.core.text import clean_text

NAME_MAX = 200
SHORT_NAME_MAX = 40
NOTES_MAX = 4000
PHONE_MAX = 40
DESCRIPTION_MAX = 200


class Sector(StrEnum):
    """The kinds of organisation in the health and care sector's protection programme."""

    HEALTH_REGION = "health_region"
    HOSPITAL_TRUST = "hospital_trust"
    MUNICIPALITY = "municipality"
    GP_CLINIC = "gp_clinic"
    DENTAL = "dental"
    PHARMACY = "pharmacy"
    LABORATORY = "laboratory"
    VENDOR = "vendor"
    OTHER = "other"


class Criticality(StrEnum):
    """How much the sector depends on the organisation; raises the severity of its alerts."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class MembershipState(StrEnum):
    """Where the organisation stands in the protection programme."""

    APPLIED = "applied"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LEFT = "left"


class ProgrammeService(StrEnum):
    """The CERT services an organisation takes part in."""

    MONITORING = "monitoring"
    VULNERABILITY_OVERVIEW = "vulnerability_overview"
    PENETRATION_TESTING = "penetration_testing"
    ADVISORIES = "advisories"


class ContactRole(StrEnum):
    """Why the CERT would reach this person."""

    SECURITY = "security"
    TECHNICAL = "technical"
    ABUSE = "abuse"
    MANAGEMENT = "management"
    ON_CALL = "on_call"


class Language(StrEnum):
    """The languages members read notices in."""

    NB = "nb"
    EN = "en"


class Exposure(StrEnum):
    """Whether a network, ASN or domain is reachable from the Internet or only inside the
    sector network; the vulnerability overview scans only what is Internet-facing."""

    INTERNET = "internet"
    INTERNAL = "internal"


@dataclass(frozen=True)
class NetworkSpec:
    """A network an organisation owns, canonical CIDR."""

    cidr: str
    exposure: Exposure = Exposure.INTERNET
    description: str = ""


@dataclass(frozen=True)
class AsnSpec:
    """An autonomous system an organisation operates."""

    asn: int
    exposure: Exposure = Exposure.INTERNET
    description: str = ""


@dataclass(frozen=True)
class DomainSpec:
    """A domain an organisation owns; its subdomains are implied."""

    name: str
    exposure: Exposure = Exposure.INTERNET
    description: str = ""


@dataclass(frozen=True)
class ContactSpec:
    """A person the CERT can reach at the organisation. The e-mail address identifies it."""

    name: str
    email: str
    phone: str = ""
    roles: tuple[ContactRole, ...] = ()
    language: Language = Language.NB
    pgp_key: str = ""


@dataclass(frozen=True)
class Membership:
    """The organisation's state in the programme with the dates it moved through."""

    state: MembershipState = MembershipState.APPLIED
    applied_on: date | None = None
    joined_on: date | None = None
    suspended_on: date | None = None
    left_on: date | None = None


@dataclass(frozen=True)
class OrganisationSpec:
    """Everything the registry knows of one organisation, validated and canonical."""

    name: str
    sector: Sector
    org_number: str | None = None
    short_name: str = ""
    criticality: Criticality = Criticality.MEDIUM
    membership: Membership = field(default_factory=Membership)
    services: tuple[ProgrammeService, ...] = ()
    parent: str | None = None  # the parent's org number, or its name where it has none
    notes: str = ""
    networks: tuple[NetworkSpec, ...] = ()
    asns: tuple[AsnSpec, ...] = ()
    domains: tuple[DomainSpec, ...] = ()
    contacts: tuple[ContactSpec, ...] = ()

    @property
    def key(self) -> str:
        """Return what identifies the organisation across imports: org number, else name."""
        return self.org_number or self.name


@dataclass(frozen=True)
class KeyInfo:
    """What is derived from an armoured OpenPGP public key."""

    fingerprint: str
    expires_at: datetime | None
    user_ids: tuple[str, ...]


E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class _Collector:
    """Gathers problems for one record so that all of them are reported at once."""

    def __init__(self, record: str) -> None:
        self.record = record
        self.problems: list[FieldProblem] = []

    def add(self, field_name: str, message: str) -> None:
        self.problems.append(FieldProblem(self.record, field_name, message))

    def text(
        self, data: Mapping[str, Any], key: str, *, max_length: int, required: bool = False
    ) -> str:
        raw = data.get(key)
        if raw is None or raw == "":
            if required:
                self.add(key, "is required")
            return ""
        if not isinstance(raw, str):
            self.add(key, f"must be text, not {type(raw).__name__}")
            return ""
        try:
            value = clean_text(raw, max_length=max_length, multiline=key in {"notes", "pgp_key"})
        except ValueError as exc:
            self.add(key, str(exc))
            return ""
        if required and not value:
            self.add(key, "is required")
        return value

    def enum(self, data: Mapping[str, Any], key: str, kind: type[E], default: E | None) -> E | None:
        raw = data.get(key)
        if raw is None or raw == "":
            if default is None:
                self.add(key, f"is required; one of: {', '.join(m.value for m in kind)}")
            return default
        try:
            return kind(str(raw).strip().lower())
        except ValueError:
            self.add(key, f"{raw!r} is not one of: {', '.join(m.value for m in kind)}")
            return default

    def enum_list(self, data: Mapping[str, Any], key: str, kind: type[E]) -> tuple[E, ...]:
        raw = data.get(key) or []
        if isinstance(raw, str):
            raw = [part for part in raw.replace(",", ";").split(";") if part.strip()]
        if not isinstance(raw, list | tuple):
            self.add(key, "must be a list")
            return ()
        found: list[E] = []
        for item in raw:
            try:
                value = kind(str(item).strip().lower())
            except ValueError:
                self.add(key, f"{item!r} is not one of: {', '.join(m.value for m in kind)}")
                continue
            if value not in found:
                found.append(value)
        return tuple(found)

    def date_value(self, data: Mapping[str, Any], key: str) -> date | None:
        raw = data.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            self.add(key, f"{raw!r} is not a date; write it as YYYY-MM-DD")
            return None


def _items(c: _Collector, data: Mapping[str, Any], key: str) -> list[Any]:
    raw = data.get(key) or []
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(";") if part.strip()]
    if not isinstance(raw, list | tuple):
        c.add(key, "must be a list")
        return []
    return list(raw)


def _scoped(
    c: _Collector, item: Any, key: str, where: str, value_key: str
) -> tuple[Any, Exposure, str]:
    """Split an entry that is a bare value or a mapping {value_key, exposure, description}."""
    if isinstance(item, Mapping):
        value = item.get(value_key)
        exposure = c.enum(item, "exposure", Exposure, Exposure.INTERNET) or Exposure.INTERNET
        description = c.text(item, "description", max_length=DESCRIPTION_MAX)
        if value is None:
            c.add(where, f"needs a {value_key!r}")
        return value, exposure, description
    return item, Exposure.INTERNET, ""


def parse_contact(
    data: Any, record: str, *, problems: list[FieldProblem] | None = None
) -> ContactSpec | None:
    """Return a validated ContactSpec from a mapping; problems are appended (or raised)."""
    c = _Collector(record)
    if not isinstance(data, Mapping):
        c.add("", "a contact must be an object with name and email")
        return _finish(c, None, problems)
    name = c.text(data, "name", max_length=NAME_MAX, required=True)
    email = ""
    raw_email = data.get("email")
    if not isinstance(raw_email, str) or not raw_email.strip():
        c.add("email", "is required")
    else:
        try:
            email = normalise_email(raw_email)
        except ValueError as exc:
            c.add("email", str(exc))
    phone = c.text(data, "phone", max_length=PHONE_MAX)
    if phone and not all(ch.isdigit() or ch in "+ -()" for ch in phone):
        c.add("phone", f"{phone!r} is not a phone number; use digits, spaces and a leading +")
    roles = c.enum_list(data, "roles", ContactRole)
    language = c.enum(data, "language", Language, Language.NB) or Language.NB
    pgp_key = c.text(data, "pgp_key", max_length=200_000)
    spec = ContactSpec(
        name=name, email=email, phone=phone, roles=roles, language=language, pgp_key=pgp_key
    )
    return _finish(c, spec, problems)


def _finish(c: _Collector, value: T, problems: list[FieldProblem] | None) -> T | None:
    if problems is None:
        if c.problems:
            raise ValidationFailed(c.problems)
        return value
    problems.extend(c.problems)
    return None if c.problems else value


def parse_organisation(
    data: Any, record: str, *, problems: list[FieldProblem] | None = None
) -> OrganisationSpec | None:
    """Return a validated OrganisationSpec from a mapping.

    With `problems` given, every problem is appended there and None returned on failure;
    without it, ValidationFailed is raised carrying all of them.
    """
    c = _Collector(record)
    if not isinstance(data, Mapping):
        c.add("", f"an organisation must be an object, not {type(data).__name__}")
        return _finish(c, None, problems)
    known = {
        "name",
        "short_name",
        "org_number",
        "sector",
        "criticality",
        "membership",
        "state",
        "services",
        "parent",
        "notes",
        "networks",
        "asns",
        "domains",
        "contacts",
        "id",
    }
    for extra in sorted(set(data) - known):
        c.add(
            str(extra),
            f"is not a field of an organisation; known fields: {', '.join(sorted(known - {'id'}))}",
        )
    name = c.text(data, "name", max_length=NAME_MAX, required=True)
    short_name = c.text(data, "short_name", max_length=SHORT_NAME_MAX)
    org_number: str | None = None
    raw_number = data.get("org_number")
    if raw_number not in (None, ""):
        try:
            org_number = validate_org_number(str(raw_number))
        except ValueError as exc:
            c.add("org_number", str(exc))
    sector = c.enum(data, "sector", Sector, None)
    criticality = c.enum(data, "criticality", Criticality, Criticality.MEDIUM) or Criticality.MEDIUM
    membership_data = data.get("membership")
    if membership_data is None:
        membership_data = {"state": data["state"]} if data.get("state") else {}
    if not isinstance(membership_data, Mapping):
        c.add("membership", "must be an object with state and dates")
        membership_data = {}
    membership = Membership(
        state=c.enum(membership_data, "state", MembershipState, MembershipState.APPLIED)
        or MembershipState.APPLIED,
        applied_on=c.date_value(membership_data, "applied_on"),
        joined_on=c.date_value(membership_data, "joined_on"),
        suspended_on=c.date_value(membership_data, "suspended_on"),
        left_on=c.date_value(membership_data, "left_on"),
    )
    services = c.enum_list(data, "services", ProgrammeService)
    parent_raw = data.get("parent")
    parent = None
    if parent_raw not in (None, ""):
        parent = str(parent_raw).strip()
        if parent.replace(" ", "").isdigit():
            try:
                parent = validate_org_number(parent)
            except ValueError as exc:
                c.add("parent", str(exc))
    notes = c.text(data, "notes", max_length=NOTES_MAX)

    networks: list[NetworkSpec] = []
    for i, item in enumerate(_items(c, data, "networks")):
        where = f"networks[{i}]"
        value, exposure, description = _scoped(c, item, "networks", where, "cidr")
        if value is None:
            continue
        try:
            cidr = parse_network(str(value)).with_prefixlen
        except ValueError as exc:
            c.add(where, str(exc))
            continue
        if any(n.cidr == cidr for n in networks):
            c.add(where, f"{cidr} is listed twice")
            continue
        networks.append(NetworkSpec(cidr, exposure, description))

    asns: list[AsnSpec] = []
    for i, item in enumerate(_items(c, data, "asns")):
        where = f"asns[{i}]"
        value, exposure, description = _scoped(c, item, "asns", where, "asn")
        if value is None:
            continue
        try:
            asn = parse_asn(value)
        except ValueError as exc:
            c.add(where, str(exc))
            continue
        if any(a.asn == asn for a in asns):
            c.add(where, f"AS{asn} is listed twice")
            continue
        asns.append(AsnSpec(asn, exposure, description))

    domains: list[DomainSpec] = []
    for i, item in enumerate(_items(c, data, "domains")):
        where = f"domains[{i}]"
        value, exposure, description = _scoped(c, item, "domains", where, "name")
        if value is None:
            continue
        try:
            domain = normalise_domain(str(value))
        except ValueError as exc:
            c.add(where, str(exc))
            continue
        if any(d.name == domain for d in domains):
            c.add(where, f"{domain} is listed twice")
            continue
        domains.append(DomainSpec(domain, exposure, description))

    contacts: list[ContactSpec] = []
    raw_contacts = data.get("contacts") or []
    if not isinstance(raw_contacts, list | tuple):
        c.add("contacts", "must be a list of objects")
        raw_contacts = []
    for i, item in enumerate(raw_contacts):
        contact = parse_contact(item, f"{record}: contacts[{i}]", problems=c.problems)
        if contact is None:
            continue
        if any(existing.email == contact.email for existing in contacts):
            c.add(f"contacts[{i}]", f"{contact.email} is listed twice")
            continue
        contacts.append(contact)

    if sector is None:
        return _finish(c, None, problems)
    spec = OrganisationSpec(
        name=name,
        sector=sector,
        org_number=org_number,
        short_name=short_name,
        criticality=criticality,
        membership=membership,
        services=services,
        parent=parent,
        notes=notes,
        networks=tuple(networks),
        asns=tuple(asns),
        domains=tuple(domains),
        contacts=tuple(contacts),
    )
    if parent is not None and parent in (org_number, name):
        c.add("parent", "an organisation cannot be its own parent")
    return _finish(c, spec, problems)


def spec_to_dict(spec: OrganisationSpec) -> dict[str, Any]:
    """Return the interchange form of an organisation (the JSON import/export shape)."""
    m = spec.membership
    return {
        "name": spec.name,
        "short_name": spec.short_name,
        "org_number": spec.org_number,
        "sector": spec.sector.value,
        "criticality": spec.criticality.value,
        "membership": {
            "state": m.state.value,
            "applied_on": m.applied_on.isoformat() if m.applied_on else None,
            "joined_on": m.joined_on.isoformat() if m.joined_on else None,
            "suspended_on": m.suspended_on.isoformat() if m.suspended_on else None,
            "left_on": m.left_on.isoformat() if m.left_on else None,
        },
        "services": [s.value for s in spec.services],
        "parent": spec.parent,
        "notes": spec.notes,
        "networks": [
            {"cidr": n.cidr, "exposure": n.exposure.value, "description": n.description}
            for n in spec.networks
        ],
        "asns": [
            {"asn": a.asn, "exposure": a.exposure.value, "description": a.description}
            for a in spec.asns
        ],
        "domains": [
            {"name": d.name, "exposure": d.exposure.value, "description": d.description}
            for d in spec.domains
        ],
        "contacts": [
            {
                "name": ct.name,
                "email": ct.email,
                "phone": ct.phone,
                "roles": [r.value for r in ct.roles],
                "language": ct.language.value,
                "pgp_key": ct.pgp_key,
            }
            for ct in spec.contacts
        ],
    }
