"""monitoring: events.data no longer repeats the fields that have columns (its comment says so)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 02:10:00

Rows written before keep their whole JSON; readers (monitoring.alerts.stored_event) take a
field from data when it is there and from its column otherwise, so no row is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

OLD = "The harmonised event as JSON (monitoring.model.Event, without raw)"
NEW = (
    "The harmonised event as JSON without raw and the fields that have columns "
    "(monitoring.model.StoredEventData)"
)


def _comment(text: str, before: str) -> None:
    # SQLite keeps no column comments.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "events", "data", existing_type=sa.Text(), comment=text, existing_comment=before
        )


def upgrade() -> None:
    _comment(NEW, OLD)


def downgrade() -> None:
    _comment(OLD, NEW)
