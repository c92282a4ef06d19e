"""The embedded database's settings (db.engine): a new file gets 16 KiB pages, an existing one
keeps its own, every connection WAL with a 16 MiB page cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from vardeild.db.engine import PAGE_SIZE, create_db_engine


def test_a_new_database_gets_16_kib_pages_and_a_16_mib_cache(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE made (x)"))
            assert connection.execute(text("PRAGMA page_size")).scalar() == PAGE_SIZE == 16384
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert connection.execute(text("PRAGMA cache_size")).scalar() == -16384
    finally:
        engine.dispose()
    with sqlite3.connect(tmp_path / "new.db") as reopened:
        assert reopened.execute("PRAGMA page_size").fetchone() == (16384,)


def test_an_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE kept (x)")
        old.execute("INSERT INTO kept VALUES (1)")
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA page_size")).scalar() == 4096
            assert connection.execute(text("SELECT x FROM kept")).scalar() == 1
    finally:
        engine.dispose()
