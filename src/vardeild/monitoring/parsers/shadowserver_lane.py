"""The Shadowserver lane: a batch of plain report records turned straight into the events
table's rows by one call into C (`_report_lane.c`), attributed, fingerprinted and with their
`data` JSON, without an Event or a row dict per record.

    lane = ReportLane(parser)                       # one per ShadowserverParser
    taken = lane.rows(records, filename=..., observed_at=now, attribution=index,
                      screen=matcher_or_None, store_unattributed=False,
                      window_seconds=3600, sensor=None)
    # taken: LaneRows, or None: the batch goes the general way (BatchProcessor)

The lane takes a batch only when every outcome in it is one it computes exactly as the
general path would (BatchProcessor.process over the compiled rows function, then `_row`):

- every record is the file's header and one plain row (no quote, carriage return inside the
  line, NUL, blank row, over-long record or bytes that are not UTF-8), with the header's
  number of cells;
- the file's plan is one the compiled path takes, and each of its steps is one of the inline
  rules (time, IPv4 address, port, AS number, host name, lower-cased text) into a field the
  lane knows how to store: the address, port and time columns, or a field of `data` whose
  default is None; every other field is the report's constant;
- every cell those steps read is empty or accepted by the inline rule (a cell the converter
  would have to decide gives the batch up);
- no observable of any row is one the indicator screen says could match (a match needs the
  sightings and the alert's indicators: the general path);
- no suppression rule could apply to one of its rows (the caller, BatchProcessor, asks
  Suppressor.concerns about the rows it gets).

Anything else gives the whole batch to the general path, which is exact and names bad rows:
the lane never quarantines, never matches, never suppresses. Tests hold its rows, byte for
byte, to the general path's on every report of ../shared/data/shadowserver and on mangled
rows.

Without the C extension (no compiler where Vardeild was installed) there is no lane, and every
batch takes the general path: the same events, only slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from vardeild.core.clock import utc_text
from vardeild.monitoring.model import EVENT_COLUMNS, Event, StoredEventData
from vardeild.monitoring.parsers.shadowserver import LOWER_CONVERTER, ShadowserverParser

if TYPE_CHECKING:
    from vardeild.monitoring.parsers.shadowserver import _Plan

native: ModuleType | None
try:
    from vardeild.monitoring.parsers import _report_lane as native
except ImportError:  # built without a C compiler: the general path does everything
    native = None


# Where _report_lane.c writes a row's own values (its C_* positions); tests hold them to this.
NATIVE_POSITIONS = {
    "fingerprint": 1,
    "time_source": 2,
    "source_ip": 11,
    "source_port": 12,
    "destination_ip": 13,
    "destination_port": 14,
    "source_member_id": 15,
    "destination_member_id": 16,
    "data": 19,
    "raw": 20,
}
# The step kinds of _report_lane.c, by the parser's fast path (shadowserver._FAST_PATHS:
# 1 time, 2 IP, 3 port, 4 AS number, 5 host name) and 6 for the `_lower` converter.
_LOWER = 6
# What kinds each field may take in the lane: the columns by their one rule; the fields the
# attribution reads by the type it reads; other `data` fields (default None) any text or number.
_COLUMN_KINDS = {
    "time_source": {1},
    "source_ip": {2},
    "source_port": {3},
    "destination_ip": {2},
    "destination_port": {3},
}
_ROLE_KINDS = {
    "source_asn": {4},
    "destination_asn": {4},
    "source_fqdn": {5, 6},
    "destination_fqdn": {5, 6},
}
_DATA_KINDS = {2, 3, 4, 5, 6}
# The order of _report_lane.c's roles.
_ROLES = (
    "time_source",
    "source_ip",
    "source_port",
    "source_asn",
    "source_fqdn",
    "destination_ip",
    "destination_port",
    "destination_asn",
    "destination_fqdn",
)
# Which screen question an observable the indicator matcher reads needs: 1 hits_ip, 2
# hits_name, 3 hits_digest (intel.matcher.IndicatorMatcher.match reads these fields).
_CHECKS = {
    "source_ip": 1,
    "destination_ip": 1,
    "source_fqdn": 2,
    "destination_fqdn": 2,
    "dns_query": 2,
    "tls_sni": 2,
    "http_host": 2,
    "malware_hash_md5": 3,
    "malware_hash_sha1": 3,
    "malware_hash_sha256": 3,
    "tls_ja3": 3,
    "tls_ja3s": 3,
    "tls_ja4": 3,
}
_STORED_FIELDS = msgspec.structs.fields(StoredEventData)
_STORED_DEFAULTS = {field.name: field.default for field in _STORED_FIELDS}
_encode = msgspec.json.Encoder().encode


class Attribution(Protocol):
    """What the lane asks of the member registry (members.attribution.AttributionIndex)."""

    def owner_of_ip(self, ip: str) -> int | None: ...

    def owner_of_domain(self, name: str) -> int | None: ...

    def owner_of_asn(self, asn: int) -> int | None: ...


@dataclass(frozen=True, slots=True)
class LaneRows:
    """A batch the lane took: the stored rows (lists in model.EVENT_COLUMNS order, id and alert_id
    None; the times as SQLite stores them where asked, see `rows`) of the records that touch a
    member (or all, when unattributed ones are stored), the start of each row's alert window
    (seconds since the epoch), each row's time_source as a datetime, how many touched no
    member, and the batch's constant event (classification, feed, description, severity) the
    rows' alerts are made from."""

    rows: list[list[Any]]
    windows: list[int]
    times: list[datetime]
    unattributed: int
    template: Event


@dataclass(frozen=True, slots=True)
class _Spec:
    """The part of _report_lane.c's spec a plan fixes (the rest is the batch's)."""

    width: int
    steps: tuple[tuple[int, int, int], ...]
    slots: int
    roles: tuple[int, ...]
    program: tuple[tuple[Any, ...], ...]
    extras: tuple[tuple[int, bytes], ...]
    checks: tuple[tuple[int, int], ...]


def lane_spec(plan: _Plan) -> _Spec | None:
    """Return the C spec of a plan, or None when the lane cannot take its files (see the module
    docstring)."""
    template = plan.template
    slots: dict[str, int] = {}
    steps: list[tuple[int, int, int]] = []
    kinds: dict[str, set[int]] = {}
    for index, _, field, fast, convert in plan.steps:
        kind = _LOWER if convert is LOWER_CONVERTER else fast
        if kind == 0:
            return None
        allowed = _COLUMN_KINDS.get(field) or _ROLE_KINDS.get(field)
        if allowed is not None and getattr(template, field) is not None:
            return None  # the C code reads these from the row alone
        if allowed is None:  # a field of `data` whose default is None (an empty cell leaves
            # the report's value there)
            allowed = _DATA_KINDS if _STORED_DEFAULTS.get(field, ...) is None else set()
        if kind not in allowed:
            return None
        slot = slots.setdefault(field, len(slots))
        kinds.setdefault(field, set()).add(kind)
        steps.append((index, kind, slot))
    if "time_source" not in slots or template.extra or template.matched_indicators:
        return None
    if template.sensor is not None or template.source_member is not None:
        return None
    program: list[tuple[Any, ...]] = []
    for stored in _STORED_FIELDS:
        name, value = stored.name, getattr(template, stored.name)
        key = _encode(name) + b":"
        if name == "extra":
            program.append((2,))
        elif name == "matched_indicators":
            continue
        elif name in slots:
            fallback = key + _encode(value) if value != stored.default else None
            program.append((1, slots[name], key, fallback))
        elif value != stored.default:
            program.append((0, key + _encode(value)))
    return _Spec(
        width=plan.width,
        steps=tuple(steps),
        slots=len(slots),
        roles=tuple(slots.get(field, -1) for field in _ROLES),
        program=tuple(program),
        extras=tuple((i, _encode(column) + b":") for column, i in plan.extra),
        checks=tuple((slots[f], which) for f, which in _CHECKS.items() if f in slots),
    )


class ReportLane:
    """The lane for one parser: its specs by header line and file name."""

    def __init__(self, parser: ShadowserverParser) -> None:
        self._parser = parser
        self._specs: dict[tuple[bytes, str], tuple[_Plan, _Spec] | None] = {}

    def rows(
        self,
        records: list[bytes],
        *,
        filename: str,
        observed_at: datetime,
        attribution: Attribution,
        screen: object | None,
        store_unattributed: bool,
        window_seconds: int,
        sensor: str | None,
        text_times: bool = False,
    ) -> LaneRows | None:
        """Return the batch's stored rows, or None when the general path must take it. With
        text_times the rows hold their times as the text SQLite stores (store_sqlite), which
        the C code writes faster than Python converts them."""
        if native is None or not records:
            return None
        first = records[0]
        end = first.find(b"\n")
        if end < 0:
            return None
        header = first[: end + 1]
        found = self._spec_for(header, filename, observed_at)
        if found is None:
            return None
        plan, spec = found
        if observed_at.tzinfo is None:
            observed_at = observed_at.replace(tzinfo=UTC)
        observed_at = observed_at.astimezone(UTC)
        template = plan.template
        constants = {
            "fingerprint": "",
            "time_observation": utc_text(observed_at) if text_times else observed_at,
            "kind": template.kind.value,
            "feed_name": template.feed_name,
            "feed_code": template.feed_code,
            "classification_taxonomy": template.classification_taxonomy,
            "classification_type": template.classification_type,
            "classification_identifier": template.classification_identifier,
            "severity": int(template.severity),
            "sensor": sensor,
            "data": "",
            "raw": "",
        }
        columns = [constants.get(name) for name in EVENT_COLUMNS]
        prefix = f"{template.feed_name}\x1f{sensor or ''}\x1f".encode("utf-8", "surrogatepass")
        taken = native.rows(
            records,
            header,
            (
                spec.width,
                spec.steps,
                spec.slots,
                spec.roles,
                spec.program,
                spec.extras,
                spec.checks,
                columns,
                prefix,
                self._parser.max_record_bytes,
            ),
            (attribution.owner_of_ip, attribution.owner_of_domain, attribution.owner_of_asn),
            screen,
            store_unattributed,
            window_seconds,
            text_times,
        )
        if taken is None:
            return None
        rows, windows, times, unattributed = taken
        return LaneRows(rows, windows, times, unattributed, template)

    def _spec_for(
        self, header: bytes, filename: str, observed_at: datetime
    ) -> tuple[_Plan, _Spec] | None:
        key = (header, filename)
        if key in self._specs:
            return self._specs[key]
        found: tuple[_Plan, _Spec] | None = None
        text = _header_text(header)
        if text is not None:
            compiled = self._parser._compiled_for(text, filename, observed_at)
            if compiled is not None:
                spec = lane_spec(compiled[0])
                found = (compiled[0], spec) if spec is not None else None
        if len(self._specs) > 64:
            self._specs.clear()
        self._specs[key] = found
        return found


def _header_text(header: bytes) -> str | None:
    """Return the header line as the compiled path reads it (CRLF as LF, without the line's
    end), or None when it is not one the lane takes."""
    if b"\x00" in header:
        return None
    try:
        text = header.decode()
    except UnicodeDecodeError:
        return None
    text = text.removesuffix("\n").removesuffix("\r")
    return None if "\r" in text or "\n" in text else text
