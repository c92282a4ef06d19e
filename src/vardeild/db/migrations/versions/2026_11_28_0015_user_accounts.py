"""accounts: users of the portal, their sessions and password-reset links

Revision ID: 0015
Revises: 0009
Create Date: 2026-11-28 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0009"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False, comment="Lower-cased; signs in"),
        sa.Column("display_name", sa.String(200), nullable=False, comment="Shown in the portal"),
        sa.Column("role", sa.String(32), nullable=False, comment="access.model.Role"),
        sa.Column(
            "organisation_id",
            sa.Integer(),
            nullable=True,
            comment="Member organisation of a member_* user; empty for CERT staff",
        ),
        sa.Column(
            "password_hash",
            sa.String(200),
            nullable=True,
            comment="argon2id (PHC string); empty until a password is set",
        ),
        sa.Column(
            "totp_secret",
            sa.String(128),
            nullable=True,
            comment="TOTP secret once enrolled, sealed (AES-GCM); never shown again",
        ),
        sa.Column(
            "totp_pending",
            sa.String(128),
            nullable=True,
            comment="Sealed secret shown for enrolment, until a code from it is confirmed",
        ),
        sa.Column(
            "totp_last_step",
            sa.Integer(),
            nullable=True,
            comment="Time step of the last accepted code (no replay)",
        ),
        sa.Column("failed_count", sa.Integer(), nullable=False, comment="Failures in a row"),
        sa.Column("locked_until", WHEN, nullable=True, comment="Locked until"),
        sa.Column("disabled_at", WHEN, nullable=True, comment="When disabled"),
        sa.Column("created_at", WHEN, nullable=False, comment="When created"),
        sa.Column(
            "password_changed_at", WHEN, nullable=True, comment="When the password was last set"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_users_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_organisation_id"), "users", ["organisation_id"])
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False, comment="SHA-256 of the id"),
        sa.Column("user_id", sa.Integer(), nullable=False, comment="Whose session"),
        sa.Column(
            "stage",
            sa.String(16),
            nullable=False,
            comment="'totp' while the second factor is awaited, 'full' once signed in",
        ),
        sa.Column("created_at", WHEN, nullable=False, comment="When created"),
        sa.Column("last_seen_at", WHEN, nullable=False, comment="Last request"),
        sa.Column("expires_at", WHEN, nullable=False, comment="Absolute end"),
        sa.Column("revoked_at", WHEN, nullable=True, comment="When revoked"),
        sa.Column("client", sa.String(64), nullable=False, comment="Client address"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_user_sessions_id_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, comment="SHA-256, hex"),
        sa.Column("user_id", sa.Integer(), nullable=False, comment="Whose password"),
        sa.Column("created_at", WHEN, nullable=False, comment="When requested"),
        sa.Column("expires_at", WHEN, nullable=False, comment="When it stops working"),
        sa.Column("used_at", WHEN, nullable=True, comment="When used"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"])


def downgrade() -> None:
    op.drop_table("password_resets")
    op.drop_table("user_sessions")
    op.drop_table("users")
