"""Choosing the importer for a file and running it. No I/O beyond the bytes handed in.

`detect_format` looks at the content (and the name) the way a person would: JSON with an
`Event` is MISP, other JSON is STIX; CSV whose header names `dst_ip` is Feodo Tracker, `url`
with `dateadded` URLhaus, `ja3_md5` or `SHA1` with `Listingreason` SSLBL, `value` the generic
CSV; anything else a plain list. `read_import` runs the chosen one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from vardeild.intel.abusech import read_feodo, read_sslbl, read_urlhaus
from vardeild.intel.csv_mapping import read_mapped_csv
from vardeild.intel.imports import ImportDefaults, ImportFormat, ParsedFeed, refused
from vardeild.intel.loaders import LoadDefaults, LoadFormat, read_indicators
from vardeild.intel.misp_in import read_misp_event
from vardeild.intel.stix_in import read_stix

_PROBE_BYTES = 8192


def detect_format(data: bytes, name: str = "") -> ImportFormat:
    """Return the format the content looks like (never AUTO)."""
    head = data[:_PROBE_BYTES].decode("utf-8", errors="replace").lstrip("\ufeff").lstrip()
    if head[:1] in ("{", "["):
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return ImportFormat.STIX  # the importer names the JSON error
        if isinstance(document, dict) and (
            "Event" in document or "response" in document or "attribute_count" in document
        ):
            return ImportFormat.MISP
        if isinstance(document, dict) and ("event_id" in document or _is_manifest(document)):
            return ImportFormat.MISP
        if isinstance(document, list) and document and isinstance(document[0], dict):
            return ImportFormat.STIX if "type" in document[0] else ImportFormat.MISP
        return ImportFormat.STIX
    header = _header_words(head)
    if "dst_ip" in header:
        return ImportFormat.FEODO
    if "url" in header and ("dateadded" in header or "urlhaus_link" in header):
        return ImportFormat.URLHAUS
    if "ja3_md5" in header or ("sha1" in header and "listingreason" in header):
        return ImportFormat.SSLBL
    if "value" in header:
        return ImportFormat.CSV
    return ImportFormat.PLAIN


def _is_manifest(document: dict[str, object]) -> bool:
    values = list(document.values())[:3]
    return bool(values) and all(isinstance(v, dict) and "timestamp" in v for v in values)


def _header_words(head: str) -> set[str]:
    """Return the lower-case words of the first line that has a comma (commented or not)."""
    for line in head.splitlines():
        text = line.strip().lstrip("#").strip()
        if "," in text:
            return {word.strip().strip('"').lower() for word in text.split(",")}
    return set()


def read_import(
    data: bytes,
    *,
    fmt: ImportFormat,
    defaults: ImportDefaults,
    mapping: Mapping[str, str] | None = None,
    name: str = "",
) -> tuple[ParsedFeed, ImportFormat]:
    """Return what the importer of fmt (detected for AUTO) reads from data, and the format."""
    if fmt is ImportFormat.AUTO:
        # A column mapping says the file is CSV, whatever its header looks like.
        fmt = ImportFormat.CSV if mapping else detect_format(data, name)
    if fmt is ImportFormat.STIX:
        return read_stix(data, defaults=defaults), fmt
    if fmt is ImportFormat.MISP:
        return read_misp_event(data, defaults=defaults), fmt
    if fmt is ImportFormat.MISP_FEED:
        return refused("a MISP feed is a directory or URL with manifest.json"), fmt
    if fmt is ImportFormat.FEODO:
        return read_feodo(data, defaults=defaults), fmt
    if fmt is ImportFormat.URLHAUS:
        return read_urlhaus(data, defaults=defaults), fmt
    if fmt is ImportFormat.SSLBL:
        return read_sslbl(data, defaults=defaults), fmt
    if fmt is ImportFormat.CSV and mapping:
        return read_mapped_csv(data, mapping=mapping, defaults=defaults), fmt
    load_format = LoadFormat.CSV if fmt is ImportFormat.CSV else LoadFormat.LIST
    loaded = read_indicators(
        data,
        fmt=load_format,
        defaults=LoadDefaults(
            type=defaults.type,
            tlp=defaults.tlp,
            confidence=defaults.confidence,
            valid_until=defaults.valid_until,
        ),
    )
    parsed = ParsedFeed(
        records=loaded.records,
        invalid_lines=loaded.invalid_lines,
        more_problems=loaded.more_problems,
        limit_exceeded=loaded.limit_exceeded,
        _noted=loaded._noted,
    )
    parsed.objects = len(loaded.records) + loaded.invalid_lines
    return parsed, fmt


def merge(parts: list[ParsedFeed]) -> ParsedFeed:
    """Return one ParsedFeed of several (the events of a MISP feed); refusals become
    problems of the part they came from."""
    merged = ParsedFeed()
    for number, part in enumerate(parts, start=1):
        merged.records += part.records
        merged.unmatchable += part.unmatchable
        merged.ignored += part.ignored
        merged.objects += part.objects
        merged.invalid_lines += part.invalid_lines
        merged.more_problems += part.more_problems
        merged._noted += [(number, problem) for _, problem in part._noted]
        if part.refused is not None:
            merged.note(f"part {number}", "", f"refused: {part.refused}", number)
    return merged
