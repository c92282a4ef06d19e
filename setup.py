"""The compiled parts of Vardeild: the EVE screen's loop (monitoring/parsers/_eve_glance.c),
the Shadowserver lane (monitoring/parsers/_report_lane.c) and rows into SQLite without the GIL
(monitoring/_sqlite_rows.c, which needs SQLite's headers: libsqlite3-dev). Optional: where they
cannot be built (no C compiler, Python or SQLite headers), the install goes on;
monitoring.parsers.eve_screen then runs the same screen in Python, every Shadowserver batch
takes the general path, and SQLite's rows go in through the sqlite3 module: the same outcomes,
only slower."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vardeild.monitoring.parsers._eve_glance",
            ["src/vardeild/monitoring/parsers/_eve_glance.c"],
            depends=["src/vardeild/monitoring/parsers/_eve_memo.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
        Extension(
            "vardeild.monitoring.parsers._report_lane",
            ["src/vardeild/monitoring/parsers/_report_lane.c"],
            depends=["src/vardeild/monitoring/parsers/_blake2b.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
        Extension(
            "vardeild.monitoring._sqlite_rows",
            ["src/vardeild/monitoring/_sqlite_rows.c"],
            libraries=["sqlite3"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        ),
    ]
)
