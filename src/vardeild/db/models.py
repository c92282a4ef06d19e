"""Imports every domain's tables so that Base.metadata knows the whole schema.

Migrations and `alembic check` read the metadata through this module; add each new domain's
tables module here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from vardeild.access import tables as access_tables
from vardeild.audit import tables as audit_tables
from vardeild.db.base import Base
from vardeild.members import tables as members_tables

TABLE_MODULES = (members_tables, access_tables, audit_tables)


def metadata() -> MetaData:
    """Return the metadata of the complete schema."""
    return Base.metadata
