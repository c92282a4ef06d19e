"""The pipeline: raw records in; events attributed, matched, stored and folded into alerts.

    pipeline = Pipeline(platform.session, clock=platform.clock, config=PipelineConfig(...))
    result = pipeline.ingest(RawBatch(source="file:/var/log/eve.json", feed=Feed.EVE, ...))

One batch is one transaction: its events, alert upserts, quarantine rows, counters, suppression
hits, indicator sightings, sensor hooks, checkpoint and batch key commit together or not at all,
and `ingest` returns only after the commit. A batch whose key was committed before is skipped
whole; every stored event has a unique fingerprint (blake2b of feed, sensor and raw record), and
only newly stored events fold into alerts, so a batch delivered twice changes nothing.

What is kept: alerts, anomalies, drops and report rows that touch a member (either side);
protocol records only when they matched an indicator (they are evidence). Events that touch no
member are counted in `ingest_counters`, not stored (setting store_unattributed_events). A
record that cannot be parsed, or whose event could not be stored (a NUL character, an
unencodable string, a port out of range), is quarantined alone with its source, position and
reason; the records around it go on.

Speed (../shared/LIMITS.md): no SQL and no ORM object per event; the attribution index, the
indicator matcher and the critical members are rebuilt only when their revision counters move,
read at most once per batch, and frozen out of the garbage collector's reach.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM
from vardeild.core.clock import Clock
from vardeild.members.attribution import AttributionIndex
from vardeild.members.lookup import build_attribution_index
from vardeild.members.model import Criticality
from vardeild.members.service import OrganisationQuery, list_organisations, registry_revision
from vardeild.monitoring import quarantine, store
from vardeild.monitoring.alerts import AlertDraft, fold_event, fold_rows
from vardeild.monitoring.batch import BatchProcessor, IndicatorMatcher, Work
from vardeild.monitoring.ingest import IngestResult, RawBatch
from vardeild.monitoring.model import EVENT_POSITION, SensorStats
from vardeild.monitoring.store import Outcome
from vardeild.monitoring.suppression import Suppressor, load_suppressor

T = TypeVar("T")
SessionFactory = Callable[[], AbstractContextManager[Session]]
SensorStatsHook = Callable[[Session, SensorStats], None]
SensorSeenHook = Callable[[Session, str, int, datetime], None]
Cache = Callable[[str, Any, Callable[[], Any]], Any]


# Where the pipeline reads and sets a row of values (model.EVENT_COLUMNS).
_ID, _FINGERPRINT, _ALERT_ID = (EVENT_POSITION[c] for c in ("id", "fingerprint", "alert_id"))


@dataclass(frozen=True)
class IndicatorSource:
    """How the pipeline reaches threat intelligence; wired by the composition root to
    vardeild.intel.matcher_source (load_matcher, matcher_is_current, record_sightings). The
    matcher is rebuilt only when `is_current` says the indicators changed or one of them
    expired."""

    load: Callable[[Session, datetime], IndicatorMatcher]
    is_current: Callable[[Session, IndicatorMatcher, datetime], bool]
    record_sightings: Callable[[Session, Mapping[int, tuple[int, datetime]]], None]


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline's knobs, from the settings of the same names."""

    alert_window: timedelta = timedelta(minutes=60)
    store_unattributed: bool = False
    attempts: int = 5  # tries at a batch that meets a concurrent writer or a busy database
    # Let `write_behind` overlap a batch's write with the next one's parsing. Needs a session
    # factory whose sessions may run on another thread, each on its own connection (an
    # engine's pool, as Platform.session has; not a test's one shared connection).
    write_behind: bool = False


@dataclass(frozen=True)
class _Indexes:
    """What processing a batch reads from the database: attribution, critical members,
    indicators, suppression rules."""

    index: AttributionIndex
    critical: frozenset[int]
    matcher: IndicatorMatcher | None
    suppressor: Suppressor


class _Skipped(Exception):
    """The batch key was committed before."""


@dataclass
class _PreFolded:
    """A lane batch's rows folded into alert drafts before its write (on the reading thread),
    with each row's position in place of its event id, which only the write allocates."""

    drafts: dict[tuple[int, str, str, int], AlertDraft]
    row_drafts: list[AlertDraft | None]


@dataclass
class _Prepared:
    """A batch processed in memory, waiting for its write transaction; `folded` until a try
    of the write takes it."""

    batch: RawBatch
    work: Work
    now: datetime
    critical: frozenset[int]
    folded: _PreFolded | None = None


class _Group:
    """What the batches of one transaction write together at its end (see `_flush`)."""

    def __init__(self, *, careful: bool) -> None:
        self.careful = careful  # look for the events' fingerprints among the stored ones first
        self.found_stored = False  # and some were there
        self.now: datetime | None = None  # the latest batch's time
        self.drafts: dict[tuple[int, str, str, int], AlertDraft] = {}
        # (draft, the event's values in EVENT_COLUMNS order): alert_id set in _flush
        self.rows: list[tuple[AlertDraft | None, list[Any]]] = []
        self.fingerprints: set[str] = set()  # events stored by the group's earlier batches
        self.last_id = 0  # the largest event id the group allocated
        self.touched: list[tuple[IngestResult, list[AlertDraft]]] = []
        self.counters: dict[tuple[datetime, str], dict[tuple[str, str], int]] = {}
        self.hits: dict[int, int] = {}
        self.sightings: dict[int, tuple[int, datetime]] = {}
        self.seen: dict[tuple[str, datetime], tuple[int, datetime]] = {}

    def add_counts(self, now: datetime, feed: str, counts: Mapping[tuple[str, str], int]) -> None:
        hour = now.replace(minute=0, second=0, microsecond=0)
        into = self.counters.setdefault((hour, feed), {})
        for key, n in counts.items():
            into[key] = into.get(key, 0) + n

    def add_tallies(self, work: Work, now: datetime) -> None:
        self.now = now if self.now is None else max(self.now, now)
        for rule, n in work.hits.items():
            self.hits[rule] = self.hits.get(rule, 0) + n
        for indicator, (n, last) in work.sightings.items():
            before = self.sightings.get(indicator)
            self.sightings[indicator] = (
                (n, last) if before is None else (before[0] + n, max(before[1], last))
            )
        hour = now.replace(minute=0, second=0, microsecond=0)
        for name, n in work.seen.items():
            held = self.seen.get((name, hour))
            self.seen[(name, hour)] = (n, now) if held is None else (held[0] + n, max(held[1], now))


def _skipped(batch: RawBatch) -> IngestResult:
    return IngestResult(records=len(batch.all_records()), skipped_batch=True)


def tune_gc() -> None:
    """Make the collector run rarely: a pipeline allocates millions of short-lived objects and
    no cycles among them, and collections cost it 40 % (../shared/LIMITS.md)."""
    gc.set_threshold(100_000, 50, 100)


class Pipeline:
    """Turns raw batches into stored events and alerts; implements `EventSink`."""

    # A file reader may hand it EVE lines unsplit (RawBatch.blocks): BatchProcessor splits
    # them, or screens them making records only of the lines it does not count.
    takes_blocks = True

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        clock: Clock,
        config: PipelineConfig | None = None,
        indicators: IndicatorSource | None = None,
        on_sensor_stats: SensorStatsHook | None = None,
        on_sensor_seen: SensorSeenHook | None = None,
        cache: Cache | None = None,
    ) -> None:
        """session_factory yields a session in a transaction that commits on leaving (as
        Platform.session does); cache (Platform.cached) shares the attribution index with the
        rest of the process, else the pipeline keeps its own."""
        self._session_factory = session_factory
        self._clock = clock
        self._config = config or PipelineConfig()
        self._indicators = indicators
        self._on_sensor_stats = on_sensor_stats
        self._on_sensor_seen = on_sensor_seen
        self._cache = cache or self._own_cache
        self._held: dict[str, tuple[Any, Any]] = {}
        self._matcher: IndicatorMatcher | None = None
        self._frozen: tuple[int, ...] = ()
        # Whether a write looks for its events' fingerprints among the stored ones first. It
        # need not: the insert refuses a stored fingerprint (the count inserted tells), and the
        # transaction is then tried again carefully (`_retrying`). Looking first costs a query
        # over every fingerprint of the batch (~0.2 s per 70,000 on SQLite), and events are
        # rarely stored twice (files resume from checkpoints, resent batches carry their keys).
        self._careful = False
        self._window = max(1, int(self._config.alert_window.total_seconds()))
        self._batches = BatchProcessor(
            store_unattributed=self._config.store_unattributed, window_seconds=self._window
        )

    # --- the contract ------------------------------------------------------------------------

    def ingest(self, batch: RawBatch) -> IngestResult:
        """Durably take in a batch and return what became of it (after the commit)."""
        return self._run(batch, replaying=None)

    def ingest_many(self, batches: Sequence[RawBatch]) -> list[IngestResult]:
        """Durably take in several batches in one transaction (one commit) and return each
        one's result, in order. For the JetStream workers, whose messages are small: a commit
        per message would leave a worker mostly waiting for the disk. Each batch keeps its own
        key, so one delivered before is skipped alone; if the transaction fails, none of them
        was taken in and none may be acknowledged.

        The batches are processed in memory first (outside the write transaction), and the
        rows every batch touches in common (alerts, hourly counters, rule hits, sightings,
        sensors) are written once for the group, in key order, at its end: two workers then
        lock those rows in one order, for the shortest time, instead of taking turns on them
        for a whole transaction each."""
        if not batches:
            return []
        return self._write_group(self._prepare_all(batches))

    def write_behind(self) -> WriteBehind | None:
        """Return a write-behind front for a reader that sends batches one after another (the
        file readers), or None if the config does not allow one."""
        return WriteBehind(self) if self._config.write_behind else None

    def replay(self, quarantine_id: int) -> IngestResult:
        """Parse a held quarantine record again with the current parser: on success its event
        is ingested and the record marked replayed; on failure it stays held with the new
        reason and one more attempt. NotFound if there is no such held record."""
        with self._session_factory() as session:
            batch = quarantine.batch_of(session, quarantine_id)
        return self._run(batch, replaying=quarantine_id)

    def _run(self, batch: RawBatch, *, replaying: int | None) -> IngestResult:
        try:
            return self._retrying(lambda session: self._ingest_in(session, batch, replaying))
        except _Skipped:
            return _skipped(batch)

    def _retrying(self, attempt: Callable[[Session], T]) -> T:
        """Run attempt in a transaction, again (up to the configured attempts) when it meets a
        concurrent writer: another worker stored the same events first, or SQLite was busy.
        All of the try was rolled back, and the next one sees what the other committed.

        A try that did not look for stored fingerprints first (see `_careful`) and met one
        does not count: the next try looks, and so do the tries after it until a batch holds
        no stored event again."""
        n = 1
        while True:
            careful = self._careful
            try:
                with self._session_factory() as session:
                    return attempt(session)
            except (store.ConcurrentWrite, IntegrityError, OperationalError) as exc:
                if not careful and not isinstance(exc, OperationalError):
                    self._careful = True
                    continue
                if n == self._config.attempts:
                    raise
                time.sleep(0.05 * n)
                n += 1

    # --- one batch, in one transaction -------------------------------------------------------

    def _ingest_in(self, session: Session, batch: RawBatch, replaying: int | None) -> IngestResult:
        now = self._clock.now()
        self._claim(session, batch, now)
        index, critical, matcher = self._indexes(session, now)
        suppressor = load_suppressor(session, now=now)
        work = self._batches.process(batch, now, index, matcher, suppressor)
        return self._write(session, _Prepared(batch, work, now, critical), replaying)

    def _claim(self, session: Session, batch: RawBatch, now: datetime) -> None:
        """The batch's first writes: its key (raise _Skipped if committed before) and its
        checkpoint. On SQLite the first write takes the database's write lock, so the ids
        allocated later cannot be taken by another writer before the commit."""
        if batch.batch_key is not None and not store.claim_batch_key(
            session, source=batch.source, batch_key=batch.batch_key, at=now
        ):
            raise _Skipped
        if batch.checkpoint is not None:
            store.save_checkpoint(session, batch.checkpoint, at=now)

    def _prepare(self, batch: RawBatch, indexes: _Indexes | None = None) -> _Prepared:
        """Process a batch in memory, outside its write transaction (write-behind), with
        indexes if given (read by the write in flight), else read here."""
        return self._prepare_all([batch], indexes)[0]

    def _prepare_all(
        self, batches: Sequence[RawBatch], indexes: _Indexes | None = None
    ) -> list[_Prepared]:
        """Process batches in memory, with the indexes read once, in a short transaction of
        their own (unless given): the write transaction runs later (on the writer, or for the
        group)."""
        now = self._clock.now()
        if indexes is None:
            with self._session_factory() as session:
                indexes = self._read_indexes(session, now)
        index, critical, matcher, suppressor = (
            indexes.index,
            indexes.critical,
            indexes.matcher,
            indexes.suppressor,
        )
        process = self._batches.process
        prepared = []
        for batch in batches:
            work = process(batch, now, index, matcher, suppressor)
            prepared.append(_Prepared(batch, work, now, critical, _pre_fold(work, critical)))
        return prepared

    def _read_indexes(self, session: Session, now: datetime) -> _Indexes:
        index, critical, matcher = self._indexes(session, now)
        return _Indexes(index, critical, matcher, load_suppressor(session, now=now))

    def _write_prepared(
        self, prepared: _Prepared, on_begin: Callable[[Session], None] | None = None
    ) -> IngestResult:
        """Write a prepared batch in its own transaction (write-behind's writer)."""
        return self._write_group([prepared], on_begin)[0]

    def _write_group(
        self, prepared: list[_Prepared], on_begin: Callable[[Session], None] | None = None
    ) -> list[IngestResult]:
        """Write prepared batches in one transaction, each claiming its key and checkpoint
        (one committed before is skipped alone), the rows they share written once at the end
        (`_flush`). The processed work is kept across tries; its counts are restored.
        on_begin runs first in each try's transaction."""
        counts = [dict(each.work.counts) for each in prepared]

        def attempt(session: Session) -> list[IngestResult]:
            if on_begin is not None:
                on_begin(session)
            group = _Group(careful=self._careful)
            results: list[IngestResult] = []
            for each, before in zip(prepared, counts, strict=True):
                each.work.counts = dict(before)  # a failed try added to them
                try:
                    self._claim(session, each.batch, each.now)
                except _Skipped:
                    # Nothing of this batch was written: the key is its first write.
                    results.append(_skipped(each.batch))
                    continue
                results.append(self._add(session, each, None, group))
            self._flush(session, group)
            return results

        return self._retrying(attempt)

    def _write(self, session: Session, prepared: _Prepared, replaying: int | None) -> IngestResult:
        """Write a processed batch: events, alerts, quarantine, counters, hits, sightings and
        the sensor hooks, in session's transaction (the key and checkpoint are claimed)."""
        group = _Group(careful=self._careful)
        result = self._add(session, prepared, replaying, group)
        self._flush(session, group)
        return result

    def _add(
        self, session: Session, prepared: _Prepared, replaying: int | None, group: _Group
    ) -> IngestResult:
        """Write what is the batch's alone (its quarantine rows; its stats), allocate its
        events' ids, and leave to `_flush` what it shares with the group's other batches."""
        batch, work, now = prepared.batch, prepared.work, prepared.now
        result = IngestResult(records=work.records)
        lane = work.lane
        fingerprints = [event.fingerprint for event, _ in work.keep]
        if lane is not None:
            fingerprints += [values[_FINGERPRINT] for values in lane.rows]
        existing = (
            store.existing_fingerprints(session, fingerprints)
            if fingerprints and group.careful
            else set()
        )
        group.found_stored = group.found_stored or bool(existing)
        existing.update(f for f in fingerprints if f in group.fingerprints)
        new = [(event, row) for event, row in work.keep if event.fingerprint not in existing]
        lane_rows, lane_windows, lane_times = (
            (lane.rows, lane.windows, lane.times) if lane is not None else ([], [], [])
        )
        if existing and lane_rows:
            fresh = [i for i, v in enumerate(lane_rows) if v[_FINGERPRINT] not in existing]
            lane_rows = [lane_rows[i] for i in fresh]
            lane_windows = [lane_windows[i] for i in fresh]
            lane_times = [lane_times[i] for i in fresh]
        ids = store.allocate_event_ids(session, len(new) + len(lane_rows))
        if ids and ids[0] <= group.last_id:
            # SQLite allocates after the largest stored id, and the group's earlier batches'
            # events are not stored yet (PostgreSQL's sequence never comes back here).
            ids = list(range(group.last_id + 1, group.last_id + 1 + len(ids)))
        if ids:
            group.last_id = ids[-1]
        window, critical, drafts = self._window, prepared.critical, group.drafts
        # An event folds into an alert per member it touches; a draft this batch grew or made
        # is one of its alerts.
        before = {key: draft.count for key, draft in drafts.items()}
        for (event, row), event_id in zip(new, ids[: len(new)], strict=True):
            row["id"], row["alert_id"] = event_id, None  # alert_id: set by _flush
            group.fingerprints.add(event.fingerprint)
            draft = fold_event(
                drafts, event, event_id, window_seconds=window, critical_members=critical
            )
            group.rows.append((draft, list(store.EVENT_VALUES(row))))
        if lane_rows:
            lane_ids = ids[len(new) :]
            for values, event_id in zip(lane_rows, lane_ids, strict=True):
                values[_ID] = event_id
            group.fingerprints.update(values[_FINGERPRINT] for values in lane_rows)
            assert lane is not None
            pre, prepared.folded = prepared.folded, None  # a later try folds afresh
            if pre is not None and not drafts and lane_rows is lane.rows:
                # Folded on the reading thread, as fold_rows would fold them here (no other
                # draft to merge with, no row found stored); only the ids are new.
                for draft in pre.drafts.values():
                    draft.samples = [lane_ids[position] for position in draft.samples]
                drafts.update(pre.drafts)
                folded = pre.row_drafts
            else:
                folded = fold_rows(
                    drafts,
                    lane.template,
                    lane_rows,
                    lane_windows,
                    lane_times,
                    lane_ids,
                    critical_members=critical,
                )
            group.rows += zip(folded, lane_rows, strict=True)
        touched = [d for key, d in drafts.items() if before.get(key) != d.count]
        counts = work.counts
        for event, _ in work.keep:
            kept = Outcome.DUPLICATE if event.fingerprint in existing else Outcome.STORED
            key = (event.sensor or "", kept)
            counts[key] = counts.get(key, 0) + 1
        if lane is not None:
            sensor = batch.sensor or ""
            for kept, n in (
                (Outcome.STORED, len(lane_rows)),
                (Outcome.DUPLICATE, len(lane.rows) - len(lane_rows)),
            ):
                if n:
                    counts[(sensor, kept)] = counts.get((sensor, kept), 0) + n
        totals: dict[str, int] = {}
        for (_, outcome), n in counts.items():
            totals[outcome] = totals.get(outcome, 0) + n
        result.events_stored = len(new) + len(lane_rows)
        result.events_duplicate = totals.get(Outcome.DUPLICATE, 0)
        result.events_unattributed = totals.get(Outcome.UNATTRIBUTED, 0)
        result.events_suppressed = totals.get(Outcome.SUPPRESSED, 0)
        result.events_unmatched_protocol = totals.get(Outcome.UNMATCHED_PROTOCOL, 0)
        result.quarantined = len(work.bad)
        result.sensor_stats = len(work.stats)
        group.touched.append((result, touched))
        if replaying is None:
            store.insert_quarantine(session, quarantine.rows_for(batch, work.bad, received_at=now))
            group.add_counts(now, batch.feed.value, work.counts)
        else:
            quarantine.settle(session, replaying, work.bad[0][1] if work.bad else None, at=now)
        group.add_tallies(work, now)
        if self._on_sensor_stats is not None:
            for stats in work.stats:
                self._on_sensor_stats(session, stats)
        return result

    def _flush(self, session: Session, group: _Group) -> None:
        """Write what the group's batches share, once and in key order: alerts (then the
        events that point at them), hourly counters, rule hits, sightings, sensors seen."""
        if group.careful and not group.found_stored:
            self._careful = False  # no batch held a stored event: the next need not look
        now = group.now
        if now is None:
            return  # every batch was skipped
        store.upsert_alerts(session, group.drafts.values(), now=now)
        for draft, row in group.rows:
            row[_ALERT_ID] = draft.alert_id if draft is not None else None
        store.insert_events(session, [row for _, row in group.rows])
        for result, touched in group.touched:
            result.alert_ids = sorted({draft.alert_id for draft in touched})
            result.alerts_touched = len(result.alert_ids)
        for (hour, feed), counts in sorted(group.counters.items()):
            store.add_counters(session, counts, hour=hour, feed=feed)
        store.add_rule_hits(session, group.hits, at=now)
        if group.sightings and self._indicators is not None:
            self._indicators.record_sightings(
                session, {i: (n, last) for i, (n, last) in sorted(group.sightings.items())}
            )
        if self._on_sensor_seen is not None:
            for (name, _), (count, at) in sorted(group.seen.items()):
                self._on_sensor_seen(session, name, count, at)

    # --- in memory: parse, attribute, match, decide ------------------------------------------

    # --- cached indexes ------------------------------------------------------------------------

    def _indexes(
        self, session: Session, now: datetime
    ) -> tuple[AttributionIndex, frozenset[int], IndicatorMatcher | None]:
        # The Shadowserver lane writes times in the form this database stores them.
        self._batches.text_times = store.stores_times_as_text(session)
        revision = registry_revision(session)
        index: AttributionIndex = self._cache(
            "attribution", revision, lambda: build_attribution_index(session)
        )
        critical: frozenset[int] = self._cache(
            "critical_members", revision, lambda: _critical_members(session)
        )
        matcher = self._matcher
        source = self._indicators
        if source is not None and (matcher is None or not source.is_current(session, matcher, now)):
            matcher = self._matcher = source.load(session, now)
        held = (id(index), id(critical), id(matcher))
        if held != self._frozen:
            # Indexes live until the registry or the indicators change; keeping them out of
            # the collector's generations stops every collection from walking them.
            gc.collect()
            gc.freeze()
            self._frozen = held
        return index, critical, matcher

    def _own_cache(self, name: str, revision: Any, build: Callable[[], Any]) -> Any:
        held = self._held.get(name)
        if held is not None and held[0] == revision:
            return held[1]
        value = build()
        self._held[name] = (revision, value)
        return value


def _pre_fold(work: Work, critical: frozenset[int]) -> _PreFolded | None:
    """Fold a lane batch's rows into drafts ahead of the write (the reading thread has time
    the writer lacks: Shadowserver bench, 0.07 s of the writer's 0.76 s), with row positions
    for event ids; None for any other batch, which the write folds itself."""
    lane = work.lane
    if lane is None or work.keep or not lane.rows:
        return None
    drafts: dict[tuple[int, str, str, int], AlertDraft] = {}
    row_drafts = fold_rows(
        drafts,
        lane.template,
        lane.rows,
        lane.windows,
        lane.times,
        range(len(lane.rows)),
        critical_members=critical,
    )
    return _PreFolded(drafts, row_drafts)


def _critical_members(session: Session) -> frozenset[int]:
    organisations, _ = list_organisations(
        session,
        SYSTEM,
        query=OrganisationQuery(criticality=Criticality.CRITICAL.value),
        limit=2**31 - 1,
    )
    return frozenset(org["id"] for org in organisations)


class WriteBehind:
    """Overlaps writing batch N with processing batch N+1, keeping the order of commits.

        behind = pipeline.write_behind()
        try:
            for batch in batches:
                done.extend(behind.ingest(batch))  # results of batches committed since
        finally:
            done.extend(behind.finish())  # waits for the last commit

    What runs where: the caller's thread parses, attributes, matches and builds the rows of
    each batch (reading the indexes in a short transaction of its own), exactly as `ingest`
    does; one writer thread then writes that batch in its own transaction: key, checkpoint,
    events, alerts, counters, commit. Only the writer's database work overlaps the next
    batch's parsing: the drivers release the GIL while SQLite or the PostgreSQL server works
    and while the commit waits for the disk; the Python around it (rows to driver values,
    folding into alerts) still shares the one core with the parsing.

    The indexes (attribution, indicators, suppression rules) for batch N+1 are read by the
    writer at the start of batch N's transaction, and the caller waits for that read before
    processing N+1. The caller opens no transaction of its own: on SQLite one would wait
    (BEGIN IMMEDIATE) for the writer's whole transaction, and the overlap was lost. The price:
    a change to the registry, indicators or rules made while batch N is written reaches batch
    N+2 rather than N+1 (one batch later: at most 50,000 records or a second).

    Guarantees kept: at most one batch is being written at a time, and batch N+1 is handed to
    the writer only after batch N committed, so commits happen in reading order, each with its
    own checkpoint: a kill at any moment leaves the last committed checkpoint naming exactly
    what was stored, and the reader resumes after it. If a write fails, no later batch is
    written, and the error is raised to the caller by the next `ingest` or `finish`.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vardeild-writer")
        self._pending: Future[IngestResult] | None = None
        self._read: threading.Event | None = None  # set when the write in flight read them
        self._indexes: _Indexes | None = None

    def ingest(self, batch: RawBatch) -> list[IngestResult]:
        """Process batch here, wait for the write in flight, hand batch's write to the
        writer; return the result of the write that finished (none for the first batch).
        Raises what that write raised."""
        read, indexes = self._read, None
        if read is not None:
            read.wait()
            indexes = self._indexes  # None if that write failed before reading them
        prepared = self._pipeline._prepare(batch, indexes)
        done = self._collect()
        self._read = read = threading.Event()
        self._pending = self._writer.submit(self._write, prepared, read)
        return done

    def _write(self, prepared: _Prepared, read: threading.Event) -> IngestResult:
        """The writer: read the indexes for the next batch in the transaction, then write."""
        self._indexes = None

        def on_begin(session: Session) -> None:
            if not read.is_set():
                self._indexes = self._pipeline._read_indexes(session, self._pipeline._clock.now())
                read.set()

        try:
            return self._pipeline._write_prepared(prepared, on_begin)
        finally:
            read.set()  # a failed write must not leave the reader waiting

    def finish(self) -> list[IngestResult]:
        """Wait for the write in flight, stop the writer, and return that write's result
        (raise its error). Call it once, also when reading stopped early or failed."""
        try:
            return self._collect()
        finally:
            self._writer.shutdown(wait=True)

    def _collect(self) -> list[IngestResult]:
        pending, self._pending = self._pending, None
        return [] if pending is None else [pending.result()]
