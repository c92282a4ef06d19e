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
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from support.databases import postgres_schema, postgres_url_or_skip
from vardeild.app import build_platform
from vardeild.core.clock import FixedClock
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import upgrade
from vardeild.platform import Platform
from vardeild.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("VARDEILD_CORPUS_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of an empty test database, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    with postgres_schema(postgres_url_or_skip(), "test") as url:
        yield url


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
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    outer = conn.begin()
    try:
        yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session inside the test's transaction; the code under test may commit, which only
    releases a savepoint."""
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db_session
    finally:
        db_session.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private data directory."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def platform(
    connection: Connection, engine: Engine, settings: Settings, clock: FixedClock
) -> Platform:
    """The platform as the composition root builds it, but with every session joining the
    test's rolled-back transaction (requests made through the web app included)."""
    built = build_platform(settings, engine=engine, clock=clock)
    built.session_factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return built


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the backend under test, for code that commits for
    real (the CLI, worker processes): a new SQLite file or a new PostgreSQL schema."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    with postgres_schema(postgres_url_or_skip(), "fresh") as url:
        yield url


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
