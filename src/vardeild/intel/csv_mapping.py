"""Reading CSV feeds: the shared table reader (banners, BOM, CRLF, a header that may itself be
commented out) and generic CSV with a column mapping. No I/O.

A column mapping names which column holds what: `value` (required), and optionally `type`,
`tlp`, `confidence`, `tags`, `first_seen`, `valid_until`, `description`. A type column's cells
win over the fixed type of the import; without either, each value's type is inferred. Times
are read leniently (`imports.parse_feed_time`), since these files pass through spreadsheets.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from vardeild.core.tlp import Tlp
from vardeild.intel.imports import (
    ImportDefaults,
    ParsedFeed,
    lenient_description,
    parse_feed_time,
    refused,
)
from vardeild.intel.model import (
    IndicatorRecord,
    IndicatorType,
    infer_indicator,
    normalise_indicator,
    parse_confidence,
    parse_indicator_type,
    parse_tags,
)

MAPPING_FIELDS = (
    "value",
    "type",
    "tlp",
    "confidence",
    "tags",
    "first_seen",
    "valid_until",
    "description",
)
_BOM = "\ufeff"


@dataclass(frozen=True)
class Table:
    """A CSV file's header (lower case) and its data rows with their line numbers."""

    columns: list[str]
    rows: list[tuple[int, list[str]]]


def read_table(data: bytes, *, key: str, parsed: ParsedFeed) -> Table | None:
    """Return the header and rows of a CSV feed whose header names the column key; comment
    banners and blank lines skipped, a header written as a comment (`# id,dateadded,...`)
    found. Note undecodable lines; return None (with a refusal) if no header names key."""
    columns: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, text in _lines(data, parsed):
        stripped = text.strip()
        if not stripped:
            continue
        commented = stripped.startswith("#")
        body = stripped.lstrip("#").strip() if commented else stripped
        if columns is None:
            cells = _cells(body)
            names = [cell.strip().lower() for cell in cells]
            if key in names:
                columns = names
            continue
        if commented:
            continue
        rows.append((number, _cells(text)))
    if columns is None:
        parsed.refused = f"no header row naming a {key!r} column"
        return None
    return Table(columns, rows)


def _lines(data: bytes, parsed: ParsedFeed) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if b"\0" in raw:
            parsed.note(f"line {number}", "", "holds a NUL byte", number)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # Excel's default on Windows
        if number == 1:
            text = text.removeprefix(_BOM)
        yield number, text.removesuffix("\r")


def _cells(text: str) -> list[str]:
    delimiter = ","
    if "," not in text:
        delimiter = ";" if ";" in text else ("\t" if "\t" in text else ",")
    return next(csv.reader([text], delimiter=delimiter), [])


def parse_mapping(text: str) -> dict[str, str]:
    """Return a mapping from `value=col,type=col2`; raise ValueError naming bad parts."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name = name.strip().lower()
        if not sep or not column.strip():
            raise ValueError(f"{part.strip()!r} is not field=column")
        if name not in MAPPING_FIELDS:
            raise ValueError(f"{name!r} is not one of {', '.join(MAPPING_FIELDS)}")
        mapping[name] = column.strip().lower()
    if "value" not in mapping:
        raise ValueError("the mapping must name the value column: value=COLUMN")
    return mapping


def read_mapped_csv(
    data: bytes, *, mapping: Mapping[str, str], defaults: ImportDefaults
) -> ParsedFeed:
    """Return the indicators of a CSV file read through a column mapping (see parse_mapping)."""
    parsed = ParsedFeed()
    table = read_table(data, key=mapping["value"], parsed=parsed)
    if table is None:
        return parsed
    missing = [column for column in mapping.values() if column not in table.columns]
    if missing:
        return refused(f"the header has no column {', '.join(repr(m) for m in missing)}")
    index = {name: table.columns.index(column) for name, column in mapping.items()}
    for line, cells in table.rows:
        parsed.objects += 1
        if len(cells) < len(table.columns):
            parsed.note(
                f"line {line}",
                "",
                f"has {len(cells)} cells; the header has {len(table.columns)}",
                line,
            )
            continue
        row = {name: cells[i].strip() for name, i in index.items()}
        _mapped_row(row, line, defaults, parsed)
    return parsed


def _mapped_row(
    row: dict[str, str], line: int, defaults: ImportDefaults, parsed: ParsedFeed
) -> None:
    problems: list[tuple[str, str]] = []
    kind: IndicatorType | None = defaults.type
    tlp, confidence, valid_until = defaults.tlp, defaults.confidence, defaults.valid_until
    tags: tuple[str, ...] = ()
    first_seen = None
    try:
        if row.get("type"):
            kind = parse_indicator_type(row["type"])
        if row.get("tlp"):
            tlp = Tlp.parse(row["tlp"])
        if row.get("confidence"):
            confidence = parse_confidence(row["confidence"])
        if row.get("tags"):
            tags = parse_tags(row["tags"])
        if row.get("first_seen"):
            first_seen = parse_feed_time(row["first_seen"])
        if row.get("valid_until"):
            valid_until = parse_feed_time(row["valid_until"])
        if kind is None:
            kind, value = infer_indicator(row["value"])
        else:
            value = normalise_indicator(kind, row["value"])
    except ValueError as exc:
        problems.append(("", str(exc)))
    if problems:
        for column, message in problems:
            parsed.note(f"line {line}", column, message, line)
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
            description=lenient_description(row.get("description", "")),
            first_seen=first_seen,
        )
    )
