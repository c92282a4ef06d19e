"""Test databases: the PostgreSQL test URL and throwaway schemas inside it.

Kept out of conftest.py so that any test module can import them: several conftest.py files
exist, and `import conftest` would find whichever pytest loaded last.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from vardeild.db.engine import create_db_engine


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


def _schema_url(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def postgres_schema(url: str, prefix: str) -> Iterator[str]:
    """Yield the URL of a new, empty schema in the test database, dropped afterwards; test runs
    and workers sharing one database never see each other's tables."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
