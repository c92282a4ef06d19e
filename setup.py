"""The one compiled part of Vardeild: the EVE screen's loop in C (monitoring/parsers/
_eve_glance.c). Optional: where it cannot be built (no C compiler or Python headers), the install
goes on and monitoring.parsers.eve_screen runs the same screen in Python, only slower."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vardeild.monitoring.parsers._eve_glance",
            ["src/vardeild/monitoring/parsers/_eve_glance.c"],
            depends=["src/vardeild/monitoring/parsers/_eve_memo.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
