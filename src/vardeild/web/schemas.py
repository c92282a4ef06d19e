"""The shapes the API takes and answers with, so the OpenAPI document is typed.

Request bodies are typed loosely on purpose: their values are checked by the domain
(`vardeild.members.model.parse_organisation` and friends), which reports every problem with the
record and field it concerns. Here they only refuse unknown fields and wrong JSON types, and
describe the allowed values so the document says what the domain will accept.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from vardeild.access.model import Role
from vardeild.members.changes import ChangeStatus
from vardeild.members.model import (
    ContactRole,
    Criticality,
    Exposure,
    Language,
    MembershipState,
    ProgrammeService,
    Sector,
)

T = TypeVar("T")


def _one_of(kind: type[StrEnum]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": [member.value for member in kind]})


# Values the domain checks (case-insensitively), documented as the enums they must match.
SectorText = Annotated[str, _one_of(Sector)]
CriticalityText = Annotated[str, _one_of(Criticality)]
StateText = Annotated[str, _one_of(MembershipState)]
ServiceText = Annotated[str, _one_of(ProgrammeService)]
ExposureText = Annotated[str, _one_of(Exposure)]
ContactRoleText = Annotated[str, _one_of(ContactRole)]
LanguageText = Annotated[str, _one_of(Language)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int


class Problem(BaseModel):
    """One problem with one field of one record."""

    record: str
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: its kind, what to do next, and for invalid input each problem."""

    error: str = Field(examples=["validation_failed"])
    message: str
    problems: list[Problem] = []


# --- organisations: what comes in ---------------------------------------------------------


class NetworkIn(_Body):
    """A network: canonical CIDR, host bits unset. A bare address means one host."""

    cidr: str = Field(examples=["192.0.2.0/24"])
    exposure: ExposureText | None = None
    description: str | None = None


class AsnIn(_Body):
    """An autonomous system, as 64500 or "AS64500"."""

    asn: int | str = Field(examples=[64500])
    exposure: ExposureText | None = None
    description: str | None = None


class DomainIn(_Body):
    """A domain; its subdomains are implied."""

    name: str = Field(examples=["sykehuset.example.no"])
    exposure: ExposureText | None = None
    description: str | None = None


class ContactPatch(_Body):
    """Fields of a contact to change; those left out stay as they are."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    roles: list[ContactRoleText] | None = None
    language: LanguageText | None = None
    pgp_key: str | None = Field(default=None, description="An ASCII-armoured OpenPGP public key.")


class ContactIn(ContactPatch):
    """A person the CERT can reach; the e-mail address identifies the contact."""

    name: str = Field(examples=["Kari Nordmann"])
    email: str = Field(examples=["soc@sykehuset.example.no"])


class MembershipIn(_Body):
    """Where the organisation stands in the programme, with the dates it moved through."""

    state: StateText | None = None
    applied_on: date | None = None
    joined_on: date | None = None
    suspended_on: date | None = None
    left_on: date | None = None


class OrganisationPatch(_Body):
    """Top-level fields of an organisation to change; a list given replaces the list held."""

    name: str | None = None
    short_name: str | None = None
    org_number: str | None = Field(
        default=None, description="Norwegian organisation number, 9 digits.", examples=["974760673"]
    )
    sector: SectorText | None = None
    criticality: CriticalityText | None = None
    membership: MembershipIn | None = None
    state: StateText | None = Field(
        default=None, description="Shorthand for membership.state when no dates are given."
    )
    services: list[ServiceText] | None = None
    parent: str | None = Field(
        default=None, description="The parent organisation's org number, or its name."
    )
    notes: str | None = Field(default=None, description="CERT-internal notes.")
    networks: list[NetworkIn | str] | None = None
    asns: list[AsnIn | int | str] | None = None
    domains: list[DomainIn | str] | None = None
    contacts: list[ContactIn] | None = None


class OrganisationIn(OrganisationPatch):
    """A new organisation, in the registry's interchange form (as import files write it)."""

    name: str = Field(examples=["Helse Nord-Testland HF"])
    sector: SectorText


# --- organisations: what goes out ---------------------------------------------------------


class NetworkOut(_Out):
    """A network the organisation owns."""

    id: int
    cidr: str
    family: int = Field(description="4 or 6")
    exposure: Exposure
    description: str


class AsnOut(_Out):
    """An autonomous system the organisation operates."""

    id: int
    asn: int
    exposure: Exposure
    description: str


class DomainOut(_Out):
    """A domain the organisation owns."""

    id: int
    name: str
    exposure: Exposure
    description: str


class ContactOut(_Out):
    """A contact, with what was derived from its OpenPGP key."""

    id: int
    name: str
    email: str
    phone: str
    roles: list[ContactRole]
    language: Language
    pgp_key: str
    pgp_fingerprint: str | None
    pgp_expires_at: datetime | None


class MembershipOut(_Out):
    """The organisation's state in the programme."""

    state: MembershipState
    applied_on: date | None
    joined_on: date | None
    suspended_on: date | None
    left_on: date | None


class OrganisationOut(_Out):
    """An organisation as the registry holds it (`vardeild.members.snapshots.snapshot`)."""

    id: int
    name: str
    short_name: str
    org_number: str | None
    sector: Sector
    criticality: Criticality
    membership: MembershipOut
    services: list[ProgrammeService]
    parent: str | None = Field(description="The parent's org number, or its name.")
    parent_id: int | None
    children: list[int]
    notes: str | None = Field(description="CERT-internal notes; null for member tokens.")
    networks: list[NetworkOut]
    asns: list[AsnOut]
    domains: list[DomainOut]
    contacts: list[ContactOut]
    created_at: datetime
    updated_at: datetime


# --- change requests ----------------------------------------------------------------------


class ChangeOperations(_Body):
    """What to add, remove and (contacts only) update in one list of the entry."""

    add: list[Any] | None = Field(
        default=None, description="Entries as the organisation's lists take them."
    )
    remove: list[Any] | None = Field(
        default=None, description="Entries, or just their key (CIDR, ASN, domain, e-mail)."
    )
    update: list[dict[str, Any]] | None = Field(
        default=None, description="Contacts only: the e-mail and the fields to change."
    )


class ChangeRequestIn(_Body):
    """A proposed change to one's own entry: networks, asns, domains and contacts."""

    changes: dict[str, ChangeOperations] = Field(
        examples=[
            {
                "networks": {"add": ["192.0.2.0/24"], "remove": ["198.51.100.0/24"]},
                "contacts": {"update": [{"email": "soc@example.no", "phone": "+47 22 00 00 00"}]},
            }
        ]
    )
    comment: str = ""


class ApproveIn(_Body):
    """An approval, optionally with a note for the member."""

    reason: str = ""


class WithdrawIn(_Body):
    """A withdrawal, optionally saying why (the CERT reads it)."""

    reason: str = ""


class RejectIn(_Body):
    """A rejection: the member reads the reason."""

    reason: str = Field(description="Why it is rejected; required.")


class ChangeRequestOut(_Out):
    """A change request and where it stands."""

    id: int
    organisation_id: int
    status: ChangeStatus
    changes: dict[str, Any]
    comment: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str


# --- audit, tokens, who am I --------------------------------------------------------------


class AuditEntryOut(_Out):
    """One recorded change: who, when, what, and the state before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    organisation_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str


class TokenIn(_Body):
    """A token to issue. Member tokens are scoped to one organisation (a member admin's own
    by default); CERT tokens to none."""

    name: str = Field(examples=["SIEM-integrasjon"])
    role: Role
    organisation_id: int | None = None
    expires_at: AwareDatetime | None = Field(
        default=None, description="When it stops working; with a time zone."
    )


class TokenOut(_Out):
    """A token as listed: never its secret."""

    id: int
    name: str
    prefix: str = Field(description="The secret's first characters, to recognise it.")
    role: Role
    organisation_id: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    """A newly issued token. The secret is shown this once and cannot be retrieved again."""

    secret: str


class MeOut(BaseModel):
    """Who the token stands for and what it may do."""

    actor: str
    role: Role
    organisation_id: int | None
    is_cert: bool
    actions: list[str] = Field(description="What the token may do (on its own organisation).")


# --- whois and conflicts ------------------------------------------------------------------


class OrganisationRef(BaseModel):
    """An organisation named in an answer."""

    id: int
    name: str
    short_name: str
    org_number: str | None


class WhoisOut(BaseModel):
    """Who owns a value; `member` is false when no member (visible to the caller) does."""

    value: str
    kind: str | None
    matched: str | None
    organisations: list[OrganisationRef]
    member: bool


class ConflictOut(BaseModel):
    """Two organisations claiming overlapping space, and which claim wins."""

    kind: str
    identical: bool
    outer: str
    outer_organisation: OrganisationRef | None
    inner: str
    inner_organisation: OrganisationRef | None
    resolution: str


class HealthOut(BaseModel):
    """Whether the service and its database answer."""

    status: str
    database: str
