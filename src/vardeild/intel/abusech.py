"""Reading abuse.ch feeds: Feodo Tracker's botnet C2 blocklist, URLhaus's URL list and SSLBL's
certificate and JA3 blacklists (CSV). No I/O.

They share a shape: a `#` comment banner, sometimes the header inside it (`# id,dateadded,
...`), quoted cells, CRLF line ends after a pass through Windows, and dates that spreadsheets
rewrite (`21/04/2025 10:00`). `csv_mapping.read_table` reads all of that; each reader here maps
the feed's own columns. Plain blocklists (one IP a line) are read by `loaders` as lists.
"""

from __future__ import annotations

from vardeild.intel.csv_mapping import Table, read_table
from vardeild.intel.imports import (
    ImportDefaults,
    ParsedFeed,
    lenient_description,
    lenient_tags,
    parse_feed_time,
)
from vardeild.intel.model import IndicatorRecord, IndicatorType, normalise_indicator


def read_feodo(data: bytes, *, defaults: ImportDefaults) -> ParsedFeed:
    """Return the C2 addresses of Feodo Tracker's CSV blocklist (first_seen_utc, dst_ip,
    dst_port, c2_status, last_online, malware)."""
    parsed = ParsedFeed()
    table = read_table(data, key="dst_ip", parsed=parsed)
    if table is None:
        return parsed
    for line, row in _rows(table, parsed):
        malware = row.get("malware", "")
        port = row.get("dst_port", "")
        status = row.get("c2_status", "")
        _add(
            parsed,
            defaults,
            line,
            "dst_ip",
            IndicatorType.IPV4,
            row.get("dst_ip", ""),
            first_seen=row.get("first_seen_utc", "") or row.get("first_seen", ""),
            tags=[malware, "botnet-c2"],
            description=f"Feodo Tracker: {malware or 'botnet'} C2 on port {port} ({status})",
        )
    return parsed


def read_urlhaus(data: bytes, *, defaults: ImportDefaults) -> ParsedFeed:
    """Return the URLs of a URLhaus CSV export (id, dateadded, url, url_status, last_online,
    threat, tags, urlhaus_link, reporter)."""
    parsed = ParsedFeed()
    table = read_table(data, key="url", parsed=parsed)
    if table is None:
        return parsed
    for line, row in _rows(table, parsed):
        tags = [row.get("threat", ""), *row.get("tags", "").split(",")]
        _add(
            parsed,
            defaults,
            line,
            "url",
            IndicatorType.URL,
            row.get("url", ""),
            first_seen=row.get("dateadded", ""),
            tags=tags,
            description=f"URLhaus ({row.get('url_status', '')}): {row.get('urlhaus_link', '')}",
        )
    return parsed


def read_sslbl(data: bytes, *, defaults: ImportDefaults) -> ParsedFeed:
    """Return the fingerprints of an SSLBL blacklist: certificates (Listingdate, SHA1,
    Listingreason) or JA3 (ja3_md5, Firstseen, Lastseen, Listingreason)."""
    parsed = ParsedFeed()
    probe = ParsedFeed()
    if read_table(data, key="ja3_md5", parsed=probe) is not None:
        table = read_table(data, key="ja3_md5", parsed=parsed)
        column, kind, seen = "ja3_md5", IndicatorType.JA3, "firstseen"
    else:
        table = read_table(data, key="sha1", parsed=parsed)
        column, kind, seen = "sha1", IndicatorType.X509_SHA1, "listingdate"
    if table is None:
        parsed.refused = "no header naming 'SHA1' (certificates) or 'ja3_md5' (JA3)"
        return parsed
    for line, row in _rows(table, parsed):
        reason = row.get("listingreason", "")
        _add(
            parsed,
            defaults,
            line,
            column,
            kind,
            row.get(column, ""),
            first_seen=row.get(seen, ""),
            tags=[reason],
            description=f"SSLBL: {reason}",
        )
    return parsed


def _rows(table: Table, parsed: ParsedFeed) -> list[tuple[int, dict[str, str]]]:
    """Return each data row as {column: cell}; note rows with too few cells."""
    rows = []
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
        cells = cells[: len(table.columns)]
        rows.append(
            (line, {name: cell.strip() for name, cell in zip(table.columns, cells, strict=True)})
        )
    return rows


def _add(
    parsed: ParsedFeed,
    defaults: ImportDefaults,
    line: int,
    column: str,
    kind: IndicatorType,
    value: str,
    *,
    first_seen: str,
    tags: list[str],
    description: str,
) -> None:
    """Add one record, or note why the row is not one."""
    try:
        canonical = normalise_indicator(kind, value)
    except ValueError as exc:
        parsed.note(f"line {line}", column, str(exc), line)
        return
    seen = None
    if first_seen:
        try:
            seen = parse_feed_time(first_seen)
        except ValueError as exc:
            parsed.note(f"line {line}", "first seen", str(exc), line)
            return
    parsed.records.append(
        IndicatorRecord(
            line=line,
            type=kind,
            value=canonical,
            tlp=defaults.tlp,
            confidence=defaults.confidence,
            valid_until=defaults.valid_until,
            tags=lenient_tags([tag.strip() for tag in tags if tag.strip()]),
            description=lenient_description(description),
            first_seen=seen,
        )
    )
