"""monitoring: the events' id sequence hands each PostgreSQL session 1,000 ids at a time

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 19:30:00

The pipeline draws a batch's event ids in one statement (monitoring.store_pg.event_ids); with
no cache every nextval locks the sequence's page and writes its log, which cost the
Shadowserver bench ~0.05-0.09 s of 1.4 s per 100,000 rows on PostgreSQL. Cached, a session
takes 1,000 at a time. What that changes: ids drawn by two sessions at once interleave in runs
of up to 1,000 (never twice the same), and a session that ends leaves up to 999 unused.
SQLite has no sequence (the pipeline allocates after the largest id under its write lock).
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _cache(size: int) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s CACHE "
            f"{size}', pg_get_serial_sequence('events', 'id')); END $$"
        )


def upgrade() -> None:
    _cache(1000)


def downgrade() -> None:
    _cache(1)
