"""Rows into SQLite from C (monitoring/_sqlite_rows.c through sqlite_rows.py): the same rows as
the sqlite3 module's cursor stores, the same conflicts skipped, errors raised as the sqlite3
module's own naming the row, and the path declined where it is not safe."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from vardeild.monitoring import sqlite_rows

if sqlite_rows.native is None or not sqlite_rows._SHARED:
    if os.environ.get("VARDEILD_REQUIRE_NATIVE") == "1":
        raise RuntimeError("VARDEILD_REQUIRE_NATIVE=1 but _sqlite_rows is missing or unusable")
    pytest.skip("the _sqlite_rows C extension was not built", allow_module_level=True)

TABLE = (
    "CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, n INTEGER, x REAL, "
    "note TEXT, blob BLOB)"
)
INSERT = (
    "INSERT INTO t (id, key, n, x, note, blob) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO NOTHING"
)
ROWS = [
    [1, "a", 0, 1.5, "plain", b"\x00\x01"],
    [2, "b", -(2**63), -0.0, "blåbærsyltetøy 🔥", b""],
    [3, "c", 2**63 - 1, None, "", None],
    (4, "d", None, 3e300, "quote ' and \" and \x00 inside", b"\xff" * 1000),
]


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute(TABLE)
    return connection


def stored(connection: sqlite3.Connection) -> list[tuple[object, ...]]:
    return connection.execute("SELECT * FROM t ORDER BY id").fetchall()


def test_rows_stored_as_the_cursor_stores_them(tmp_path: Path) -> None:
    ours, theirs = connect(tmp_path / "ours.db"), connect(tmp_path / "theirs.db")
    ours.execute("BEGIN IMMEDIATE")
    insert = sqlite_rows.rows_inserter(ours)
    assert insert is not None
    assert insert(INSERT, list(ROWS)) == 4
    ours.execute("COMMIT")
    theirs.executemany(INSERT, ROWS)
    assert stored(ours) == stored(theirs)
    assert stored(ours)[1][4] == "blåbærsyltetøy 🔥"
    assert stored(ours)[3][4] == "quote ' and \" and \x00 inside"


def test_conflicts_are_skipped_and_not_counted(tmp_path: Path) -> None:
    connection = connect(tmp_path / "t.db")
    connection.execute("BEGIN IMMEDIATE")
    insert = sqlite_rows.rows_inserter(connection)
    assert insert is not None
    assert insert(INSERT, [ROWS[0], ROWS[1]]) == 2
    again = [
        [5, "a", 9, None, "dup", None],
        [6, "e", 1, None, "new", None],
        [7, "b", 1, None, "", None],
    ]
    assert insert(INSERT, again) == 1
    connection.execute("COMMIT")
    assert [row[1] for row in stored(connection)] == ["a", "b", "e"]
    assert stored(connection)[0][4] == "plain"  # the first stays as it was


def test_error_is_the_sqlite3_modules_and_names_the_row(tmp_path: Path) -> None:
    connection = connect(tmp_path / "t.db")
    connection.execute("BEGIN IMMEDIATE")
    insert = sqlite_rows.rows_inserter(connection)
    assert insert is not None
    rows = [list(ROWS[0]), [2, None, 0, None, "no key", None], list(ROWS[2])]
    refused = r"row 1 of 3: NOT NULL constraint failed: t\.key"
    with pytest.raises(sqlite3.IntegrityError, match=refused):
        insert(INSERT, rows)
    connection.execute("ROLLBACK")
    assert stored(connection) == []
    connection.execute("BEGIN IMMEDIATE")
    with pytest.raises(TypeError, match=r"row 0, value 2: cannot store a dict"):
        insert(INSERT, [[1, "a", {}, None, None, None]])
    with pytest.raises(ValueError, match="row 0 has 2 values, not 6"):
        insert(INSERT, [[1, "a"]])
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        insert("INSERT INTO nowhere VALUES (?)", [[1]])
    connection.execute("ROLLBACK")


def test_declined_outside_a_transaction_and_for_other_connections(tmp_path: Path) -> None:
    connection = connect(tmp_path / "t.db")
    assert sqlite_rows.rows_inserter(connection) is None  # the cursor would begin one
    assert sqlite_rows.rows_inserter(object()) is None

    class Subclassed(sqlite3.Connection):
        pass

    other = sqlite3.connect(tmp_path / "t.db", factory=Subclassed, isolation_level=None)
    other.execute("BEGIN")
    assert sqlite_rows.rows_inserter(other) is None


def test_handle_is_the_connections_own(tmp_path: Path) -> None:
    """The handle the C code reads is the connection's: it names the connection's file, and an
    in-memory database's empty name."""
    assert sqlite_rows.native is not None
    connection = connect(tmp_path / "named.db")
    assert sqlite_rows.native.filename(connection) == str(tmp_path / "named.db")
    assert sqlite_rows.native.filename(sqlite3.connect(":memory:")) == ""
    closed = sqlite3.connect(":memory:")
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        sqlite_rows.native.filename(closed)


def test_other_threads_run_while_sqlite_steps(tmp_path: Path) -> None:
    """The GIL is released while SQLite works: a Python thread counts meanwhile."""
    connection = connect(tmp_path / "t.db")
    connection.execute("BEGIN IMMEDIATE")
    insert = sqlite_rows.rows_inserter(connection)
    assert insert is not None
    rows = [[i, f"key-{i}", i, None, "x" * 200, None] for i in range(200_000)]
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = ticks
        assert insert(INSERT, rows) == len(rows)
        during = ticks - before
    finally:
        done.set()
        counter.join()
    connection.execute("COMMIT")
    # Held the GIL throughout, the insert would let the counter run only at the interpreter's
    # switch interval (5 ms) between bytecodes of this thread: none inside the one C call.
    assert during > 10_000


def test_rows_beyond_one_chunk_are_all_written_and_a_late_error_is_named(tmp_path: Path) -> None:
    """The C code takes 4,096 rows at a time: a batch across chunks stores every row, and an
    error in a later chunk names its row in the whole batch."""
    connection = connect(tmp_path / "t.db")
    connection.execute("BEGIN IMMEDIATE")
    insert = sqlite_rows.rows_inserter(connection)
    assert insert is not None
    rows: list[list[object]] = [[i, f"k{i}", i, None, None, None] for i in range(1, 4098)]
    assert insert(INSERT, rows) == 4097
    total = connection.execute("SELECT count(*), sum(n) FROM t").fetchone()
    assert total == (4097, 4097 * 4098 // 2)
    late = [[i, f"late{i}", i, None, None, None] for i in range(5000, 10000)]
    late[4500][1] = None
    with pytest.raises(sqlite3.IntegrityError, match="row 4500 of 5000: NOT NULL"):
        insert(INSERT, late)
    connection.execute("ROLLBACK")
