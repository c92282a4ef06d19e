"""Migrations run from empty to head and back on every backend, and agree with the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from support.databases import postgres_schema, postgres_url_or_skip
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import current_revision, downgrade, head_revision, schema_drift, upgrade
from vardeild.db.models import metadata


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database (a fresh SQLite file, or a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema(postgres_url_or_skip(), "migration") as url:
        engine = create_db_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def test_upgrade_from_empty_reaches_head_with_every_table(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata().tables) <= tables


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    assert schema_drift(empty_engine) == []


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)


def test_migration_files_are_named_by_date() -> None:
    versions = Path(__file__).resolve().parents[3] / "src/vardeild/db/migrations/versions"
    names = [p.name for p in versions.glob("*.py") if p.name != "__init__.py"]
    assert names
    for name in names:
        year, month, day = name.split("_")[:3]
        assert len(year) == 4, name
        assert (year + month + day).isdigit(), name
