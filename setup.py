"""The compiled parts of Vardeild: the EVE screen's loop (monitoring/parsers/_eve_glance.c) and
the Shadowserver lane (monitoring/parsers/_report_lane.c). Optional: where they cannot be built
(no C compiler or Python headers), the install goes on; monitoring.parsers.eve_screen then runs
the same screen in Python, and every Shadowserver batch takes the general path, only slower."""

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
    ]
)
