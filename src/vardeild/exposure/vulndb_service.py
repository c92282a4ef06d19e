"""The vulnerability knowledge's use cases: load documents, report what is stored, and build
the matcher the exposure side asks.

Loads are idempotent: each CVE view (CVE, origin) carries a digest of what was read, so a
reload of an unchanged record writes nothing, and a changed one replaces its criteria whole.
KEV loads replace the catalogue (CISA publishes it only whole, and withdraws entries now and
then); EPSS loads upsert score by score, so an excerpt never deletes the rest. Each load is one
audit entry. The session is the unit of work, committed by the caller.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.exposure.vuln_matcher import VulnMatcher
from vardeild.exposure.vuln_model import (
    CveRecord,
    EpssScore,
    KevEntry,
    MatchCriterion,
    RecordProblem,
)
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.exposure.vulndb_records import DocumentKind, ParsedDocument
from vardeild.exposure.vulndb_tables import (
    EpssRow,
    KevRow,
    VulnCriterionRow,
    VulnRecordRow,
    VulnSyncRow,
)

CHUNK = 500  # records per write round trip; PostgreSQL's parameter limit is far away
MAX_PROBLEMS_AUDITED = 50
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class LoadCounts:
    """What one load did: records read, created, changed, unchanged, removed, refused."""

    name: str
    kind: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    problems: list[RecordProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as plain data (for the audit entry and `--json`)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "problems": [str(p) for p in self.problems],
        }


@dataclass(frozen=True)
class VulnDbStats:
    """How much knowledge is stored, and when each source was last synced."""

    records: dict[str, int]  # by origin
    rejected: int
    cves: int
    criteria: int
    kev: int
    kev_ransomware: int
    epss: int
    epss_score_date: str | None
    synced: dict[str, tuple[datetime, datetime | None, str]]  # source -> (at, cursor, detail)

    def as_dict(self) -> dict[str, Any]:
        """The stats as JSON-ready values (what `vulndb stats --json` and the API answer)."""
        return {
            "records": self.records,
            "cves": self.cves,
            "rejected": self.rejected,
            "criteria": self.criteria,
            "kev": self.kev,
            "kev_ransomware": self.kev_ransomware,
            "epss": self.epss,
            "epss_score_date": self.epss_score_date,
            "synced": {
                source: {
                    "at": at.isoformat(),
                    "cursor": cursor.isoformat() if cursor else None,
                    "detail": detail,
                }
                for source, (at, cursor, detail) in self.synced.items()
            },
        }


def load_vulndb_document(
    session: Session,
    principal: Principal,
    data: bytes,
    *,
    name: str,
    clock: Clock,
    progress: Progress | None = None,
) -> LoadCounts:
    """Store the records of one NVD/CVE 5/KEV/EPSS document and audit it; bad records are
    counted in `problems`, the rest load. Raise DocumentError for a document of no known kind,
    PermissionDenied for a principal who may not import."""
    authorize(principal, Action.IMPORT)
    parsed = parse_document(data, name)
    counts = store_document(session, parsed, now=clock.now(), progress=progress)
    audit_load(session, principal, clock, counts, action="vulndb.load")
    return counts


def store_document(
    session: Session, parsed: ParsedDocument, *, now: datetime, progress: Progress | None = None
) -> LoadCounts:
    """Store what a parsed document holds and return the counts (no permission check, no
    audit: load_vulndb_document and the sync do those)."""
    counts = LoadCounts(parsed.name, parsed.kind.value, read=parsed.count)
    counts.problems = list(parsed.problems)
    _plan_each_lookup(session)
    if parsed.kind in (DocumentKind.NVD, DocumentKind.CVE5):
        store_cves(session, parsed.cves, now=now, counts=counts, progress=progress)
    elif parsed.kind is DocumentKind.KEV:
        store_kev(session, parsed.kev, now=now, counts=counts)
    else:
        store_epss(session, parsed.epss, now=now, counts=counts, progress=progress)
    return counts


def _plan_each_lookup(session: Session) -> None:
    """On PostgreSQL, plan this transaction's statements for their own values.

    Why: psycopg prepares a statement on its fifth run, and PostgreSQL may then keep one
    generic plan for it, made for the table as it was then, until the table is analysed again.
    A load that grows a table from empty (an NVD mirror, a day's EPSS file) made its chunked
    "which of these are stored?" lookups sequential scans that way, each chunk reading the whole
    table: 250,000 CVE records took 602 s to store instead of 39 s with autovacuum off (as on
    our test machines) or not yet round. Not set for the whole engine: with it, the
    million-indicator import took 58.6 s instead of 50.0 s (benches/intel.py, one run each).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def audit_load(
    session: Session, principal: Principal, clock: Clock, counts: LoadCounts, *, action: str
) -> None:
    """Record one audit entry for a load or a sync step."""
    after = counts.as_dict()
    after["problems"] = after["problems"][:MAX_PROBLEMS_AUDITED]
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="vulndb",
        entity_id=counts.name[:64],
        organisation_id=None,
        before=None,
        after=after,
        note=f"{len(counts.problems)} records refused" if counts.problems else "",
    )


def store_cves(
    session: Session,
    records: Sequence[CveRecord],
    *,
    now: datetime,
    counts: LoadCounts,
    progress: Progress | None = None,
) -> None:
    """Upsert CVE views and replace the criteria of each changed one; unchanged ones (same
    digest) are not written."""
    latest: dict[tuple[str, str], CveRecord] = {}
    for record in records:
        latest[(record.cve_id, record.origin)] = record  # a later copy in one load wins
    items = list(latest.items())
    counts.unchanged += len(records) - len(items)
    for start in range(0, len(items), CHUNK):
        _store_cve_chunk(session, items[start : start + CHUNK], now=now, counts=counts)
        if progress is not None:
            progress("CVE records", min(start + CHUNK, len(items)), len(items))


def _store_cve_chunk(
    session: Session,
    chunk: list[tuple[tuple[str, str], CveRecord]],
    *,
    now: datetime,
    counts: LoadCounts,
) -> None:
    ids = {cve_id for (cve_id, _), _ in chunk}
    stored = {
        (row.cve_id, row.origin): row.digest
        for row in session.execute(
            select(VulnRecordRow.cve_id, VulnRecordRow.origin, VulnRecordRow.digest).where(
                VulnRecordRow.cve_id.in_(ids)
            )
        )
    }
    changed: list[tuple[CveRecord, str]] = []
    for key, record in chunk:
        digest = hashlib.sha256(repr(record).encode()).hexdigest()
        if stored.get(key) == digest:
            counts.unchanged += 1
            continue
        if key in stored:
            counts.updated += 1
        else:
            counts.created += 1
        changed.append((record, digest))
    if not changed:
        return
    by_origin: dict[str, list[str]] = defaultdict(list)
    for record, _ in changed:
        if (record.cve_id, record.origin) in stored:
            by_origin[record.origin].append(record.cve_id)
    for origin, cve_ids in by_origin.items():
        session.execute(
            delete(VulnCriterionRow).where(
                VulnCriterionRow.origin == origin, VulnCriterionRow.cve_id.in_(cve_ids)
            )
        )
    rows = [_record_row(record, digest, now) for record, digest in changed]
    statement = _insert(session, VulnRecordRow.__table__)
    updated = {key: statement.excluded[key] for key in rows[0] if key not in ("cve_id", "origin")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["cve_id", "origin"], set_=updated), rows
    )
    criteria = [
        _criterion_row(record, criterion) for record, _ in changed for criterion in record.criteria
    ]
    if criteria:
        session.execute(insert(_table(VulnCriterionRow)), criteria)  # Core: no ORM bulk path


def _record_row(record: CveRecord, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "cve_id": record.cve_id,
        "origin": record.origin,
        "state": record.state,
        "published": _clip(record.published, 40),
        "last_modified": _clip(record.last_modified, 40),
        "description": record.description,
        "cvss_score": record.cvss_score,
        "cvss_version": record.cvss_version,
        "cvss_vector": _clip(record.cvss_vector, 256),
        "digest": digest,
        "loaded_at": now,
    }


def _criterion_row(record: CveRecord, criterion: MatchCriterion) -> dict[str, Any]:
    return {
        "cve_id": record.cve_id,
        "origin": record.origin,
        "criteria": criterion.criteria[:1024],
        "part": criterion.part[:1],
        "vendor": criterion.vendor[:255],
        "product": criterion.product[:255],
        "vulnerable": criterion.vulnerable,
        "version_start": _clip(criterion.version_start, 128),
        "start_including": criterion.start_including,
        "version_end": _clip(criterion.version_end, 128),
        "end_including": criterion.end_including,
        "configuration": criterion.configuration,
        "node": criterion.node,
        "location": criterion.where[:200],
        "conditions": criterion.conditions,
    }


def store_kev(
    session: Session, entries: Sequence[KevEntry], *, now: datetime, counts: LoadCounts
) -> None:
    """Make the stored KEV catalogue the given one: add, change, and remove what it no longer
    lists."""
    wanted = {entry.cve_id: _kev_row(entry, now) for entry in entries}
    counts.unchanged += len(entries) - len(wanted)
    stored = {row.cve_id: row._mapping for row in session.execute(select(KevRow.__table__))}
    changed = []
    for cve_id, row in wanted.items():
        old = stored.get(cve_id)
        if old is None:
            counts.created += 1
        elif all(old[k] == v for k, v in row.items() if k != "loaded_at"):
            counts.unchanged += 1
            continue
        else:
            counts.updated += 1
        changed.append(row)
    gone = [cve_id for cve_id in stored if cve_id not in wanted]
    for start in range(0, len(gone), CHUNK):
        session.execute(delete(KevRow).where(KevRow.cve_id.in_(gone[start : start + CHUNK])))
    counts.removed += len(gone)
    _upsert(session, KevRow, ["cve_id"], changed)


def _kev_row(entry: KevEntry, now: datetime) -> dict[str, Any]:
    return {
        "cve_id": entry.cve_id,
        "vendor_project": entry.vendor_project[:255],
        "product": entry.product[:255],
        "name": entry.name[:512],
        "date_added": entry.date_added,
        "due_date": entry.due_date,
        "ransomware": entry.ransomware,
        "required_action": entry.required_action,
        "short_description": entry.short_description,
        "loaded_at": now,
    }


def store_epss(
    session: Session,
    scores: Sequence[EpssScore],
    *,
    now: datetime,
    counts: LoadCounts,
    progress: Progress | None = None,
) -> None:
    """Upsert EPSS scores; scores of CVEs the document does not list stay."""
    latest = {score.cve_id: score for score in scores}
    counts.unchanged += len(scores) - len(latest)
    items = list(latest.values())
    step = CHUNK * 4
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        stored = {
            row.cve_id: (row.epss, row.percentile, row.score_date, row.model_version)
            for row in session.execute(
                select(
                    EpssRow.cve_id,
                    EpssRow.epss,
                    EpssRow.percentile,
                    EpssRow.score_date,
                    EpssRow.model_version,
                ).where(EpssRow.cve_id.in_([s.cve_id for s in chunk]))
            )
        }
        changed = []
        for score in chunk:
            old = stored.get(score.cve_id)
            if old == (score.epss, score.percentile, score.score_date, score.model_version):
                counts.unchanged += 1
                continue
            counts.created += old is None
            counts.updated += old is not None
            changed.append(
                {
                    "cve_id": score.cve_id,
                    "epss": score.epss,
                    "percentile": score.percentile,
                    "score_date": score.score_date,
                    "model_version": score.model_version,
                    "loaded_at": now,
                }
            )
        _upsert(session, EpssRow, ["cve_id"], changed)
        if progress is not None:
            progress("EPSS scores", min(start + step, len(items)), len(items))


def record_sync(
    session: Session, source: str, *, at: datetime, cursor: datetime | None, detail: str
) -> None:
    """Remember that a sync of source succeeded at `at` (and, for NVD, up to `cursor`)."""
    values = {"synced_at": at, "cursor": cursor, "detail": detail[:512]}
    _upsert(session, VulnSyncRow, ["source"], [{"source": source, **values}])


def sync_cursor(session: Session, source: str) -> datetime | None:
    """Return where the last sync of source ended (NVD: lastModified), or None."""
    return session.scalar(select(VulnSyncRow.cursor).where(VulnSyncRow.source == source))


def vulndb_stats(session: Session, principal: Principal) -> VulnDbStats:
    """Return how much knowledge is stored; any CERT principal may ask."""
    authorize(principal, Action.LIST_ALL)
    by_origin = {
        str(origin): int(count)
        for origin, count in session.execute(
            select(VulnRecordRow.origin, func.count()).group_by(VulnRecordRow.origin)
        )
    }
    return VulnDbStats(
        records=by_origin,
        rejected=session.scalar(
            select(func.count(func.distinct(VulnRecordRow.cve_id))).where(
                VulnRecordRow.state == "REJECTED"
            )
        )
        or 0,
        cves=session.scalar(select(func.count(func.distinct(VulnRecordRow.cve_id)))) or 0,
        criteria=session.scalar(select(func.count()).select_from(VulnCriterionRow)) or 0,
        kev=session.scalar(select(func.count()).select_from(KevRow)) or 0,
        kev_ransomware=session.scalar(
            select(func.count()).select_from(KevRow).where(KevRow.ransomware.is_(True))
        )
        or 0,
        epss=session.scalar(select(func.count()).select_from(EpssRow)) or 0,
        epss_score_date=_iso(session.scalar(select(func.max(EpssRow.score_date)))),
        synced={
            row.source: (row.synced_at, row.cursor, row.detail)
            for row in session.scalars(select(VulnSyncRow))
        },
    )


def vulndb_revision(session: Session) -> tuple[Any, ...]:
    """Return a value that changes whenever the stored knowledge changes (each table's count
    and latest change; unchanged records are never rewritten). Building a matcher over NVD
    takes tens of seconds: cache it under this value (Platform.cached) rather than per scan."""
    revision: list[Any] = []
    for table in (VulnRecordRow, KevRow, EpssRow):
        count, latest = session.execute(select(func.count(), func.max(table.loaded_at))).one()
        revision += [int(count), latest]
    return tuple(revision)


def load_vuln_matcher(session: Session) -> VulnMatcher:
    """Return a matcher built from everything stored (CVE views, criteria, KEV, EPSS)."""
    criteria: dict[tuple[str, str], list[MatchCriterion]] = defaultdict(list)
    # Plain column tuples in MatchCriterion's field order, unpacked by position: reading
    # ~500,000 criteria by attribute name was a good part of the load's time.
    c = VulnCriterionRow.__table__.c
    query = select(
        c.cve_id,
        c.origin,
        c.criteria,
        c.part,
        c.vendor,
        c.product,
        c.vulnerable,
        c.version_start,
        c.start_including,
        c.version_end,
        c.end_including,
        c.configuration,
        c.node,
        c.location,
        c.conditions,
    ).order_by(c.id)
    for cve_id, origin, *fields in session.execute(query):
        criteria[(cve_id, origin)].append(MatchCriterion(*fields))
    r = VulnRecordRow.__table__.c
    records = (
        CveRecord(
            cve_id,
            origin,
            state,
            published,
            last_modified,
            description,
            cvss_score,
            cvss_version,
            cvss_vector,
            tuple(criteria.pop((cve_id, origin), ())),
        )
        for (
            cve_id,
            origin,
            state,
            published,
            last_modified,
            description,
            cvss_score,
            cvss_version,
            cvss_vector,
        ) in session.execute(
            select(
                r.cve_id,
                r.origin,
                r.state,
                r.published,
                r.last_modified,
                r.description,
                r.cvss_score,
                r.cvss_version,
                r.cvss_vector,
            )
        )
    )
    return VulnMatcher(records, _kev_entries(session), _epss_scores(session))


def _kev_entries(session: Session) -> Iterable[KevEntry]:
    for row in session.execute(select(KevRow.__table__)):
        yield KevEntry(
            cve_id=row.cve_id,
            vendor_project=row.vendor_project,
            product=row.product,
            name=row.name,
            date_added=row.date_added,
            due_date=row.due_date,
            ransomware=row.ransomware,
            required_action=row.required_action,
            short_description=row.short_description,
        )


def _epss_scores(session: Session) -> Iterable[EpssScore]:
    table = EpssRow.__table__
    for row in session.execute(select(table)):
        yield EpssScore(row.cve_id, row.epss, row.percentile, row.score_date, row.model_version)


def _table(mapped: Any) -> Table:
    table: Table = mapped.__table__
    return table


def _upsert(session: Session, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _insert(session, table.__table__)
    updated = {k: statement.excluded[k] for k in rows[0] if k not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=keys, set_=updated), rows)


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
