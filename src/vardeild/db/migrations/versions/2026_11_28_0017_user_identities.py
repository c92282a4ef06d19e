"""accounts: identities at an OpenID Connect provider linked to local users

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-28 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False, comment="The local user"),
        sa.Column("issuer", sa.String(500), nullable=False, comment="The provider's issuer URL"),
        sa.Column("subject", sa.String(255), nullable=False, comment="The provider's sub claim"),
        sa.Column("email", sa.String(254), nullable=False, comment="The e-mail it was linked by"),
        sa.Column("created_at", WHEN, nullable=False, comment="When linked"),
        sa.Column("last_used_at", WHEN, nullable=False, comment="Last sign-in with it"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_user_identities_issuer_subject")),
    )
    op.create_index(op.f("ix_user_identities_user_id"), "user_identities", ["user_id"])


def downgrade() -> None:
    op.drop_table("user_identities")
