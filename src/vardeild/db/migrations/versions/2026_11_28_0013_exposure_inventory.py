"""exposure inventory: exposures, findings, their history, scan runs

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-28 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposure_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member"),
        sa.Column("source", sa.String(length=16), nullable=False, comment="exposure.model.Source"),
        sa.Column("name", sa.Text(), nullable=False, comment="File name, or the scan's targets"),
        sa.Column("command", sa.JSON(), nullable=False, comment="nmap argv, for scans"),
        sa.Column(
            "complete",
            sa.Boolean(),
            nullable=False,
            comment="Covers its scope completely: unseen exposures close",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, comment="Started"),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True, comment="Finished"),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="running, done, failed, refused"
        ),
        sa.Column("hosts", sa.Integer(), nullable=False, comment="Hosts up"),
        sa.Column("services", sa.Integer(), nullable=False, comment="Services stored"),
        sa.Column(
            "refused", sa.JSON(), nullable=False, comment="Records refused: record and reason"
        ),
        sa.Column("error", sa.Text(), nullable=False, comment="Why it failed"),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="Who started it"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_scans")),
    )
    with op.batch_alter_table("exposure_scans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exposure_scans_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member it belongs to"),
        sa.Column(
            "address", sa.String(length=253), nullable=False, comment="IP address, or host name"
        ),
        sa.Column("port", sa.Integer(), nullable=False, comment="Port; 0 for the host itself"),
        sa.Column(
            "transport", sa.String(length=8), nullable=False, comment="exposure.model.Transport"
        ),
        sa.Column("service", sa.String(length=100), nullable=False, comment="Service name"),
        sa.Column("product", sa.String(length=200), nullable=False, comment="Product seen"),
        sa.Column("version", sa.String(length=100), nullable=False, comment="Version seen"),
        sa.Column("cpe", sa.String(length=300), nullable=False, comment="CPE the source gave"),
        sa.Column("banner", sa.Text(), nullable=False, comment="Banner or extra info"),
        sa.Column("hostname", sa.String(length=253), nullable=False, comment="Host name seen"),
        sa.Column("tls_issuer", sa.Text(), nullable=False, comment="TLS certificate issuer"),
        sa.Column("tls_subject", sa.Text(), nullable=False, comment="TLS certificate subject"),
        sa.Column(
            "tls_not_after",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="TLS certificate expiry",
        ),
        sa.Column(
            "tls_weak_protocols",
            sa.JSON(),
            nullable=False,
            comment="Weak TLS/SSL protocol versions offered",
        ),
        sa.Column(
            "tls_weak_ciphers", sa.JSON(), nullable=False, comment="Weak cipher suites offered"
        ),
        sa.Column("http_title", sa.Text(), nullable=False, comment="HTTP page title"),
        sa.Column(
            "sources", sa.JSON(), nullable=False, comment="exposure.model.Source values that saw it"
        ),
        sa.Column(
            "present",
            sa.Boolean(),
            nullable=False,
            comment="False once a complete rescan no longer saw it",
        ),
        sa.Column(
            "first_seen",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="First seen by any source",
        ),
        sa.Column(
            "last_seen",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="Last seen by any source",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposures")),
        sa.UniqueConstraint(
            "member_id",
            "address",
            "port",
            "transport",
            name=op.f("uq_exposures_member_id_address_port_transport"),
        ),
    )
    with op.batch_alter_table("exposures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exposures_member_id"), ["member_id"], unique=False)

    op.create_table(
        "exposure_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exposure_id", sa.Integer(), nullable=False, comment="The exposure"),
        sa.Column("member_id", sa.Integer(), nullable=False, comment="The member (as exposure)"),
        sa.Column("cve_id", sa.String(length=32), nullable=False, comment="CVE id"),
        sa.Column("reason", sa.Text(), nullable=False, comment="Why it matched, or who said so"),
        sa.Column("summary", sa.Text(), nullable=False, comment="What the CVE is"),
        sa.Column("cvss_score", sa.Float(), nullable=True, comment="Best CVSS base score"),
        sa.Column("cvss_version", sa.String(length=8), nullable=True, comment="Its CVSS version"),
        sa.Column("kev", sa.Boolean(), nullable=False, comment="In CISA KEV"),
        sa.Column(
            "kev_ransomware", sa.Boolean(), nullable=False, comment="KEV: known ransomware use"
        ),
        sa.Column("kev_due_date", sa.Date(), nullable=True, comment="KEV due date"),
        sa.Column("epss", sa.Float(), nullable=True, comment="FIRST EPSS probability"),
        sa.Column("epss_percentile", sa.Float(), nullable=True, comment="FIRST EPSS percentile"),
        sa.Column("priority", sa.String(length=4), nullable=False, comment="P1..P4"),
        sa.Column("priority_basis", sa.Text(), nullable=False, comment="Why this priority"),
        sa.Column("due_on", sa.Date(), nullable=False, comment="Fix by, per SLA"),
        sa.Column(
            "status", sa.String(length=16), nullable=False, comment="exposure.model.FindingStatus"
        ),
        sa.Column("status_reason", sa.Text(), nullable=False, comment="Why the status"),
        sa.Column("accepted_until", sa.Date(), nullable=True, comment="Acceptance expires"),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False, comment="First found"),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False, comment="Last found"),
        sa.Column(
            "closed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="When it left open (fixed, accepted, false positive); None if open",
        ),
        sa.Column("notice_id", sa.Integer(), nullable=True, comment="Notice queued for it"),
        sa.ForeignKeyConstraint(
            ["exposure_id"],
            ["exposures.id"],
            name=op.f("fk_exposure_findings_exposure_id_exposures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_findings")),
        sa.UniqueConstraint(
            "exposure_id", "cve_id", name=op.f("uq_exposure_findings_exposure_id_cve_id")
        ),
    )
    with op.batch_alter_table("exposure_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exposure_findings_cve_id"), ["cve_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_exposure_findings_exposure_id"), ["exposure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exposure_findings_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_exposure_findings_priority"), ["priority"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_exposure_findings_status"), ["status"], unique=False)

    op.create_table(
        "exposure_finding_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False, comment="The finding"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, comment="When"),
        sa.Column("actor", sa.String(length=200), nullable=False, comment="Who or what"),
        sa.Column(
            "event",
            sa.String(length=32),
            nullable=False,
            comment="found, fixed, reopened, accepted, false_positive, expired, priority",
        ),
        sa.Column("from_status", sa.String(length=16), nullable=True, comment="Status before"),
        sa.Column("to_status", sa.String(length=16), nullable=False, comment="Status after"),
        sa.Column("note", sa.Text(), nullable=False, comment="Reason or detail"),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["exposure_findings.id"],
            name=op.f("fk_exposure_finding_history_finding_id_exposure_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exposure_finding_history")),
    )
    with op.batch_alter_table("exposure_finding_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exposure_finding_history_finding_id"), ["finding_id"], unique=False
        )


def downgrade() -> None:
    for table in ("exposure_finding_history", "exposure_findings", "exposures", "exposure_scans"):
        op.drop_table(table)
