"""merge the monitoring, indicator and sensor migrations

They were written side by side on the same parent; this joins them into one head.

Revision ID: 0005
Revises: 0002, 0003, 0004
Create Date: 2026-11-28 15:05:00
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0002", "0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
