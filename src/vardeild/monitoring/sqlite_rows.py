"""Rows into SQLite from C with the GIL released (`_sqlite_rows.c`), where that is safe.

    inserter = rows_inserter(connection)   # a sqlite3.Connection; None: use the cursor
    if inserter is not None:
        changed = inserter(sql, rows)       # sql: one row's statement, a parameter per value

The C code reaches the connection's SQLite handle through CPython's connection struct, which
the sqlite3 module does not expose, so it is used only when both checks hold:

- the sqlite3 module calls the very SQLite library this extension calls (a sqlite3 built with
  its own copy of SQLite would see its handle driven by another library's code);
- the handle names the database file that the connection itself reports (PRAGMA
  database_list): the handle is where CPython's struct is expected to keep it.

Both are asked at every call (a PRAGMA and a C call, microseconds beside a batch's rows:
sqlite3.Connection takes no weak reference to remember the answer by). Without the extension
(no C compiler or SQLite headers where Vardeild was installed) there is no inserter: the same
rows go in through the cursor, only slower.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

native: ModuleType | None
try:
    from vardeild.monitoring import _sqlite_rows as native
except ImportError:  # built without a C compiler or SQLite's headers
    native = None

Inserter = Callable[[str, list[Sequence[Any]]], int]

# CPython versions whose pysqlite_Connection starts with the sqlite3 handle (checked in their
# Modules/_sqlite/connection.h); a newer one takes the cursor until it is checked.
_KNOWN_LAYOUTS = ((3, 11), (3, 12), (3, 13), (3, 14))


def _library_is_shared() -> bool:
    if native is None or sys.version_info[:2] not in _KNOWN_LAYOUTS:
        return False
    binary = getattr(sys.modules.get("_sqlite3"), "__file__", None)
    return binary is not None and bool(native.same_library(binary))


_SHARED = _library_is_shared()


def _handle_is_the_connections(connection: sqlite3.Connection) -> bool:
    assert native is not None
    files = {name: path for _, name, path in connection.execute("PRAGMA database_list")}
    return bool(native.filename(connection) == (files.get("main") or ""))


def rows_inserter(connection: Any) -> Inserter | None:
    """Return a function that runs a one-row INSERT for each row on connection's own SQLite
    handle, in its current transaction, with the GIL released; None when that is not safe
    here (see the module docstring) or the connection is not in a transaction."""
    if not _SHARED or type(connection) is not sqlite3.Connection:
        return None
    if not connection.in_transaction:
        return None  # the sqlite3 module would begin one itself; the cursor path does
    if not _handle_is_the_connections(connection):
        return None
    assert native is not None
    insert = native.insert

    def inserter(sql: str, rows: list[Sequence[Any]]) -> int:
        return int(insert(connection, sql, rows))

    return inserter
