"""intake: incident reports from the public form, their content sealed

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 22:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incident_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "reference",
            sa.String(32),
            nullable=False,
            comment="Given to the reporter, e.g. VR-2026-7K3M9QXA (random)",
        ),
        sa.Column("received_at", WHEN, nullable=False, comment="When it came"),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="intake.model.ReportStatus: new, triaged, rejected",
        ),
        sa.Column(
            "size", sa.Integer(), nullable=False, comment="Bytes of the content before sealing"
        ),
        sa.Column(
            "language", sa.String(8), nullable=False, comment="Language of the form: nb or en"
        ),
        sa.Column(
            "address_hash",
            sa.String(64),
            nullable=False,
            comment="HMAC-SHA256 of the reporter's address (floods, not who)",
        ),
        sa.Column(
            "sealed",
            sa.LargeBinary(),
            nullable=False,
            comment="The content: AES-256-GCM (nonce, ciphertext, tag), bound to reference",
        ),
        sa.Column("status_changed_at", WHEN, nullable=True, comment="When the status last changed"),
        sa.Column(
            "status_changed_by",
            sa.String(200),
            nullable=True,
            comment="Who last changed the status (the audit log has every change)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_incident_reports_reference")),
    )
    op.create_index(op.f("ix_incident_reports_received_at"), "incident_reports", ["received_at"])
    op.create_index(op.f("ix_incident_reports_status"), "incident_reports", ["status"])
    op.create_index(op.f("ix_incident_reports_address_hash"), "incident_reports", ["address_hash"])


def downgrade() -> None:
    op.drop_table("incident_reports")
