"""Shadowserver CSV reports in, `Event`s out: one per data row, or a `ParseError` naming the line.

    parser = ShadowserverParser()                       # or ShadowserverParser("scan_smb")
    for line, outcome in parser.iter_file(stream, filename=name, observed_at=now):
        ...                                             # Event, or ParseError to quarantine

Which report a file is, in this order: its name (Shadowserver names files
`2024-05-01-scan_ftp-norway-geo.csv`; `scan_ftp.csv` works too), else the `report_type` given
to the parser, else its header matched against the known reports' distinctive columns. A file
named like a Shadowserver report of a type we do not know, or matching none, is parsed
generically: source and destination guessed from the usual column names, classified
other / undetermined, every column kept in `extra`, `feed_code` the report name. What each
known report means and maps to is data, in `shadowserver_reports`.

The file streams: lines are read one at a time, so memory stays flat however large the file.
Rows go through `csv.reader` with a column plan built once per file from the header (DictReader
is half as fast). Each event's `raw` is the row's own CSV text.

Rules for bad input, each decided here and tested:

- The header is the first line. It must look like Shadowserver's: a `timestamp` column, every
  name a plain identifier, none repeated. Otherwise (an empty file, a missing header, something
  else entirely) the whole file is one `ParseError` at line 1, and no rows are read.
- A UTF-8 byte order mark at the start is dropped; CRLF line ends are fine; blank lines are
  skipped (they hold no row).
- Bytes that are not UTF-8 do not cost the row: such a line is decoded as Windows-1252 (what a
  spreadsheet on Windows writes), or, if even that fails, as UTF-8 with U+FFFD for the bad
  bytes; the event says so in `extra["vardeild_decoding"]`. Neighbouring rows are untouched.
- A NUL byte anywhere in a row makes it a `ParseError` (PostgreSQL cannot store NUL in text).
- A row (quoted newlines included) longer than `max_record_bytes` (1 MiB by default) is a
  `ParseError`; the rest of an over-long line is skipped without being held in memory. The
  module raises `csv.field_size_limit` to at least that bound, never lowers it.
- A row with more or fewer cells than the header is a `ParseError` giving both counts: which
  cell is missing cannot be known, so guessing would misplace values.
- A cell mapped to an address, port or AS number must be one, else the row is a `ParseError`
  naming the column (AS number 0 means "unknown" and is left out). A `blocklist` row may name a
  network instead of an address in `ip`: it is kept in `extra["ip"]`, `source_ip` stays empty.
  An address where a host name belongs stays in `extra` only.
- `timestamp` is required. Shadowserver writes `2024-01-02 03:04:05` (UTC); `T`, fractions,
  `Z`, an offset or a trailing ` UTC` are accepted too, and everything becomes UTC.
- A row's own `severity` column (newer reports have one) overrides the report's default; a
  value that is not a level stays in `extra`.
- Empty cells are absent: no field, no `extra` key.
- Unknown report types are lenient: a guessed column that does not convert is only in `extra`.
- What `csv` itself rejects (a bare carriage return in an unquoted cell, a cell beyond
  `csv.field_size_limit` after an unclosed quote) is a `ParseError`, and reading goes on. An
  unclosed quote swallows the lines up to the next quote, or up to csv's bound: those lines
  are that one row's error; after csv gives up, each remaining line is a row (and an error)
  of its own. Nothing is ever made into an event from a guess.

Every data row yields exactly one outcome, so rows parsed plus rows quarantined equals the rows
in the file; a file without a usable header is one outcome, at line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv6Address, ip_network
from operator import methodcaller
from socket import AF_INET, inet_pton
from typing import Any, BinaryIO, Final

from msgspec.structs import replace

from vardeild.monitoring.model import Event, EventKind, ParseError, Severity
from vardeild.monitoring.parsers.shadowserver_compiled import RowsFunction, compile_rows
from vardeild.monitoring.parsers.shadowserver_reports import (
    GENERIC,
    REPORTS,
    UNKNOWN_CLASSIFICATION,
    UNKNOWN_SEVERITY,
    Report,
)

FEED_NAME: Final = "shadowserver"
FEED_PROVIDER: Final = "Shadowserver"
MAX_RECORD_BYTES: Final = 1 << 20
DECODING_KEY: Final = "vardeild_decoding"

_DATED_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-([^-]+)(?:-.*)?")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SEVERITIES = {s.name.lower(): s for s in Severity}
_SPLIT_CELLS: Final = methodcaller("split", ",")
_KEEP: Final[Any] = object()  # a converter's answer: no harmonised value, keep the cell in extra


class RowParseError(ParseError):
    """A row that cannot become an event. `raw` is the row as read (NUL bytes written `\\x00`),
    for the quarantine."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


def report_name_from_filename(filename: str) -> tuple[str | None, bool]:
    """Return the report type a file name gives and whether the name is in Shadowserver's dated
    form (`2024-05-01-scan_ftp-...csv`); (None, False) when the name says nothing."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base[:-4] if base.lower().endswith(".csv") else base
    dated = _DATED_NAME.fullmatch(stem)
    if dated:
        return dated.group(2).lower(), True
    if _PLAIN_NAME.fullmatch(stem):
        return stem.lower(), False
    return None, False


def report_for_header(header: Sequence[str]) -> Report | None:
    """Return the known report whose distinctive columns the header has (the most specific one),
    or None when none or several equally specific ones match."""
    columns = set(header)
    best: Report | None = None
    best_size = 0
    tied = False
    for report in REPORTS.values():
        if report.detect and columns.issuperset(report.detect):
            size = len(report.detect)
            if size > best_size:
                best, best_size, tied = report, size, False
            elif size == best_size:
                tied = True
    return None if tied else best


def parse_timestamp(value: str) -> datetime:
    """Return a Shadowserver timestamp as an aware UTC datetime; raise ValueError if it is not
    one. Without an offset it is UTC."""
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a timestamp (expected YYYY-MM-DD HH:MM:SS, optionally with Z or an "
            "offset)"
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _utc_fast(value: str) -> datetime | None:
    """The common case of `parse_timestamp`, several times faster: `YYYY-MM-DD HH:MM:SS` read
    as UTC (`replace(tzinfo=...)` alone costs more than parsing). None when it does not apply."""
    if len(value) != 19:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:
        return None


# -- Cell converters: (cell, row) -> value, _KEEP, or None (left out); ValueError if invalid ----

Converter = Callable[[str, list[str]], Any]


def _ip(value: str, row: list[str]) -> str:
    text = value.strip()
    try:
        inet_pton(AF_INET, text)  # the common case, ~10x faster than ipaddress
        return text
    except (OSError, ValueError):
        pass
    if ":" in text and "%" not in text:
        try:
            return IPv6Address(text).compressed
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an IP address")


def _ip_or_network(value: str, row: list[str]) -> Any:
    if "/" not in value:
        return _ip(value, row)
    try:
        ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is neither an IP address nor a network") from None
    return _KEEP


def _port(value: str, row: list[str]) -> int:
    text = value.strip()
    if text.isascii() and text.isdigit() and int(text) <= 65535:
        return int(text)
    raise ValueError(f"{value!r} is not a port number")


def _asn(value: str, row: list[str]) -> int | None:
    text = value.strip()
    if text[:2] in ("AS", "as"):
        text = text[2:]
    if text.isascii() and text.isdigit() and int(text) < 1 << 32:
        return int(text) or None  # 0 is Shadowserver's "unknown"
    raise ValueError(f"{value!r} is not an AS number")


def _severity(value: str, row: list[str]) -> Any:
    return _SEVERITIES.get(value.strip().lower(), _KEEP)


def _lower(value: str, row: list[str]) -> str:
    return value.strip().lower()


# The lane (shadowserver_lane.py) lower-cases these cells in C, as `_lower` does.
LOWER_CONVERTER: Final[Converter] = _lower


def _hostname(value: str, row: list[str]) -> Any:
    name = value.strip().rstrip(".").lower()
    if name[-1:].isdigit():  # some reports put an address where a name goes: not a name
        try:
            _ip(name, row)
            return _KEEP
        except ValueError:
            pass
    return name


def _text(value: str, row: list[str]) -> str:
    return value


def _timestamp(value: str, row: list[str]) -> datetime:
    return _utc_fast(value) or parse_timestamp(value)


def _urls(host_index: int | None) -> Converter:
    """URLs: absolute ones as they are; a path or request line (`GET /x HTTP/1.1`) joined to the
    row's host column; anything else stays in extra."""

    def convert(value: str, row: list[str]) -> Any:
        text = value.strip()
        if "://" in text:
            return text
        host = row[host_index].strip() if host_index is not None else ""
        parts = text.split()
        if not host or not parts:
            return _KEEP
        path = parts[1] if len(parts) > 1 and parts[0].isupper() else parts[0]
        return f"http://{host}{path if path.startswith('/') else '/' + path}"

    return convert


_BY_FIELD: dict[str, Converter] = {
    "severity": _severity,
    "malware_name": _lower,
    "classification_identifier": _lower,
    "protocol_transport": _lower,
    "protocol_application": _lower,
    "source_fqdn": _hostname,
    "destination_fqdn": _hostname,
    "source_reverse_dns": _hostname,
    "dns_query": _hostname,
    "malware_hash_md5": _lower,
    "malware_hash_sha1": _lower,
    "malware_hash_sha256": _lower,
}


def _converter(field: str, report: Report, host_index: int | None) -> Converter:
    if field == "time_source":
        return _timestamp
    if field.endswith("_ip"):
        return _ip_or_network if report.networks and field == "source_ip" else _ip
    if field.endswith("_port"):
        return _port
    if field.endswith("_asn"):
        return _asn
    if field.endswith("_url"):
        return _urls(host_index)
    return _BY_FIELD.get(field, _text)


# Inline fast paths in the row loop for the cells every row has; anything they do not accept
# clearly goes through the step's converter, which has the full rules and the error message.
_SLOW, _TIME, _IP, _PORT, _ASN, _NAME = range(6)
_FAST_PATHS: dict[Converter, int] = {
    _timestamp: _TIME,
    _ip: _IP,
    _port: _PORT,
    _asn: _ASN,
    _hostname: _NAME,
}


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to turn one file's rows into events: built once from the header."""

    width: int
    # (cell index, column, field, fast path, converter)
    steps: tuple[tuple[int, str, str, int, Converter], ...]
    extra: tuple[tuple[str, int], ...]  # (column, cell index) of the cells kept in extra
    template: Event  # the fields every event of the file shares
    lenient: bool  # unknown report: a cell that does not convert is only kept in extra


def _generic(name: str) -> Report:
    taxonomy, kind = UNKNOWN_CLASSIFICATION
    return Report(
        name=name,
        title=name,
        taxonomy=taxonomy,
        type=kind,
        identifier=name,
        severity=UNKNOWN_SEVERITY,
        columns=GENERIC,
    )


def _make_plan(report: Report, header: list[str], *, known: bool, observed_at: datetime) -> _Plan:
    index = {name: i for i, name in enumerate(header)}
    host_index = index.get(report.url_host) if report.url_host else None
    steps: list[tuple[int, str, str, int, Converter]] = []
    mapped: set[str] = set()
    for column, fields in report.columns.items():
        if column in index:
            mapped.add(column)
            for field in fields:
                convert = _converter(field, report, host_index)
                steps.append(
                    (index[column], column, field, _FAST_PATHS.get(convert, _SLOW), convert)
                )
    template = Event(
        kind=EventKind.REPORT,
        time_observation=observed_at,
        feed_name=FEED_NAME,
        feed_provider=FEED_PROVIDER,
        feed_code=report.name,
        classification_taxonomy=report.taxonomy,
        classification_type=report.type,
        classification_identifier=report.identifier,
        event_description_text=report.title,
        severity=report.severity,
        protocol_application=report.application,
        protocol_transport=report.transport,
    )
    return _Plan(
        width=len(header),
        steps=tuple(steps),
        extra=tuple((n, i) for i, n in enumerate(header) if not known or n not in mapped),
        template=template,
        lenient=not known,
    )


def _header_problem(header: list[str]) -> str | None:
    if not header or header == [""]:
        return "no header: the file is empty or starts with a blank line"
    bad = [name for name in header if not _COLUMN_NAME.fullmatch(name)]
    if bad:
        return (
            f"the first line is not a Shadowserver header: {bad[0][:40]!r} is not a column name "
            f"({len(bad)} of {len(header)} cells are not)"
        )
    if "timestamp" not in header:
        return "the header has no 'timestamp' column, as every Shadowserver report does"
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return f"the header names column {name!r} twice"
        seen.add(name)
    return None


def _csv_problem(exc: csv.Error) -> str:
    """What csv's complaint means for a Shadowserver row."""
    message = str(exc)
    if "new-line character seen in unquoted field" in message:
        return "a carriage return inside an unquoted cell"
    if "field larger than field limit" in message:
        return f"a cell is longer than {csv.field_size_limit():,} characters (an unclosed quote?)"
    return f"not CSV: {message}"


def _decode(data: bytes) -> tuple[str, str]:
    """Decode a line that is not UTF-8: as Windows-1252, else as UTF-8 with U+FFFD for what
    cannot be read. The second value says which."""
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), "utf-8 with invalid bytes replaced"


class ShadowserverParser:
    """Parses Shadowserver CSV reports; `report_type` names the report for files whose name
    does not."""

    def __init__(
        self, report_type: str | None = None, *, max_record_bytes: int = MAX_RECORD_BYTES
    ) -> None:
        self.report_type = report_type.strip().lower() if report_type else None
        self.max_record_bytes = max_record_bytes
        # The fast path's compiled plans, by (header line, file name), and its parsed times.
        self._compiled: dict[tuple[str, str], tuple[_Plan, RowsFunction] | None] = {}
        self._times: dict[str, datetime] = {}
        if csv.field_size_limit() < max_record_bytes:
            csv.field_size_limit(max_record_bytes)

    def identify(self, filename: str, header: Sequence[str]) -> tuple[Report | None, str]:
        """Return the known report a file is (None if unknown) and its report name: from the
        file name, else the parser's `report_type`, else the header."""
        name, dated = report_name_from_filename(filename)
        if name in REPORTS:
            return REPORTS[name], name
        if self.report_type:
            return REPORTS.get(self.report_type), self.report_type
        if dated and name:
            return None, name  # Shadowserver named it, and it is a report we do not know
        matched = report_for_header(header)
        if matched:
            return matched, matched.name
        return None, name or "unknown"

    def parse_bytes(
        self, data: bytes, *, filename: str, observed_at: datetime
    ) -> list[tuple[int, Event | ParseError]]:
        """Return every row's outcome for a report held in memory (tests, small uploads)."""
        return list(self.iter_file(io.BytesIO(data), filename=filename, observed_at=observed_at))

    def parse_records(
        self, records: Sequence[bytes], *, filename: str, observed_at: datetime
    ) -> list[Event] | None:
        """Return the events of records that each hold the same header line and one row (as
        the report readers make them), or None when the general path must parse them: some
        record is not plain (a quoted newline or open quote, a carriage return inside a line,
        NUL, bytes that are not UTF-8, a blank or over-long row), the header is not a usable
        one, or a row would not become an event. The events are exactly the ones `iter_file`
        gives for those rows."""
        if not records or max(map(len, records)) > self.max_record_bytes:
            return None
        if not records[-1].endswith(b"\n"):  # the last line of a file may lack its newline
            records = [*records[:-1], records[-1] + b"\n"]
        document = b"".join(records)
        if b"\x00" in document:
            return None
        try:
            text = document.decode()
        except UnicodeDecodeError:
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        lines = text.split("\n")
        header, rows = lines[0], lines[1::2]
        if len(lines) != 2 * len(records) + 1 or lines[0::2].count(header) != len(records):
            return None  # a record of several lines, or not all the same header
        if "" in rows:
            return None
        compiled = self._compiled_for(header, filename, observed_at)
        if compiled is None:
            return None
        plan, rows_of = compiled
        if observed_at.tzinfo is None:
            observed_at = observed_at.replace(tzinfo=UTC)
        template = replace(plan.template, time_observation=observed_at.astimezone(UTC))
        if len(self._times) > 4096:
            self._times.clear()
        # One csv.reader over the lines (split at commas when nothing is quoted), read as the
        # rows are made. It must give one row per line: a quote left open joins lines, and
        # the rows function's strict zip then raises ValueError (the general path says where).
        cells = csv.reader(rows) if '"' in text else map(_SPLIT_CELLS, rows)
        try:
            return rows_of(cells, rows, template, self._times)
        except (csv.Error, ValueError):
            return None

    def _compiled_for(
        self, header: str, filename: str, observed_at: datetime
    ) -> tuple[_Plan, RowsFunction] | None:
        """Return the plan and compiled rows function for a plain header line, or None when
        the fast path cannot take the file."""
        key = (header, filename)
        if key in self._compiled:
            return self._compiled[key]
        try:
            names = [name.strip() for name in next(csv.reader([header.removeprefix("\ufeff")]))]
        except (csv.Error, StopIteration):
            names = []
        compiled: tuple[_Plan, RowsFunction] | None = None
        if names and _header_problem(names) is None:
            report, _ = self.identify(filename, names)
            if report is not None:
                plan = _make_plan(report, names, known=True, observed_at=observed_at)
                function = compile_rows(plan, _KEEP)
                if function is not None:
                    compiled = (plan, function)
        if len(self._compiled) > 64:
            self._compiled.clear()
        self._compiled[key] = compiled
        return compiled

    def iter_file(
        self, stream: BinaryIO, *, filename: str, observed_at: datetime
    ) -> Iterator[tuple[int, Event | ParseError]]:
        """Yield (line number, Event or ParseError) for each data row of a report, streaming.
        The line number is where the row starts (the header is line 1)."""
        if observed_at.tzinfo is None:
            observed_at = observed_at.replace(tzinfo=UTC)
        observed_at = observed_at.astimezone(UTC)
        limit = self.max_record_bytes
        pending: list[str] = []  # the physical lines of the row being read
        problems: list[str] = []  # what is wrong with them
        notes: list[str] = []  # decoding fallbacks they needed
        start = [1]  # the line the row being read starts on

        def lines() -> Iterator[str]:
            readline = stream.readline
            cap = limit + 1  # a line longer than the bound is cut here, never held whole
            data = readline(cap)
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            number = 0
            size = 0  # bytes of the row so far
            while data:
                number += 1
                if pending:
                    size += len(data)
                else:
                    start[0] = number
                    size = len(data)
                if size > limit:  # rare: a line, or a row of several, over the bound
                    if len(data) > limit and not data.endswith(b"\n"):
                        while (rest := readline(limit)) and not rest.endswith(b"\n"):
                            pass  # skip the rest of the line
                        problems.append(f"line {number} is longer than {limit:,} bytes")
                        data = b"\n"
                    elif size - len(data) <= limit:
                        problems.append(f"the row is longer than {limit:,} bytes")
                    pending.append("")  # counts the line without holding it
                    yield data.decode("utf-8", "replace")
                    data = readline(cap)
                    continue
                if b"\x00" in data:
                    problems.append(
                        f"line {number} contains a NUL byte, which PostgreSQL cannot store"
                    )
                    data = data.replace(b"\x00", b"\\x00")
                try:
                    text = data.decode()
                except UnicodeDecodeError:
                    text, fallback = _decode(data)
                    notes.append(fallback)
                pending.append(text)
                yield text
                data = readline(cap)

        reader = csv.reader(lines())
        where = filename.replace("\\", "/").rsplit("/", 1)[-1] or "report"

        def failure(message: str) -> RowParseError:
            raw = "".join(pending).rstrip("\r\n")
            pending.clear()
            problems.clear()
            notes.clear()
            return RowParseError(f"{where} line {start[0]}: {message}", raw)

        try:
            header = next(reader)
        except StopIteration:
            header = []
        except csv.Error as exc:
            yield 1, failure(f"the header cannot be read: {_csv_problem(exc)}")
            return
        header = [name.strip() for name in header]
        problem = "; ".join(problems) if problems else _header_problem(header)
        if problem:
            yield 1, failure(problem)
            return
        pending.clear()
        notes.clear()
        report, name = self.identify(filename, header)
        plan = _make_plan(
            report or _generic(name), header, known=report is not None, observed_at=observed_at
        )
        width, steps, extra_columns, lenient = plan.width, plan.steps, plan.extra, plan.lenient
        template = plan.template
        last_time_text, last_time = "", observed_at  # consecutive rows often share a second
        # Locals, not globals, in the loop that runs once per cell.
        time_, ip_, port_, asn_, name_ = _TIME, _IP, _PORT, _ASN, _NAME
        fromiso, pton, inet, keep, make = datetime.fromisoformat, inet_pton, AF_INET, _KEEP, replace

        while True:
            try:
                for row in reader:
                    line = start[0]
                    if problems:
                        yield line, failure("; ".join(problems))
                        continue
                    if not row:
                        pending.clear()
                        notes.clear()
                        continue
                    if len(row) != width:
                        yield line, failure(f"{len(row)} cells, but the header has {width}")
                        continue
                    changes: dict[str, Any] = {}
                    kept: dict[str, str] | None = None
                    error = None
                    for index, column, field, fast, convert in steps:
                        value = row[index]
                        if not value:
                            continue
                        if fast == time_:
                            if value == last_time_text:
                                changes[field] = last_time
                                continue
                            if len(value) == 19:  # _utc_fast, inlined
                                try:
                                    last_time = fromiso(value + "+00:00")
                                    last_time_text = value
                                    changes[field] = last_time
                                    continue
                                except ValueError:
                                    pass
                        elif fast == ip_:
                            try:
                                pton(inet, value)
                                changes[field] = value
                                continue
                            except (OSError, ValueError):
                                pass
                        elif fast == name_ and value[-1].isalpha() and value[0].isalnum():
                            changes[field] = value.lower()  # else: strip, or not a name at all
                            continue
                        elif fast == port_ and value.isdecimal():
                            number = int(value)
                            if number <= 65535:
                                changes[field] = number
                                continue
                        elif fast == asn_ and value.isdecimal():
                            number = int(value)
                            if number < 1 << 32:
                                if number:  # 0 is Shadowserver's "unknown"
                                    changes[field] = number
                                continue
                        try:
                            converted = convert(value, row)
                        except ValueError as exc:
                            if lenient:
                                continue
                            error = f"column {column!r}: {exc}"
                            break
                        if converted is keep:
                            kept = kept or {}
                            kept[column] = value
                        elif converted is not None:
                            changes[field] = converted
                    if error is None and "time_source" not in changes and not lenient:
                        error = "column 'timestamp' is empty"
                    if error is not None:
                        yield line, failure(error)
                        continue
                    extra = {column: row[i] for column, i in extra_columns if row[i]}
                    if kept:
                        extra.update(kept)
                    if notes:
                        extra[DECODING_KEY] = notes[0]
                        notes.clear()
                    changes["extra"] = extra  # fresh mutable fields: never the template's
                    changes["matched_indicators"] = []
                    changes["raw"] = (pending[0] if len(pending) == 1 else "".join(pending)).rstrip(
                        "\r\n"
                    )
                    pending.clear()
                    yield line, make(template, **changes)
                return
            except csv.Error as exc:
                yield start[0], failure("; ".join(problems) or _csv_problem(exc))
