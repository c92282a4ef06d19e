"""The vulnerability knowledge's SQLAlchemy mapping: CVEs as each origin describes them, their
match criteria, the KEV catalogue, EPSS scores, and where each sync stands.

Reference data of the whole sector, not of a member: no organisation column, and no TLP (the
sources are public). One row per (CVE, origin) so that NVD's analysis and the CVE JSON 5
record stand side by side and the matcher picks (vuln_matcher.py says how), whichever loaded
last.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vardeild.db.base import Base, UTCDateTime

CVE_ID_LENGTH = 32
NAME_LENGTH = 255
VERSION_LENGTH = 128
CPE_LENGTH = 1024


class VulnRecordRow(Base):
    """One CVE as one origin (NVD or the CVE JSON 5 record) describes it."""

    __tablename__ = "vuln_records"

    cve_id: Mapped[str] = mapped_column(
        String(CVE_ID_LENGTH), primary_key=True, comment="CVE-YYYY-N"
    )
    origin: Mapped[str] = mapped_column(
        String(8), primary_key=True, comment="nvd (NVD API 2.0) or cve5 (CVE JSON 5 record)"
    )
    state: Mapped[str] = mapped_column(String(16), comment="PUBLISHED or REJECTED")
    published: Mapped[str | None] = mapped_column(String(40), comment="As the record gives it")
    last_modified: Mapped[str | None] = mapped_column(
        String(40), comment="As the record gives it (NVD lastModified, CVE 5 dateUpdated)"
    )
    description: Mapped[str] = mapped_column(Text, comment="English description, clipped")
    cvss_score: Mapped[float | None] = mapped_column(Float, comment="Best CVSS base score")
    cvss_version: Mapped[str | None] = mapped_column(String(8), comment="4.0, 3.1, 3.0 or 2.0")
    cvss_vector: Mapped[str | None] = mapped_column(String(256), comment="Its vector string")
    digest: Mapped[str] = mapped_column(
        String(64), comment="SHA-256 of what was read: a reload of the same record is a no-op"
    )
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it last changed here")


class VulnCriterionRow(Base):
    """One cpeMatch (or CVE JSON 5 affected version entry) of a CVE record."""

    __tablename__ = "vuln_criteria"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cve_id", "origin"],
            ["vuln_records.cve_id", "vuln_records.origin"],
            ondelete="CASCADE",
        ),
        Index("ix_vuln_criteria_record", "cve_id", "origin"),
        Index("ix_vuln_criteria_product", "vendor", "product"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cve_id: Mapped[str] = mapped_column(String(CVE_ID_LENGTH), comment="The CVE")
    origin: Mapped[str] = mapped_column(String(8), comment="Which record of the CVE")
    criteria: Mapped[str] = mapped_column(String(CPE_LENGTH), comment="CPE 2.3 criteria")
    part: Mapped[str] = mapped_column(String(1), comment="a, o, h or * (unknown)")
    vendor: Mapped[str] = mapped_column(String(NAME_LENGTH), comment="CPE vendor, or *")
    product: Mapped[str] = mapped_column(String(NAME_LENGTH), comment="CPE product")
    vulnerable: Mapped[bool] = mapped_column(Boolean, comment="false: a platform condition only")
    version_start: Mapped[str | None] = mapped_column(String(VERSION_LENGTH), comment="Range start")
    start_including: Mapped[bool] = mapped_column(Boolean, comment="Start included?")
    version_end: Mapped[str | None] = mapped_column(String(VERSION_LENGTH), comment="Range end")
    end_including: Mapped[bool] = mapped_column(Boolean, comment="End included?")
    configuration: Mapped[int] = mapped_column(Integer, comment="Configuration index")
    node: Mapped[int] = mapped_column(Integer, comment="Node index in the configuration")
    location: Mapped[str] = mapped_column(
        String(200), comment="Its place in the record, e.g. configurations[0].nodes[1].cpeMatch[3]"
    )
    conditions: Mapped[str | None] = mapped_column(
        Text, comment="The AND configuration's other parts (a platform), not checked"
    )


class KevRow(Base):
    """An entry of CISA's Known Exploited Vulnerabilities catalogue."""

    __tablename__ = "vuln_kev"

    cve_id: Mapped[str] = mapped_column(String(CVE_ID_LENGTH), primary_key=True, comment="CVE id")
    vendor_project: Mapped[str] = mapped_column(String(NAME_LENGTH), comment="vendorProject")
    product: Mapped[str] = mapped_column(String(NAME_LENGTH), comment="product")
    name: Mapped[str] = mapped_column(String(512), comment="vulnerabilityName")
    date_added: Mapped[date | None] = mapped_column(Date, comment="dateAdded")
    due_date: Mapped[date | None] = mapped_column(Date, comment="dueDate (US federal agencies)")
    ransomware: Mapped[bool] = mapped_column(
        Boolean, comment='knownRansomwareCampaignUse == "Known"'
    )
    required_action: Mapped[str] = mapped_column(Text, comment="requiredAction")
    short_description: Mapped[str] = mapped_column(Text, comment="shortDescription")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it last changed here")


class EpssRow(Base):
    """FIRST's EPSS score of a CVE, from the latest daily file loaded."""

    __tablename__ = "vuln_epss"

    cve_id: Mapped[str] = mapped_column(String(CVE_ID_LENGTH), primary_key=True, comment="CVE id")
    epss: Mapped[float] = mapped_column(Float, comment="Probability of exploitation in 30 days")
    percentile: Mapped[float] = mapped_column(Float, comment="Its percentile among all CVEs")
    score_date: Mapped[date | None] = mapped_column(Date, comment="score_date of the file")
    model_version: Mapped[str | None] = mapped_column(String(32), comment="model_version")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it last changed here")


class VulnSyncRow(Base):
    """Where the sync of one source (nvd, kev, epss) stands."""

    __tablename__ = "vuln_sync_state"

    source: Mapped[str] = mapped_column(String(16), primary_key=True, comment="nvd, kev or epss")
    cursor: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="NVD: the end of the last lastModified window fetched whole"
    )
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When it last succeeded")
    detail: Mapped[str] = mapped_column(String(512), comment="What the last sync brought")
