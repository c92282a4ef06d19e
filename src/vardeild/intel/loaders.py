"""Reading indicator files: a plain list (one value a line) or CSV with a header. No I/O beyond
the bytes handed in, no database.

Every problem is named by its line and, in CSV, its column, and says what is wrong, so that a
file of a million lines with three bad ones can be fixed without hunting. Both formats tolerate
what real feed files carry: a UTF-8 byte-order mark, CRLF line ends, `#` comment banners and
blank lines. Lines are checked as bytes before they are decoded: an overlong line, invalid
UTF-8 or a NUL byte is reported for that line alone (PostgreSQL refuses NUL in text, and one
such value would otherwise fail a whole batch). docs/indicators.md describes the formats.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from vardeild.core.errors import FieldProblem
from vardeild.core.text import clean_text
from vardeild.core.tlp import Tlp
from vardeild.intel.model import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TLP,
    MAX_DESCRIPTION_LENGTH,
    IndicatorRecord,
    IndicatorType,
    infer_indicator,
    normalise_indicator,
    parse_confidence,
    parse_indicator_type,
    parse_tags,
    parse_valid_until,
)

MAX_LINE_BYTES = 8192
DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # a million long URLs with descriptions fit
MAX_PROBLEMS = 1000  # reported in full; beyond that only counted
CSV_COLUMNS = ("value", "type", "tlp", "confidence", "valid_until", "tags", "description")
_BOM = b"\xef\xbb\xbf"
Progress = Callable[[int, int], None]
"""Told (lines read so far, lines in all) while a file is read."""


class LoadFormat(StrEnum):
    """The file formats `vardeild intel load` reads."""

    LIST = "list"  # one value a line
    CSV = "csv"  # a header naming at least `value`


@dataclass(frozen=True)
class LoadDefaults:
    """What a row gets for what it does not say itself (the command's options)."""

    type: IndicatorType | None = None  # None: inferred from each value
    tlp: Tlp = DEFAULT_TLP
    confidence: int = DEFAULT_CONFIDENCE
    valid_until: datetime | None = None


@dataclass
class ParsedFile:
    """The valid records of a file, in file order, and the problems of the invalid ones."""

    records: list[IndicatorRecord] = field(default_factory=list)
    invalid_lines: int = 0  # lines (rows) with at least one problem
    more_problems: int = 0  # problems beyond MAX_PROBLEMS, counted but not kept
    limit_exceeded: int | None = None  # the size limit a file over it had; it was not read
    _noted: list[tuple[int, FieldProblem]] = field(default_factory=list)

    def problem(self, line: int, column: str, message: str) -> None:
        """Note a problem with a line (and column) of the file."""
        if len(self._noted) < MAX_PROBLEMS:
            self._noted.append((line, FieldProblem(f"line {line}", column, message)))
        else:
            self.more_problems += 1

    @property
    def problems(self) -> list[FieldProblem]:
        """Return the problems in line order and, if some were only counted, one more saying
        how many."""
        found = [problem for _, problem in sorted(self._noted, key=lambda noted: noted[0])]
        if self.limit_exceeded is not None:
            limit = self.limit_exceeded
            found.insert(0, FieldProblem("file", "", f"is larger than {limit:,} bytes; split it"))
        if self.more_problems:
            found.append(
                FieldProblem("file", "", f"and {self.more_problems:,} more problems not listed")
            )
        return found


def read_indicators(
    data: bytes,
    *,
    fmt: LoadFormat,
    defaults: LoadDefaults,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Progress | None = None,
) -> ParsedFile:
    """Return the records and problems of an indicator file. A file over max_bytes is one
    problem, and nothing of it is read."""
    parsed = ParsedFile()
    if len(data) > max_bytes:
        parsed.limit_exceeded = max_bytes
        parsed.invalid_lines = 1
        return parsed
    if fmt is LoadFormat.LIST:
        _read_list(_checked_lines(data, parsed, progress), parsed, defaults)
    else:
        # CSV lines are all checked before the rows are read: tell progress by rows instead.
        _read_csv(_checked_lines(data, parsed, None), parsed, defaults, progress)
    return parsed


def _checked_lines(
    data: bytes, parsed: ParsedFile, progress: Progress | None
) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for each line that is short enough, UTF-8 and free of NUL;
    note a problem for each line that is not."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    raw_lines = data.split(b"\n")
    if raw_lines and not raw_lines[-1]:
        raw_lines.pop()  # the newline that ends the last line starts no new one
    total = len(raw_lines)
    for number, raw in enumerate(raw_lines, start=1):
        if progress is not None and number % 10_000 == 0:
            progress(number, total)
        if len(raw) > MAX_LINE_BYTES:
            parsed.problem(
                number, "", f"is {len(raw):,} bytes long; at most {MAX_LINE_BYTES:,} are allowed"
            )
            parsed.invalid_lines += 1
            continue
        if b"\0" in raw:
            column = raw.index(b"\0") + 1
            parsed.problem(number, "", f"holds a NUL byte at column {column}")
            parsed.invalid_lines += 1
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            parsed.problem(
                number, "", f"is not UTF-8 (byte {exc.start + 1}); save the file as UTF-8"
            )
            parsed.invalid_lines += 1
            continue
        yield number, text.removesuffix("\r")
    if progress is not None:
        progress(total, total)


def _is_skipped(text: str) -> bool:
    stripped = text.strip()
    return not stripped or stripped.startswith("#")


def _read_list(
    lines: Iterator[tuple[int, str]], parsed: ParsedFile, defaults: LoadDefaults
) -> None:
    """One value a line; a `#` after whitespace starts a comment, as does one at the start."""
    for number, text in lines:
        if _is_skipped(text):
            continue
        value = text
        for mark in (" #", "\t#"):
            value = value.partition(mark)[0]
        value = value.strip()
        try:
            kind, canonical = _typed(value, defaults.type)
        except ValueError as exc:
            parsed.problem(number, "value", str(exc))
            parsed.invalid_lines += 1
            continue
        parsed.records.append(
            IndicatorRecord(
                line=number,
                type=kind,
                value=canonical,
                tlp=defaults.tlp,
                confidence=defaults.confidence,
                valid_until=defaults.valid_until,
            )
        )


def _typed(value: str, kind: IndicatorType | None) -> tuple[IndicatorType, str]:
    if kind is None:
        return infer_indicator(value)
    return kind, normalise_indicator(kind, value)


def _read_csv(
    lines: Iterator[tuple[int, str]],
    parsed: ParsedFile,
    defaults: LoadDefaults,
    progress: Progress | None,
) -> None:
    """A header row naming the columns (at least `value`), then one indicator a row. A row's
    own type, tlp, confidence and valid_until win over the defaults; empty cells take them.
    A quoted cell may span lines, as spreadsheets write it."""
    texts: list[str] = []
    numbers: list[int] = []  # the file's line number of each text handed to the CSV reader
    for number, text in lines:
        if not _is_skipped(text):
            texts.append(text + "\n")  # the reader keeps the line breaks of a quoted cell
            numbers.append(number)
    if not texts:
        parsed.problem(1, "", "holds no header; the first row must name the columns: value,type")
        parsed.invalid_lines += 1
        return
    reader = csv.reader(texts, delimiter=_delimiter(texts[0]), strict=True)
    columns: list[str] | None = None
    taken = 0  # texts the reader has consumed before the current record
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            if progress is not None:
                progress(len(texts), len(texts))
            return
        except csv.Error as exc:
            parsed.problem(numbers[min(taken, len(numbers) - 1)], "", f"is not valid CSV: {exc}")
            parsed.invalid_lines += 1
            taken = reader.line_num
            if columns is None:
                return
            continue
        line = numbers[taken]
        taken = reader.line_num
        if progress is not None and taken % 10_000 == 0:
            progress(taken, len(texts))
        if columns is None:
            columns = _header(cells, line, parsed)
            if columns is None:
                return
        elif any(cell.strip() for cell in cells):
            _csv_row(cells, columns, line, parsed, defaults)


def _delimiter(header: str) -> str:
    """Return the header's delimiter: a comma, else `;` (spreadsheets in Norwegian locales write
    it) or a tab where the header has one of those and no comma."""
    if "," in header:
        return ","
    for candidate in (";", "\t"):
        if candidate in header:
            return candidate
    return ","


def _header(cells: list[str], line: int, parsed: ParsedFile) -> list[str] | None:
    """Return the header's column names, lower case; note problems and return None if it has
    an unknown or repeated column or no `value`."""
    names = [cell.strip().lower().lstrip("\ufeff") for cell in cells]
    problems = []
    for name in names:
        if name not in CSV_COLUMNS:
            problems.append(f"unknown column {name!r}; the columns are {', '.join(CSV_COLUMNS)}")
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column {name!r} appears more than once")
    if "value" not in names:
        problems.append("has no 'value' column; the header must name at least value")
    for message in problems:
        parsed.problem(line, "header", message)
    if problems:
        parsed.invalid_lines += 1
        return None
    return names


def _csv_row(
    cells: list[str], columns: list[str], line: int, parsed: ParsedFile, defaults: LoadDefaults
) -> None:
    """Check one data row and add its record, or note every problem it has."""
    if len(cells) != len(columns):
        parsed.problem(line, "", f"has {len(cells)} cells; the header has {len(columns)} columns")
        parsed.invalid_lines += 1
        return
    row = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
    problems: list[tuple[str, str]] = []
    kind = defaults.type
    if row.get("type"):
        try:
            kind = parse_indicator_type(row["type"])
        except ValueError as exc:
            problems.append(("type", str(exc)))
    tlp = defaults.tlp
    if row.get("tlp"):
        try:
            tlp = Tlp.parse(row["tlp"])
        except ValueError as exc:
            problems.append(("tlp", str(exc)))
    confidence = defaults.confidence
    if row.get("confidence"):
        try:
            confidence = parse_confidence(row["confidence"])
        except ValueError as exc:
            problems.append(("confidence", str(exc)))
    valid_until = defaults.valid_until
    if row.get("valid_until"):
        try:
            valid_until = parse_valid_until(row["valid_until"])
        except ValueError as exc:
            problems.append(("valid_until", str(exc)))
    tags: tuple[str, ...] = ()
    if row.get("tags"):
        try:
            tags = parse_tags(row["tags"])
        except ValueError as exc:
            problems.append(("tags", str(exc)))
    description = ""
    if row.get("description"):
        try:
            description = clean_text(
                row["description"], max_length=MAX_DESCRIPTION_LENGTH, multiline=True
            )
        except ValueError as exc:
            problems.append(("description", str(exc)))
    value = ""
    if not any(column == "type" for column, _ in problems):
        try:
            kind, value = _typed(row["value"], kind)
        except ValueError as exc:
            problems.append(("value", str(exc)))
    if problems:
        for column, message in problems:
            parsed.problem(line, column, message)
        parsed.invalid_lines += 1
        return
    assert kind is not None
    parsed.records.append(
        IndicatorRecord(
            line=line,
            type=kind,
            value=value,
            tlp=tlp,
            confidence=confidence,
            valid_until=valid_until,
            tags=tags,
            description=description,
        )
    )
