"""Creating engines for the embedded SQLite database and for PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

PAGE_SIZE = 16384  # bytes, for a new SQLite database (see _configure_sqlite)


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Return an engine for url; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take control so
        # that nested transactions (and a rolled-back transaction per test) behave as on
        # PostgreSQL. This is SQLAlchemy's documented recipe.
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship; psycopg 3 is ours.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Larger pages for a new database (an existing one keeps its own): an event row is about
    # 700 bytes, and with 4 KiB pages the events table and its fingerprint index split pages
    # so often that inserting 70,000 events cost 0.55 s in SQLite alone; 16 KiB: 0.41 s
    # (Shadowserver bench, AMD EPYC; 32 KiB gained nothing more).
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 16 MiB of page cache instead of 2 MiB: a batch's inserts land on fingerprint index pages
    # all over the index (the fingerprint is a hash), which 2 MiB could not hold.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start, waiting up to the busy timeout for it. A
    # deferred transaction that reads and then writes while another connection committed a
    # write meanwhile fails at once with "database is locked" (WAL cannot upgrade a stale
    # snapshot, and waiting would not help), which is what the serving process's threads (web
    # requests, the demo feed, the notify pass) did to each other. The price: on SQLite one
    # transaction runs at a time; PostgreSQL is the database for concurrency.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
