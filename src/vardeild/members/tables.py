"""The member registry's SQLAlchemy mapping."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vardeild.db.base import Base, UTCDateTime


class OrganisationRow(Base):
    """An organisation in the constituency."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, comment="Legal or common name")
    short_name: Mapped[str] = mapped_column(String(40), default="", comment="Short label")
    org_number: Mapped[str | None] = mapped_column(
        String(9), unique=True, comment="Norwegian organisation number, 9 digits, mod-11 checked"
    )
    sector: Mapped[str] = mapped_column(String(32), index=True, comment="members.model.Sector")
    criticality: Mapped[str] = mapped_column(String(16), comment="members.model.Criticality")
    state: Mapped[str] = mapped_column(
        String(16), index=True, comment="Membership state (members.model.MembershipState)"
    )
    applied_on: Mapped[date | None] = mapped_column(Date, comment="Applied to the programme")
    joined_on: Mapped[date | None] = mapped_column(Date, comment="Became an active member")
    suspended_on: Mapped[date | None] = mapped_column(Date, comment="Suspended")
    left_on: Mapped[date | None] = mapped_column(Date, comment="Left the programme")
    services: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="Programme services taken part in"
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"),
        index=True,
        comment="Parent organisation (a health region for its trusts)",
    )
    notes: Mapped[str] = mapped_column(Text, default="", comment="CERT-internal notes")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When first registered")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When last changed")

    parent: Mapped[OrganisationRow | None] = relationship(
        remote_side="OrganisationRow.id", back_populates="children"
    )
    children: Mapped[list[OrganisationRow]] = relationship(back_populates="parent")
    networks: Mapped[list[NetworkRow]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="NetworkRow.cidr"
    )
    asns: Mapped[list[AsnRow]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="AsnRow.asn"
    )
    domains: Mapped[list[DomainRow]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="DomainRow.name"
    )
    contacts: Mapped[list[ContactRow]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="ContactRow.email"
    )


class NetworkRow(Base):
    """An IPv4 or IPv6 network an organisation owns."""

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("organisation_id", "cidr"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, comment="Owner"
    )
    cidr: Mapped[str] = mapped_column(String(43), index=True, comment="Canonical CIDR")
    family: Mapped[int] = mapped_column(SmallInteger, comment="4 or 6")
    exposure: Mapped[str] = mapped_column(String(16), comment="internet or internal")
    description: Mapped[str] = mapped_column(String(200), default="", comment="What it is")

    organisation: Mapped[OrganisationRow] = relationship(back_populates="networks")


class AsnRow(Base):
    """An autonomous system an organisation operates."""

    __tablename__ = "asns"
    __table_args__ = (UniqueConstraint("organisation_id", "asn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, comment="Owner"
    )
    asn: Mapped[int] = mapped_column(BigInteger, index=True, comment="AS number")
    exposure: Mapped[str] = mapped_column(String(16), comment="internet or internal")
    description: Mapped[str] = mapped_column(String(200), default="", comment="What it is")

    organisation: Mapped[OrganisationRow] = relationship(back_populates="asns")


class DomainRow(Base):
    """A domain an organisation owns; its subdomains are implied."""

    __tablename__ = "domains"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, comment="Owner"
    )
    name: Mapped[str] = mapped_column(String(253), index=True, comment="Lower-case IDNA form")
    exposure: Mapped[str] = mapped_column(String(16), comment="internet or internal")
    description: Mapped[str] = mapped_column(String(200), default="", comment="What it is")

    organisation: Mapped[OrganisationRow] = relationship(back_populates="domains")


class ContactRow(Base):
    """A person the CERT can reach at an organisation."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, comment="Employer"
    )
    name: Mapped[str] = mapped_column(String(200), comment="Full name")
    email: Mapped[str] = mapped_column(String(254), comment="E-mail address, identifies it")
    phone: Mapped[str] = mapped_column(String(40), default="", comment="Phone number")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list, comment="ContactRole values")
    language: Mapped[str] = mapped_column(String(2), comment="nb or en")
    pgp_key: Mapped[str] = mapped_column(Text, default="", comment="Armoured public key as given")
    pgp_fingerprint: Mapped[str | None] = mapped_column(String(64), comment="Derived from pgp_key")
    pgp_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Derived from pgp_key: when it stops being usable to encrypt"
    )

    organisation: Mapped[OrganisationRow] = relationship(back_populates="contacts")


class ChangeRequestRow(Base):
    """A change a member proposed to its own registry entry, waiting for the CERT."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True, comment="Whose entry"
    )
    status: Mapped[str] = mapped_column(String(16), index=True, comment="pending/approved/...")
    changes: Mapped[dict[str, object]] = mapped_column(JSON, comment="The proposed changes")
    comment: Mapped[str] = mapped_column(Text, default="", comment="Why, from the proposer")
    proposed_by: Mapped[str] = mapped_column(String(200), comment="Actor who proposed")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When proposed")
    decided_by: Mapped[str | None] = mapped_column(String(200), comment="Analyst who decided")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="When decided")
    decision_reason: Mapped[str] = mapped_column(Text, default="", comment="Why, from the CERT")
    applied: Mapped[bool] = mapped_column(Boolean, default=False, comment="Changes applied")


class RegistryRevisionRow(Base):
    """A counter bumped by every change to the registry, in the change's own transaction.

    Processes that keep the attribution index in memory (the web app, pipeline workers on other
    machines) compare it to know when to rebuild; timestamps cannot serve, as two changes may
    share one.
    """

    __tablename__ = "registry_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Always 1")
    revision: Mapped[int] = mapped_column(BigInteger, comment="Bumped on every registry change")
