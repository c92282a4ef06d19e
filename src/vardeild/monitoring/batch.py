"""One batch in memory: parse each record, attribute both sides, match indicators, decide
what to keep, and turn each kept event into its row (or the reason it cannot be stored).

No database access happens here: the pipeline hands in the indexes it read for the batch, and
writes what comes out in the batch's transaction. This is the hot loop, run for every record, so
it works on the parsers' msgspec Structs directly and keeps per-record work to dict and trie
lookups (../shared/LIMITS.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from typing import Any, Protocol, cast

import msgspec

from vardeild.members.attribution import AttributionIndex
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.model import (
    EVENT_POSITION,
    Event,
    EventKind,
    ParseError,
    SensorStats,
    StoredEventData,
)
from vardeild.monitoring.parsers.eve import EveParser
from vardeild.monitoring.parsers.eve_screen import EveScreen, Screening
from vardeild.monitoring.parsers.shadowserver import ShadowserverParser
from vardeild.monitoring.parsers.shadowserver_lane import LaneRows, ReportLane
from vardeild.monitoring.store import Outcome
from vardeild.monitoring.suppression import Suppressor


class IndicatorMatcher(Protocol):
    """What the intel domain's matcher offers the pipeline."""

    def match(self, event: Event) -> list[int]:
        """Return the ids of indicators any observable of event matches."""
        ...


@dataclass
class Work:
    """A batch, processed in memory, before the write: the events to store with their rows,
    the bad records with their reasons, and what is only counted."""

    keep: list[tuple[Event, dict[str, Any]]] = field(default_factory=list)
    bad: list[tuple[RawRecord, str]] = field(default_factory=list)
    stats: list[SensorStats] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    hits: dict[int, int] = field(default_factory=dict)
    sightings: dict[int, list[Any]] = field(default_factory=dict)
    records: int = 0  # how many records the batch held (its blocks' lines included)
    # A Shadowserver batch the lane took (parsers/shadowserver_lane.py): its rows to store,
    # beside `keep` (then empty), which holds the events of every other batch.
    lane: LaneRows | None = None


class BatchProcessor:
    """Parses, attributes, matches and sorts the records of batches; holds one parser per
    sensor (EVE) and report type (Shadowserver), and nothing else between batches."""

    def __init__(
        self,
        *,
        store_unattributed: bool,
        screen: bool = True,
        lane: bool = True,
        window_seconds: int = 3600,
    ) -> None:
        """store_unattributed keeps events that touch no member (else they are only counted);
        screen counts the EVE protocol lines that need no full parse without one (see
        parsers/eve_screen.py; False sends every line through the full parser); lane lets
        plain Shadowserver batches become rows in C (parsers/shadowserver_lane.py; False
        sends them through the general path); window_seconds is the alerts' window, which
        the lane works out per row."""
        self._store_unattributed = store_unattributed
        self._screening = screen
        self._lane = lane
        self._window_seconds = window_seconds
        # Set by the pipeline for SQLite: the lane then writes times as the text it stores.
        self.text_times = False
        self._lanes: dict[str | None, ReportLane] = {}
        self._screen: EveScreen | None = None
        self._screened_with: tuple[object, object] = (None, None)
        self._eve: dict[str | None, EveParser] = {}
        self._shadowserver: dict[str | None, ShadowserverParser] = {}
        self._encode = msgspec.json.Encoder().encode

    def process(
        self,
        batch: RawBatch,
        now: datetime,
        index: AttributionIndex,
        matcher: IndicatorMatcher | None,
        suppressor: Suppressor,
    ) -> Work:
        work = Work()
        counts, seen, keep = work.counts, work.seen, work.keep
        owner_of_ip = index.owner_of_ip
        match = matcher.match if matcher is not None else None
        store_unattributed = self._store_unattributed
        protocol = EventKind.PROTOCOL
        batch_sensor = batch.sensor
        records = batch.records
        work.records = len(records)
        screen = None
        if batch.feed is Feed.EVE and self._screening:
            screen = self._screen_for(index, matcher)
        if batch.blocks:
            if screen is not None and screen.takes_blocks:
                # Records are made only of the lines the screen does not count.
                rest = screen.screen(records, batch_sensor, counts, seen) if records else []
                kept, lines = screen.screen_blocks(batch.blocks, batch_sensor, counts, seen)
                records, screen = rest + kept, None
                work.records += lines
            else:
                records = batch.all_records()
                work.records = len(records)
        if screen is not None:
            records = screen.screen(records, batch_sensor, counts, seen)
        if batch.feed is Feed.SHADOWSERVER and self._lane and records:
            taken = self._lane_rows(batch, now, index, matcher)
            # A rule that could suppress one of its rows sends the batch the general way.
            if taken is not None and not (
                suppressor
                and suppressor.concerns(
                    (m for r in taken.rows for m in (r[_SOURCE_MEMBER], r[_DESTINATION_MEMBER])),
                    classification=(
                        taken.template.classification_identifier,
                        taken.template.classification_type,
                    ),
                )
            ):
                self._lane_work(work, taken, batch_sensor)
                return work
        for record, item in self._parsed(batch, records, now):
            if type(item) is str:
                work.bad.append((record, item))
                quarantined = (batch_sensor or "", Outcome.QUARANTINED)
                counts[quarantined] = counts.get(quarantined, 0) + 1
                if batch_sensor:
                    seen[batch_sensor] = seen.get(batch_sensor, 0) + 1
                continue
            if type(item) is SensorStats:
                work.stats.append(item)
                name = item.sensor or batch_sensor or ""
                if name:
                    seen[name] = seen.get(name, 0) + 1
                tally: tuple[str, str] = (name, Outcome.SENSOR_STATS)
                counts[tally] = counts.get(tally, 0) + 1
                continue
            event: Event = item
            sensor = event.sensor
            if sensor is None and batch_sensor:
                event.sensor = sensor = batch_sensor
            if sensor:
                seen[sensor] = seen.get(sensor, 0) + 1
            ip = event.source_ip
            source = owner_of_ip(ip) if ip else None
            if source is None and (event.source_fqdn or event.source_asn):
                source = _owner_by_name(index, event.source_fqdn, event.source_asn)
            ip = event.destination_ip
            target = owner_of_ip(ip) if ip else None
            if target is None and (event.destination_fqdn or event.destination_asn):
                target = _owner_by_name(index, event.destination_fqdn, event.destination_asn)
            matched = match(event) if match is not None else None
            if matched:
                event.matched_indicators = matched
                at = event.time_source or event.time_observation
                for indicator in matched:
                    sighting = work.sightings.get(indicator)
                    if sighting is None:
                        work.sightings[indicator] = [1, at]
                    else:
                        sighting[0] += 1
                        if at > sighting[1]:
                            sighting[1] = at
            outcome: str | None = None
            if source is None and target is None and not store_unattributed:
                outcome = Outcome.UNATTRIBUTED
            elif event.kind is protocol and not matched:
                outcome = Outcome.UNMATCHED_PROTOCOL
            else:
                event.source_member = source
                event.destination_member = target
                if suppressor:
                    rule = suppressor.match(event)
                    if rule is not None:
                        work.hits[rule] = work.hits.get(rule, 0) + 1
                        outcome = Outcome.SUPPRESSED
            if outcome is not None:
                key = (sensor or "", outcome)
                counts[key] = counts.get(key, 0) + 1
                continue
            row, problem = self._row(event)
            if problem is not None:
                work.bad.append((record, problem))
                quarantined = (sensor or "", Outcome.QUARANTINED)
                counts[quarantined] = counts.get(quarantined, 0) + 1
                continue
            keep.append((event, row))
        # The same record twice in one batch is stored once and counted a duplicate.
        unique: dict[str, tuple[Event, dict[str, Any]]] = {}
        for pair in keep:
            if pair[0].fingerprint in unique:
                key = (pair[0].sensor or "", Outcome.DUPLICATE)
                counts[key] = counts.get(key, 0) + 1
            else:
                unique[pair[0].fingerprint] = pair
        if len(unique) != len(keep):
            work.keep = list(unique.values())
        return work

    def _lane_rows(
        self,
        batch: RawBatch,
        now: datetime,
        index: AttributionIndex,
        matcher: IndicatorMatcher | None,
    ) -> LaneRows | None:
        """Return the batch's rows as the Shadowserver lane makes them, or None when the
        general path must take the batch (a matcher that cannot screen sends it there too)."""
        screen: object | None = None
        if matcher is not None:
            if not hasattr(matcher, "hits_ip"):
                return None
            if len(cast("Sized", matcher)):
                screen = matcher
        lane = self._lanes.get(batch.report_type)
        if lane is None:
            parser = self._report_parser(batch.report_type)
            lane = self._lanes[batch.report_type] = ReportLane(parser)
        return lane.rows(
            [r.data for r in batch.records],
            filename=batch.filename or "",
            observed_at=now,
            attribution=index,
            screen=screen,
            store_unattributed=self._store_unattributed,
            window_seconds=self._window_seconds,
            sensor=batch.sensor,
            text_times=self.text_times,
        )

    @staticmethod
    def _lane_work(work: Work, taken: LaneRows, sensor: str | None) -> None:
        """Count a batch the lane took, as the general path counts the same outcomes: the
        records that touched no member, the sensor's records, and a row given twice in the
        batch (stored once, counted a duplicate)."""
        counts, name = work.counts, sensor or ""
        if taken.unattributed:
            key = (name, Outcome.UNATTRIBUTED)
            counts[key] = counts.get(key, 0) + taken.unattributed
        if sensor:
            work.seen[sensor] = work.seen.get(sensor, 0) + work.records
        rows = taken.rows
        fingerprints = {row[_FINGERPRINT] for row in rows}
        if len(fingerprints) != len(rows):
            unique: dict[str, int] = {}
            for position, row in enumerate(rows):
                unique.setdefault(row[_FINGERPRINT], position)
            kept = sorted(unique.values())
            counts[(name, Outcome.DUPLICATE)] = len(rows) - len(kept)
            taken = LaneRows(
                [rows[i] for i in kept],
                [taken.windows[i] for i in kept],
                [taken.times[i] for i in kept],
                taken.unattributed,
                taken.template,
            )
        work.lane = taken

    def _report_parser(self, report_type: str | None) -> ShadowserverParser:
        parser = self._shadowserver.get(report_type)
        if parser is None:
            parser = self._shadowserver[report_type] = ShadowserverParser(report_type)
        return parser

    def _screen_for(
        self, index: AttributionIndex, matcher: IndicatorMatcher | None
    ) -> EveScreen | None:
        """Return the EVE screen for this index and matcher (it remembers their answers), or
        None when the matcher cannot screen (then every line takes the full path)."""
        if matcher is not None and not hasattr(matcher, "hits_name"):
            return None
        held_index, held_matcher = self._screened_with
        if self._screen is None or held_index is not index or held_matcher is not matcher:
            self._screen = EveScreen(
                index.owner_of_ip,
                cast("Screening | None", matcher),
                store_unattributed=self._store_unattributed,
                outcomes=(Outcome.UNATTRIBUTED, Outcome.UNMATCHED_PROTOCOL),
            )
            self._screened_with = (index, matcher)
        return self._screen

    def _parsed(
        self, batch: RawBatch, records: list[RawRecord], now: datetime
    ) -> Iterator[tuple[RawRecord, Any]]:
        """Yield each of the batch's records given with its Event or SensorStats, or the
        reason it is quarantined."""
        if batch.feed is Feed.EVE:
            parser = self._eve.get(batch.sensor)
            if parser is None:
                parser = self._eve[batch.sensor] = EveParser(sensor=batch.sensor)
            parse = parser.parse_line
            for record in records:
                try:
                    yield record, parse(record.data, observed_at=now)
                except ParseError as exc:
                    yield record, str(exc) or "unparseable"
                except RecursionError:
                    yield record, "JSON nested too deeply"
                except Exception as exc:  # a parser bug must not stop the stream
                    yield record, f"the parser failed: {type(exc).__name__}: {exc}"
            return
        yield from self._parsed_reports(batch, now)

    def _parsed_reports(self, batch: RawBatch, now: datetime) -> Iterator[tuple[RawRecord, Any]]:
        """Shadowserver: each record is a header line and one row. Plain rows go through the
        parser's compiled fast path; otherwise records sharing a header are parsed as one
        document (one outcome per row, in order), else one by one."""
        parser = self._report_parser(batch.report_type)
        filename = batch.filename or ""
        records = batch.records
        try:  # plain rows, the common case, all at once; else the general path below
            events = parser.parse_records(
                [r.data for r in records], filename=filename, observed_at=now
            )
        except Exception:
            events = None
        if events is not None:
            yield from zip(records, events, strict=True)
            return
        header, _, _ = records[0].data.partition(b"\n") if records else (b"", b"", b"")
        if len(records) > 1 and all(r.data.startswith(header + b"\n") for r in records):
            document = header + b"\n" + b"".join(_row_of(r.data, len(header)) for r in records)
            try:
                outcomes = [
                    o for _, o in parser.parse_bytes(document, filename=filename, observed_at=now)
                ]
            except Exception:  # fall back to one record at a time, which names the bad one
                outcomes = []
            if len(outcomes) == len(records):
                for record, outcome in zip(records, outcomes, strict=True):
                    yield record, str(outcome) if isinstance(outcome, ParseError) else outcome
                return
        for record in records:
            try:
                found = [
                    o
                    for _, o in parser.parse_bytes(record.data, filename=filename, observed_at=now)
                ]
            except RecursionError:
                found = [ParseError("nested too deeply")]
            except Exception as exc:
                found = [ParseError(f"the parser failed: {type(exc).__name__}: {exc}")]
            errors = [o for o in found if isinstance(o, ParseError)]
            if errors or not found:
                yield record, str(errors[0]) if errors else "the record holds no data row"
                continue
            for outcome in found:
                yield record, outcome

    def _row(self, event: Event) -> tuple[dict[str, Any], str | None]:
        """Return the event's row for the events table (setting its fingerprint), or the reason
        it cannot be stored."""
        raw = event.raw
        sensor = event.sensor
        event.fingerprint = fingerprint = blake2b(
            f"{event.feed_name}\x1f{sensor or ''}\x1f{raw}".encode("utf-8", "surrogatepass"),
            digest_size=16,
        ).hexdigest()
        try:
            # data: the harmonised event without the fields that have columns (COLUMN_FIELDS)
            data = self._encode(_convert(event, StoredEventData, from_attributes=True)).decode()
        except (UnicodeEncodeError, TypeError, ValueError, OverflowError) as exc:
            return {}, f"the event cannot be stored: {exc}"
        source_port, destination_port = event.source_port, event.destination_port
        columns = (
            f"{event.classification_identifier}{event.classification_type}"
            f"{event.classification_taxonomy}{event.feed_code}{event.feed_name}"
            f"{sensor or ''}{event.source_ip or ''}{event.destination_ip or ''}"
        )
        # The full checks only when something is suspect: JSON writes NUL as \u0000; the text
        # columns are checked apart from data, which no longer holds them (ports too).
        if (
            "\\u0000" in data
            or "\x00" in raw
            or not raw.isascii()
            or "\x00" in columns
            or not columns.isascii()
            or (source_port is not None and not 0 <= source_port <= 65535)
            or (destination_port is not None and not 0 <= destination_port <= 65535)
        ):
            problem = _unstorable(event, raw)
            if problem is not None:
                return {}, problem
        return {
            "fingerprint": fingerprint,
            "time_source": event.time_source,
            "time_observation": event.time_observation,
            "kind": _KIND_VALUES[event.kind],
            "feed_name": event.feed_name,
            "feed_code": event.feed_code,
            "classification_taxonomy": event.classification_taxonomy,
            "classification_type": event.classification_type,
            "classification_identifier": event.classification_identifier,
            "severity": int(event.severity),
            "source_ip": event.source_ip,
            "source_port": source_port,
            "destination_ip": event.destination_ip,
            "destination_port": destination_port,
            "source_member_id": event.source_member,
            "destination_member_id": event.destination_member,
            "sensor": sensor,
            "data": data,
            "raw": raw,
        }, None


_FINGERPRINT = EVENT_POSITION["fingerprint"]  # in a lane row
_SOURCE_MEMBER = EVENT_POSITION["source_member_id"]
_DESTINATION_MEMBER = EVENT_POSITION["destination_member_id"]
_KIND_VALUES = {kind: kind.value for kind in EventKind}  # .value is slow on an enum member
_convert = msgspec.convert


def _owner_by_name(index: AttributionIndex, fqdn: str | None, asn: int | None) -> int | None:
    """Return the member owning the host name, else the AS number (when the address is not
    registered, or there is none: report rows often name only a host or an AS)."""
    owner = index.owner_of_domain(fqdn) if fqdn else None
    if owner is None and asn is not None:
        owner = index.owner_of_asn(asn)
    return owner


_TEXT_COLUMNS = (
    "classification_identifier",
    "classification_type",
    "classification_taxonomy",
    "feed_code",
    "feed_name",
    "sensor",
    "source_ip",
    "destination_ip",
)


def _unstorable(event: Event, raw: str) -> str | None:
    """Return why the event would break its batch's insert, else None: PostgreSQL refuses NUL
    in text, both databases an unencodable string, and a port must fit its column."""
    joined = (
        f"{raw}{event.classification_identifier}{event.classification_type}"
        f"{event.classification_taxonomy}{event.feed_code}{event.feed_name}"
        f"{event.sensor}{event.source_ip}{event.destination_ip}"
    )
    if "\x00" in joined:
        where = next((n for n in _TEXT_COLUMNS if "\x00" in (getattr(event, n) or "")), "raw")
        return f"the event cannot be stored: {where} holds a NUL character"
    for name, text in ((n, getattr(event, n)) for n in _TEXT_COLUMNS):
        if text and not text.isascii():
            try:
                text.encode()
            except UnicodeEncodeError as exc:
                return f"the event cannot be stored: {name} is not valid Unicode ({exc.reason})"
    if not raw.isascii():
        try:
            raw.encode()
        except UnicodeEncodeError as exc:
            return f"the event cannot be stored: raw is not valid Unicode ({exc.reason})"
    for name in ("source_port", "destination_port"):
        port = getattr(event, name)
        if port is not None and not 0 <= port <= 65535:
            return f"the event cannot be stored: {name} {port} is not a port (0-65535)"
    return None


def _row_of(data: bytes, header_length: int) -> bytes:
    """Return a header-and-row record's row, ending in a newline."""
    row = data[header_length + 1 :]
    return row if row.endswith(b"\n") else row + b"\n"
