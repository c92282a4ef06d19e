"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when
VARDEILD_TEST_DATABASE_URL is set), one rolled-back transaction per test, a fixed clock,
and the shared third-party corpus.

With VARDEILD_REQUIRE_POSTGRES=1 (set by .ci/run) a missing PostgreSQL fails the run instead
of skipping, and with VARDEILD_REQUIRE_CORPUS=1 so does a missing ../shared/data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from vardeild.core.clock import FixedClock
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import upgrade

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("VARDEILD_CORPUS_DIR", REPO.parent / "shared" / "data"))


def postgres_url_or_skip() -> str:
    """Return the PostgreSQL test URL, or skip (fail, under VARDEILD_REQUIRE_POSTGRES=1)."""
    url = os.environ.get("VARDEILD_TEST_DATABASE_URL")
    if not url:
        message = (
            "PostgreSQL tests need VARDEILD_TEST_DATABASE_URL, e.g. "
            "postgresql+psycopg://127.0.0.1/vardeild_test (see docs/testing.md)"
        )
        if os.environ.get("VARDEILD_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty test database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = postgres_url_or_skip()
    engine = create_db_engine(url)
    with engine.begin() as connection:
        # The test database is ours alone: start from nothing so migrations run from empty.
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine for the whole session."""
    created = create_db_engine(database_url)
    upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def backend(engine: Engine) -> str:
    """The backend under test: sqlite or postgresql."""
    return make_url(str(engine.url)).get_backend_name()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; the code under test
    may commit, which only releases a savepoint."""
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at a known instant, moved only by the test."""
    return FixedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared third-party corpus (../shared/data); skips (or fails under
    VARDEILD_REQUIRE_CORPUS=1) when it is absent."""
    if not (CORPUS / "MANIFEST.md").exists():
        message = f"the shared corpus is not at {CORPUS}; acceptance tests need ../shared/data"
        if os.environ.get("VARDEILD_REQUIRE_CORPUS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CORPUS
