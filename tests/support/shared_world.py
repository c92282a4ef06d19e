"""One tenancy world per test module and backend, each test isolated in a SAVEPOINT.

Building the app (its routes' models) and the world of tests/support/tenancy.py takes seconds,
and the tenancy walks call hundreds of routes against the same world. So a walk module builds
them once, on one connection whose outer transaction is rolled back when the module ends, and
runs every test inside a SAVEPOINT of that transaction, rolled back after the test: the
platform's sessions join the connection with `create_savepoint`, as tests/conftest.py's
`platform` does, so what a test commits only releases a savepoint inside the test's own.

What the platform and the app hold outside the database is put back after each test as well:
the fixed clock, the settings, the platform's cache (emptied, as a new platform's is), the
app's in-memory state (the portal's sign-in and reset limits, limiters made on first use) and
the files under the data directory. Then `check_back` proves it: every row of every table,
and each of those, as the world left them; a test that leaks fails in its own teardown.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, inspect, literal_column, select, table
from sqlalchemy.orm import sessionmaker

from support.tenancy import World, build_world
from support.web import TokenMaker, token_maker
from vardeild.app import build_platform, create_web_app
from vardeild.core.clock import FixedClock
from vardeild.platform import Platform
from vardeild.settings import Settings

# The instant of tests/conftest.py's `clock` fixture.
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
# The app's in-memory state a test may change, deep-copied back from the world's after each
# test; any other entry must stay the object it was, and entries a test adds are dropped.
_MUTABLE_APP_STATE = ("portal",)


@dataclass
class SharedWorld:
    """A platform, its app and the world, shared by the tests of one module on one backend."""

    connection: Connection
    platform: Platform
    clock: FixedClock
    app: FastAPI
    world: World = field(init=False)
    extra: dict[str, Any] = field(default_factory=dict)  # what the module adds to the world
    _tables: list[str] = field(default_factory=list)
    _rows: str = ""
    _settings: dict[str, Any] = field(default_factory=dict)
    _app_state: dict[str, Any] = field(default_factory=dict)
    _files: dict[str, bytes | None] = field(default_factory=dict)

    def token(self) -> TokenMaker:
        """Return a token maker on the shared platform, as the web conftest's `token`."""
        return token_maker(self.platform)

    def settle(self) -> None:
        """Take what the world is now (built, and whatever the module added) as what every
        test starts from and must leave."""
        self._tables = sorted(inspect(self.connection).get_table_names())
        self._rows = self.rows_digest()
        self._settings = _settings_of(self.platform.settings)
        self._app_state = dict(self.app.state._state)
        self._files = _files_under(self.platform.settings.data_dir)

    def rows_digest(self) -> str:
        """Return a digest of every row of every table, as this connection sees them."""
        digest = hashlib.sha256()
        for name in self._tables:
            rows = self.connection.execute(select(literal_column("*")).select_from(table(name)))
            digest.update(name.encode())
            for row in sorted(repr(tuple(row)) for row in rows):
                digest.update(row.encode())
        return digest.hexdigest()

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Run the block in a SAVEPOINT rolled back afterwards, and put back what lies outside
        the database (see the module docstring)."""
        self._put_back_outside()
        savepoint = self.connection.begin_nested()
        try:
            yield
        finally:
            assert savepoint.is_active, "the test's savepoint ended early: the world is gone"
            savepoint.rollback()
            self._put_back_outside()

    def check_back(self) -> None:
        """Fail unless the database's rows, the settings and the files under the data
        directory are as the world left them (the rest `isolated` puts back unasked)."""
        assert self.rows_digest() == self._rows, "rows differ from the world's"
        assert _settings_of(self.platform.settings) == self._settings, "settings differ"
        assert _files_under(self.platform.settings.data_dir) == self._files, "files differ"

    def _put_back_outside(self) -> None:
        self.clock.advance(NOW - self.clock.now())
        settings = self.platform.settings
        for name, value in self._settings.items():
            if getattr(settings, name) != value:
                setattr(settings, name, copy.deepcopy(value))
        with self.platform._cache_lock:
            self.platform._cache.clear()
        state = self.app.state._state  # starlette's State keeps its entries here
        state.clear()
        state.update(
            (name, copy.deepcopy(value) if name in _MUTABLE_APP_STATE else value)
            for name, value in self._app_state.items()
        )
        _put_files_back(self.platform.settings.data_dir, self._files)


@contextmanager
def shared_world(
    engine: Engine, data_dir: Path, *, prepare: Callable[[SharedWorld], None] | None = None
) -> Iterator[SharedWorld]:
    """Yield the app and world on engine, built once inside an outer transaction that is rolled
    back at the end; prepare (if given) adds to the world before it is settled."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        clock = FixedClock(NOW)
        platform = build_platform(Settings(data_dir=data_dir), engine=engine, clock=clock)
        platform.session_factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        shared = SharedWorld(
            connection=connection, platform=platform, clock=clock, app=create_web_app(platform)
        )
        shared.world = build_world(platform, shared.token())
        if prepare is not None:
            prepare(shared)
        shared.settle()
        yield shared
    finally:
        outer.rollback()
        connection.close()


def copy_browser(app: FastAPI, browser: TestClient) -> TestClient:
    """Return a new client of app holding copies of browser's cookies (its signed-in session
    and CSRF seed), so that a test's sign-out or new cookies stay with the test."""
    copied = TestClient(app)
    for cookie in browser.cookies.jar:
        copied.cookies.jar.set_cookie(copy.copy(cookie))
    return copied


def _settings_of(settings: Settings) -> dict[str, Any]:
    """Return a copy of every field of settings, by name."""
    return {name: copy.deepcopy(getattr(settings, name)) for name in type(settings).model_fields}


def _files_under(root: Path) -> dict[str, bytes | None]:
    """Return every file (its bytes) and folder (None) under root, by relative path."""
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


def _put_files_back(root: Path, files: dict[str, bytes | None]) -> None:
    """Remove what is under root and not in files; write back files changed or removed."""
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):  # what a folder holds first
            if str(path.relative_to(root)) in files:
                continue
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
    for name, data in files.items():
        path = root / name
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
