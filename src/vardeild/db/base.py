"""The declarative base every domain's tables share.

A naming convention makes constraint names deterministic, so migrations written on SQLite
apply unchanged on PostgreSQL and `alembic check` compares like with like.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every mapped table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones and hands back naive values; this keeps both databases returning
    the same thing, and refuses naive input so that local times never sneak in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Vardeild stores timezone-aware UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class HexDigest128(TypeDecorator[str]):
    """A 128-bit digest given and returned as 32 lower-case hex digits: `uuid` on PostgreSQL
    (16 bytes), the text itself elsewhere.

    Why: the events' unique fingerprint index was half of PostgreSQL's COPY time on the
    Shadowserver bench as varchar(32) (48-byte index entries); as uuid the entries are 24 bytes
    and the COPY of 70,000 events cost 20-35 % less (docs/benchmarks.md). The column is not a
    UUID in meaning; uuid is PostgreSQL's fixed 16-byte type with binary comparison.
    """

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Uuid(as_uuid=False))
        return dialect.type_descriptor(self.impl)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        # PostgreSQL writes a uuid with hyphens (8-4-4-4-12); the digest has none.
        return str(value).replace("-", "")
