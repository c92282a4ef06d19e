"""Alembic environment: runs on the engine handed over by vardeild.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from vardeild.db.models import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through vardeild.db.migrate (vardeild init), not alembic")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
