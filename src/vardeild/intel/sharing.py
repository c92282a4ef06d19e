"""Which indicators a recipient may receive: the one place that decides, for every way out.

TAXII, the MISP feed, the member API's CSV and JSON, the sensor exports and `vardeild intel
export` all read indicators through `list_shared` (and `iter_shared`, its unpaged twin), and
nothing else of theirs reads the indicator table. The rules (TLP 2.0, docs/intel-sharing.md):

- TLP:RED never leaves the CERT: no audience receives it, whoever asks.
- TLP:AMBER and AMBER+STRICT go only to the members named in the indicator's audience
  (`intel.audience`), each member seeing those named to it and no others.
- TLP:GREEN goes to every member; TLP:CLEAR to anyone, anonymous callers and partners too.
- An expired indicator (valid_until passed) goes to no one: it no longer describes a threat.

An `Audience` says for whom a set is made; `authorize_audience` says who may read it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Table, and_, case, false, or_, select
from sqlalchemy.orm import Session, aliased

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import as_utc
from vardeild.core.errors import NotFound, PermissionDenied
from vardeild.core.tlp import Tlp
from vardeild.intel.audience_tables import IndicatorAudienceRow
from vardeild.intel.model import IndicatorType
from vardeild.intel.tables import IndicatorRow


class AudienceKind(StrEnum):
    """For whom a set of indicators is made."""

    PUBLIC = "public"  # anyone: TLP:CLEAR
    ALL_MEMBERS = "all-members"  # every member: CLEAR and GREEN
    MEMBER = "member"  # one member, all it may receive: CLEAR, GREEN and AMBER named to it
    NAMED = "named"  # one member, only the AMBER and AMBER+STRICT named to it


# What each kind receives without naming, and whether AMBER named to its member counts.
_OPEN: dict[AudienceKind, frozenset[Tlp]] = {
    AudienceKind.PUBLIC: frozenset({Tlp.CLEAR}),
    AudienceKind.ALL_MEMBERS: frozenset({Tlp.CLEAR, Tlp.GREEN}),
    AudienceKind.MEMBER: frozenset({Tlp.CLEAR, Tlp.GREEN}),
    AudienceKind.NAMED: frozenset(),
}
NAMED_TLPS = frozenset({Tlp.AMBER, Tlp.AMBER_STRICT})
_AUDIENCE_TEXT = re.compile(r"^(public|all-members|(member|named):([1-9][0-9]{0,9}))$")


@dataclass(frozen=True)
class Audience:
    """A set's recipients: everyone, every member, or one member (all it may receive, or only
    what is named to it)."""

    kind: AudienceKind
    organisation_id: int | None = None

    def __post_init__(self) -> None:
        one_member = self.kind in (AudienceKind.MEMBER, AudienceKind.NAMED)
        if one_member != (self.organisation_id is not None):
            raise ValueError(f"audience {self.kind.value} needs exactly one member when it has one")

    @classmethod
    def public(cls) -> Audience:
        """Return the audience of anyone."""
        return cls(AudienceKind.PUBLIC)

    @classmethod
    def all_members(cls) -> Audience:
        """Return the audience of every member."""
        return cls(AudienceKind.ALL_MEMBERS)

    @classmethod
    def member(cls, organisation_id: int) -> Audience:
        """Return the audience of one member, receiving all it may."""
        return cls(AudienceKind.MEMBER, organisation_id)

    @classmethod
    def named(cls, organisation_id: int) -> Audience:
        """Return the audience of one member, receiving only the AMBER named to it."""
        return cls(AudienceKind.NAMED, organisation_id)

    @classmethod
    def parse(cls, text: str) -> Audience:
        """Return the audience text names: `public`, `all-members`, `member:ID`, `named:ID`;
        raise ValueError naming the forms."""
        match = _AUDIENCE_TEXT.match(text.strip().lower())
        if match is None:
            raise ValueError(
                f"{text!r} is not an audience; write public, all-members, member:ID or named:ID"
            )
        if match.group(2):
            return cls(AudienceKind(match.group(2)), int(match.group(3)))
        return cls(AudienceKind(match.group(1)))

    def __str__(self) -> str:
        if self.organisation_id is None:
            return self.kind.value
        return f"{self.kind.value}:{self.organisation_id}"

    @property
    def tlps(self) -> frozenset[Tlp]:
        """Return every TLP label this audience can receive (AMBER ones only where named)."""
        named = NAMED_TLPS if self.organisation_id is not None else frozenset()
        return _OPEN[self.kind] | named


def default_audience(principal: Principal | None) -> Audience:
    """Return what a caller receives when it names no audience: a member all it may, the CERT
    what every member receives, an anonymous caller what is public."""
    if principal is None:
        return Audience.public()
    if principal.organisation_id is not None:
        return Audience.member(principal.organisation_id)
    return Audience.all_members()


def authorize_audience(principal: Principal | None, audience: Audience) -> None:
    """Return if the caller may read the audience's set. Raise PermissionDenied for an
    anonymous caller asking for more than the public set, NotFound for a member asking for
    another member's (as for one that does not exist)."""
    if audience.kind is AudienceKind.PUBLIC:
        return
    if principal is None:
        raise PermissionDenied(f"the {audience} indicators need an API token")
    authorize(principal, Action.READ, audience.organisation_id)


def may_read(principal: Principal | None, audience: Audience) -> bool:
    """Return True if authorize_audience would let the caller through."""
    try:
        authorize_audience(principal, audience)
    except (NotFound, PermissionDenied):
        return False
    return True


@dataclass(frozen=True, slots=True)
class SharedIndicator:
    """An indicator as it leaves the CERT, with the time it was added to the audience's set."""

    id: int
    type: IndicatorType
    value: str
    source: str
    tlp: Tlp
    confidence: int
    first_seen: datetime
    last_seen: datetime
    valid_until: datetime | None
    tags: tuple[str, ...]
    description: str
    created_at: datetime
    updated_at: datetime
    date_added: datetime  # its last change, or when its member was named, if later
    stix_id: str | None  # the id it was imported under, if any

    def to_dict(self) -> dict[str, Any]:
        """Return the indicator as JSON-ready values (times as ISO 8601)."""
        return {
            "id": self.id,
            "type": self.type.value,
            "value": self.value,
            "source": self.source,
            "tlp": self.tlp.value,
            "confidence": self.confidence,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "valid_until": None if self.valid_until is None else self.valid_until.isoformat(),
            "tags": list(self.tags),
            "description": self.description,
            "updated_at": self.updated_at.isoformat(),
            "date_added": self.date_added.isoformat(),
        }


@dataclass(frozen=True)
class SharedQuery:
    """Which of an audience's indicators to read; None means any."""

    types: Collection[IndicatorType] | None = None
    updated_since: datetime | None = None  # changed at or after
    added_after: datetime | None = None  # date added strictly after (TAXII's added_after)
    after: tuple[datetime, int] | None = None  # the (date added, id) a previous page ended at
    ids: Collection[int] | None = None


def _table() -> Table:
    table = IndicatorRow.__table__
    assert isinstance(table, Table)
    return table


def _select(audience: Audience, *, now: datetime, query: SharedQuery) -> Select[Any]:
    """Return the SELECT of the audience's indicators valid at now, ordered by date added and
    id. The only statement that reads indicators for a way out."""
    table = _table()
    stix_id = table.c.get("stix_id")  # added by the importers' migration; absent before it
    open_tlps = sorted(tlp.value for tlp in _OPEN[audience.kind])
    shared: ColumnElement[bool] = table.c.tlp.in_(open_tlps) if open_tlps else false()
    date_added: Any = table.c.updated_at
    source: FromClause = table
    if audience.organisation_id is not None:
        named = aliased(IndicatorAudienceRow)
        source = table.outerjoin(
            named,
            and_(
                named.indicator_id == table.c.id,
                named.organisation_id == audience.organisation_id,
            ),
        )
        shared = or_(
            shared,
            and_(
                table.c.tlp.in_(sorted(tlp.value for tlp in NAMED_TLPS)),
                named.organisation_id.is_not(None),
            ),
        )
        date_added = case(
            (
                and_(named.added_at.is_not(None), named.added_at > table.c.updated_at),
                named.added_at,
            ),
            else_=table.c.updated_at,
        )
    conditions: list[ColumnElement[bool]] = [
        shared,
        # RED is in no audience's labels above; said again so that no edit there can leak it.
        table.c.tlp != Tlp.RED.value,
        or_(table.c.valid_until.is_(None), table.c.valid_until > now),
    ]
    if query.types is not None:
        conditions.append(table.c.type.in_(sorted(kind.value for kind in query.types)))
    if query.updated_since is not None:
        conditions.append(table.c.updated_at >= query.updated_since)
    if query.added_after is not None:
        conditions.append(date_added > query.added_after)
    if query.after is not None:
        moment, last_id = query.after
        conditions.append(
            or_(date_added > moment, and_(date_added == moment, table.c.id > last_id))
        )
    if query.ids is not None:
        conditions.append(table.c.id.in_(sorted(query.ids)))
    columns = [
        table.c.id,
        table.c.type,
        table.c.value,
        table.c.source,
        table.c.tlp,
        table.c.confidence,
        table.c.first_seen,
        table.c.last_seen,
        table.c.valid_until,
        table.c.tags,
        table.c.description,
        table.c.created_at,
        table.c.updated_at,
        date_added.label("date_added"),
    ]
    if stix_id is not None:
        columns.append(stix_id)
    return select(*columns).select_from(source).where(*conditions).order_by(date_added, table.c.id)


_TYPES = {kind.value: kind for kind in IndicatorType}


def _shared(row: Any) -> SharedIndicator:
    tlp = Tlp(row[4])
    if tlp is Tlp.RED:  # the SELECT excludes it; a way out must never be one edit from leaking
        raise AssertionError(f"indicator {row[0]}: TLP:RED reached a way out")
    return SharedIndicator(
        id=row[0],
        type=_TYPES[row[1]],
        value=row[2],
        source=row[3],
        tlp=tlp,
        confidence=row[5],
        first_seen=as_utc(row[6]),
        last_seen=as_utc(row[7]),
        valid_until=None if row[8] is None else as_utc(row[8]),
        tags=tuple(row[9] or ()),
        description=row[10] or "",
        created_at=as_utc(row[11]),
        updated_at=as_utc(row[12]),
        date_added=as_utc(row[13]),
        stix_id=row[14] if len(row) > 14 else None,
    )


def list_shared(
    session: Session,
    principal: Principal | None,
    audience: Audience,
    *,
    now: datetime,
    query: SharedQuery | None = None,
    limit: int | None = None,
) -> list[SharedIndicator]:
    """Return the audience's indicators valid at now, ordered by date added and id, at most
    limit of them. Raise PermissionDenied or NotFound unless the caller may read the audience
    (authorize_audience)."""
    return list(iter_shared(session, principal, audience, now=now, query=query, limit=limit))


def iter_shared(
    session: Session,
    principal: Principal | None,
    audience: Audience,
    *,
    now: datetime,
    query: SharedQuery | None = None,
    limit: int | None = None,
) -> Iterator[SharedIndicator]:
    """Yield what list_shared returns, reading the rows in batches: for exports of a whole
    feed. The caller is checked before the first row is read."""
    authorize_audience(principal, audience)
    statement = _select(audience, now=now, query=query or SharedQuery())
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.connection().execute(statement.execution_options(yield_per=5000))
    for row in rows:
        yield _shared(row)
