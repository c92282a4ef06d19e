"""mail: inbound messages kept as received, their attachments by content hash

Revision ID: 0020
Revises: 0015
Create Date: 2026-11-28 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False, comment="When it arrived"),
        sa.Column(
            "message_id",
            sa.String(500),
            nullable=False,
            comment="Message-ID header as given (empty without one)",
        ),
        sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of raw"),
        sa.Column("size", sa.Integer(), nullable=False, comment="Bytes as received"),
        sa.Column(
            "raw",
            sa.LargeBinary(),
            nullable=False,
            comment="The message exactly as received (only its head when refused)",
        ),
        sa.Column(
            "truncated",
            sa.Boolean(),
            nullable=False,
            comment="raw holds only the head of a refused oversized message",
        ),
        sa.Column("peer", sa.String(200), nullable=False, comment="Client that sent it"),
        sa.Column("envelope_from", sa.String(500), nullable=False, comment="MAIL FROM"),
        sa.Column("envelope_to", sa.JSON(), nullable=False, comment="RCPT TO"),
        sa.Column(
            "status",
            sa.String(16),
            nullable=False,
            comment="received, processed, refused, failed or duplicate",
        ),
        sa.Column("attempts", sa.Integer(), nullable=False, comment="Processing attempts"),
        sa.Column("processed_at", WHEN, nullable=True, comment="When processed"),
        sa.Column(
            "problems",
            sa.JSON(),
            nullable=False,
            comment="Every problem found, in words (malformed, bomb, forged, ...)",
        ),
        sa.Column("sender", sa.String(500), nullable=False, comment="From address"),
        sa.Column("subject", sa.String(1000), nullable=False, comment="Subject, decoded"),
        sa.Column("encrypted", sa.Boolean(), nullable=False, comment="Was OpenPGP-encrypted"),
        sa.Column(
            "signature",
            sa.String(16),
            nullable=False,
            comment="none, good, bad, unknown_key, expired_key, revoked_key or error",
        ),
        sa.Column(
            "signature_key",
            sa.String(64),
            nullable=False,
            comment="Fingerprint (or key id) that made the signature",
        ),
        sa.Column("signature_detail", sa.Text(), nullable=False, comment="gpg's verdict"),
        sa.Column(
            "signer_contact",
            sa.String(254),
            nullable=False,
            comment="Registry contact whose key made a good signature",
        ),
        sa.Column("text", sa.Text(), nullable=False, comment="Body text, decrypted"),
        sa.Column(
            "observables",
            sa.JSON(),
            nullable=False,
            comment="Candidate observables found in the text",
        ),
        sa.Column(
            "outcome",
            sa.String(16),
            nullable=False,
            comment="threaded, new_case, duplicate or none",
        ),
        sa.Column(
            "case_id",
            sa.Integer(),
            nullable=True,
            comment="The case it became or was threaded onto",
        ),
        sa.Column(
            "flagged",
            sa.Boolean(),
            nullable=False,
            comment="Needs a person's look (forged reference, bad input)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "message_id", "sha256", name=op.f("uq_inbound_messages_message_id_sha256")
        ),
    )
    op.create_index(op.f("ix_inbound_messages_message_id"), "inbound_messages", ["message_id"])
    op.create_index(op.f("ix_inbound_messages_sha256"), "inbound_messages", ["sha256"])
    op.create_index(op.f("ix_inbound_messages_status"), "inbound_messages", ["status"])
    op.create_index(op.f("ix_inbound_messages_case_id"), "inbound_messages", ["case_id"])
    op.create_table(
        "inbound_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_pk", sa.Integer(), nullable=False, comment="Message"),
        sa.Column("position", sa.Integer(), nullable=False, comment="Order within the message"),
        sa.Column(
            "filename", sa.String(200), nullable=False, comment="Sanitised name, for display"
        ),
        sa.Column(
            "given_name",
            sa.String(400),
            nullable=False,
            comment="The name as given, escaped (may be hostile)",
        ),
        sa.Column("content_type", sa.String(200), nullable=False, comment="Declared MIME type"),
        sa.Column("size", sa.Integer(), nullable=False, comment="Decoded bytes"),
        sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the content"),
        sa.Column("stored", sa.Boolean(), nullable=False, comment="Content kept in inbound_blobs"),
        sa.Column("problem", sa.Text(), nullable=False, comment="Why refused or renamed"),
        sa.ForeignKeyConstraint(
            ["message_pk"],
            ["inbound_messages.id"],
            name=op.f("fk_inbound_attachments_message_pk_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_attachments")),
    )
    op.create_index(
        op.f("ix_inbound_attachments_message_pk"), "inbound_attachments", ["message_pk"]
    )
    op.create_index(op.f("ix_inbound_attachments_sha256"), "inbound_attachments", ["sha256"])
    op.create_table(
        "inbound_blobs",
        sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256"),
        sa.Column("size", sa.Integer(), nullable=False, comment="Bytes"),
        sa.Column("data", sa.LargeBinary(), nullable=False, comment="The content"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_inbound_blobs")),
    )


def downgrade() -> None:
    op.drop_table("inbound_blobs")
    op.drop_index(op.f("ix_inbound_attachments_sha256"), table_name="inbound_attachments")
    op.drop_index(op.f("ix_inbound_attachments_message_pk"), table_name="inbound_attachments")
    op.drop_table("inbound_attachments")
    for column in ("case_id", "status", "sha256", "message_id"):
        op.drop_index(op.f(f"ix_inbound_messages_{column}"), table_name="inbound_messages")
    op.drop_table("inbound_messages")
