"""Imports every domain's tables so that Base.metadata knows the whole schema.

Any module of ours named `tables` or ending in `_tables` is a tables module; they are found by
walking the package, so a new domain needs no registration here (and two domains added at the
same time cannot forget each other). Migrations and `alembic check` read the metadata through
this module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

from sqlalchemy import MetaData

import vardeild
from vardeild.db.base import Base


@cache
def table_modules() -> tuple[ModuleType, ...]:
    """Return every tables module of the package, imported."""
    found = []
    for info in pkgutil.walk_packages(vardeild.__path__, prefix="vardeild."):
        leaf = info.name.rpartition(".")[2]
        if leaf == "tables" or leaf.endswith("_tables"):
            found.append(importlib.import_module(info.name))
    return tuple(found)


def metadata() -> MetaData:
    """Return the metadata of the complete schema."""
    table_modules()
    return Base.metadata
