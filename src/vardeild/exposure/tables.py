"""The exposure inventory's SQLAlchemy mapping: exposures, findings, their history and scan runs.

Members are referred to by id only (no foreign key into the registry's tables), as notices do:
a domain uses the registry through its service.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime


class ExposureRow(Base):
    """An Internet-facing service (or host, port 0) of a member, as the sources saw it."""

    __tablename__ = "exposures"
    __table_args__ = (UniqueConstraint("member_id", "address", "port", "transport"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, index=True, comment="The member it belongs to")
    address: Mapped[str] = mapped_column(String(253), comment="IP address, or host name")
    port: Mapped[int] = mapped_column(Integer, comment="Port; 0 for the host itself")
    transport: Mapped[str] = mapped_column(String(8), comment="exposure.model.Transport")
    service: Mapped[str] = mapped_column(String(100), default="", comment="Service name")
    product: Mapped[str] = mapped_column(String(200), default="", comment="Product seen")
    version: Mapped[str] = mapped_column(String(100), default="", comment="Version seen")
    cpe: Mapped[str] = mapped_column(String(300), default="", comment="CPE the source gave")
    banner: Mapped[str] = mapped_column(Text, default="", comment="Banner or extra info")
    hostname: Mapped[str] = mapped_column(String(253), default="", comment="Host name seen")
    tls_issuer: Mapped[str] = mapped_column(Text, default="", comment="TLS certificate issuer")
    tls_subject: Mapped[str] = mapped_column(Text, default="", comment="TLS certificate subject")
    tls_not_after: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="TLS certificate expiry"
    )
    tls_weak_protocols: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="Weak TLS/SSL protocol versions offered"
    )
    tls_weak_ciphers: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="Weak cipher suites offered"
    )
    http_title: Mapped[str] = mapped_column(Text, default="", comment="HTTP page title")
    sources: Mapped[list[str]] = mapped_column(
        JSON, default=list, comment="exposure.model.Source values that saw it"
    )
    present: Mapped[bool] = mapped_column(
        Boolean, default=True, comment="False once a complete rescan no longer saw it"
    )
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="First seen by any source")
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last seen by any source")


class FindingRow(Base):
    """A weakness (a CVE) of an exposure, with its priority and status."""

    __tablename__ = "exposure_findings"
    __table_args__ = (UniqueConstraint("exposure_id", "cve_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exposure_id: Mapped[int] = mapped_column(
        ForeignKey("exposures.id", ondelete="CASCADE"), index=True, comment="The exposure"
    )
    member_id: Mapped[int] = mapped_column(Integer, index=True, comment="The member (as exposure)")
    cve_id: Mapped[str] = mapped_column(String(32), index=True, comment="CVE id")
    reason: Mapped[str] = mapped_column(Text, default="", comment="Why it matched, or who said so")
    summary: Mapped[str] = mapped_column(Text, default="", comment="What the CVE is")
    cvss_score: Mapped[float | None] = mapped_column(Float, comment="Best CVSS base score")
    cvss_version: Mapped[str | None] = mapped_column(String(8), comment="Its CVSS version")
    kev: Mapped[bool] = mapped_column(Boolean, default=False, comment="In CISA KEV")
    kev_ransomware: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="KEV: known ransomware use"
    )
    kev_due_date: Mapped[date | None] = mapped_column(Date, comment="KEV due date")
    epss: Mapped[float | None] = mapped_column(Float, comment="FIRST EPSS probability")
    epss_percentile: Mapped[float | None] = mapped_column(Float, comment="FIRST EPSS percentile")
    priority: Mapped[str] = mapped_column(String(4), index=True, comment="P1..P4")
    priority_basis: Mapped[str] = mapped_column(Text, default="", comment="Why this priority")
    due_on: Mapped[date] = mapped_column(Date, comment="Fix by, per SLA")
    status: Mapped[str] = mapped_column(
        String(16), index=True, comment="exposure.model.FindingStatus"
    )
    status_reason: Mapped[str] = mapped_column(Text, default="", comment="Why the status")
    accepted_until: Mapped[date | None] = mapped_column(Date, comment="Acceptance expires")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="First found")
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, comment="Last found")
    closed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it left open (fixed, accepted, false positive); None if open"
    )
    notice_id: Mapped[int | None] = mapped_column(Integer, comment="Notice queued for it")


class FindingHistoryRow(Base):
    """One change of a finding: status or priority, who, when, why."""

    __tablename__ = "exposure_finding_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(
        ForeignKey("exposure_findings.id", ondelete="CASCADE"), index=True, comment="The finding"
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When")
    actor: Mapped[str] = mapped_column(String(200), comment="Who or what")
    event: Mapped[str] = mapped_column(
        String(32), comment="found, fixed, reopened, accepted, false_positive, expired, priority"
    )
    from_status: Mapped[str | None] = mapped_column(String(16), comment="Status before")
    to_status: Mapped[str] = mapped_column(String(16), comment="Status after")
    note: Mapped[str] = mapped_column(Text, default="", comment="Reason or detail")


class ScanRunRow(Base):
    """One scan run or import: what it covered, what it brought, what it refused."""

    __tablename__ = "exposure_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(Integer, index=True, comment="The member")
    source: Mapped[str] = mapped_column(String(16), comment="exposure.model.Source")
    name: Mapped[str] = mapped_column(Text, comment="File name, or the scan's targets")
    command: Mapped[list[str]] = mapped_column(JSON, default=list, comment="nmap argv, for scans")
    complete: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="Covers its scope completely: unseen exposures close"
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Started")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Finished")
    status: Mapped[str] = mapped_column(String(16), comment="running, done, failed, refused")
    hosts: Mapped[int] = mapped_column(Integer, default=0, comment="Hosts up")
    services: Mapped[int] = mapped_column(Integer, default=0, comment="Services stored")
    refused: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, comment="Records refused: record and reason"
    )
    error: Mapped[str] = mapped_column(Text, default="", comment="Why it failed")
    actor: Mapped[str] = mapped_column(String(200), comment="Who started it")
