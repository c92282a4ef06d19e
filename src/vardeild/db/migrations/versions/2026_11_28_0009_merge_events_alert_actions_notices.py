"""merge the events-index, alert-action and notice migrations

They were written side by side on 0005; this joins them into one head.

Revision ID: 0009
Revises: 0006, 0007, 0008
Create Date: 2026-11-28 17:25:00
"""

from __future__ import annotations

revision = "0009"
down_revision = ("0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
