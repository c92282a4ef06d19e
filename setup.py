"""The compiled parts of Vardeild: the EVE screen's loop (monitoring/parsers/_eve_glance.c),
the Shadowserver lane (monitoring/parsers/_report_lane.c) and rows into SQLite without the GIL
(monitoring/_sqlite_rows.c, which needs SQLite's headers: libsqlite3-dev). Optional: where they
cannot be built (no C compiler, Python or SQLite headers), the install goes on;
monitoring.parsers.eve_screen then runs the same screen in Python, every Shadowserver batch
takes the general path, and SQLite's rows go in through the sqlite3 module: the same outcomes,
only slower."""

from typing import Any

from setuptools import Extension, setup


def native(module: str, **options: Any) -> Extension:
    """The optional extension vardeild.<module>, built from src/vardeild/<module as path>.c."""
    return Extension(
        f"vardeild.{module}",
        [f"src/vardeild/{module.replace('.', '/')}.c"],
        extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
        optional=True,
        **options,
    )


setup(
    ext_modules=[
        native(
            "monitoring.parsers._eve_glance",
            depends=["src/vardeild/monitoring/parsers/_eve_memo.h"],
        ),
        native(
            "monitoring.parsers._report_lane",
            depends=["src/vardeild/monitoring/parsers/_blake2b.h"],
        ),
        native("monitoring._sqlite_rows", libraries=["sqlite3"]),
    ]
)
