"""Nuclei results (JSONL, or one JSON document or array as `-json-export` writes) into
`ParsedScan`.

Nuclei renamed its keys over the years: `templateID` became `template-id`, `matched` became
`matched-at`; both spellings are read. A record says where through `ip`, `matched-at` and
`host`; the port comes from `matched-at` (host:port or a URL) or the URL's scheme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from vardeild.exposure.imports_nessus import host_address
from vardeild.exposure.model import (
    MAX_RECORDS,
    ImportRefused,
    ObservedService,
    ParsedScan,
    ReportedWeakness,
    Source,
    Transport,
    canonical_address,
    clip,
)

_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ssh": 22}
_NETWORK_TYPES = {"dns": (53, Transport.UDP)}


def parse_nuclei(data: bytes, name: str) -> ParsedScan:
    """Return the services one Nuclei output names; each bad line is refused by number."""
    scan = ParsedScan(source=Source.NUCLEI, name=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"{name}: not UTF-8 text ({exc})") from None
    for record, item in _records(scan, text, name):
        try:
            scan.services.append(read_nuclei_record(item))
        except ValueError as exc:
            scan.refuse(record, str(exc))
        if len(scan.services) > MAX_RECORDS:
            raise ImportRefused(f"{name}: more than {MAX_RECORDS} records; split the file")
    for service in scan.services:
        scan.hosts.add(service.address)
    return scan


def _records(scan: ParsedScan, text: str, name: str) -> Iterator[tuple[str, Any]]:
    stripped = text.strip()
    if not stripped:
        return
    if stripped[0] == "[" or (stripped[0] == "{" and "\n{" not in stripped):
        # One JSON document: an array of results, or a single result pretty-printed.
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"{name}: not JSON lines nor one JSON document ({exc})") from None
        items = document if isinstance(document, list) else [document]
        for index, item in enumerate(items):
            yield f"{name} item {index + 1}", item
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            scan.refuse(f"{name} line {number}", f"not JSON ({exc.msg} at column {exc.colno})")
            continue
        yield f"{name} line {number}", item


def _text(item: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _where(item: Mapping[str, Any]) -> tuple[str, int, Transport]:
    matched = _text(item, "matched-at", "matched")
    host = _text(item, "host")
    url = _text(item, "url").lstrip("/")
    kind = _text(item, "type").lower()
    transport = Transport.TCP
    port: int | None = None
    name = ""
    for candidate in (matched, host, url):
        if not candidate:
            continue
        if "://" in candidate:
            parts = urlsplit(candidate)
            try:
                port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
            except ValueError:
                port = None
            name = parts.hostname or ""
        elif candidate.count(":") == 1:
            name, _, port_text = candidate.partition(":")
            port = int(port_text) if port_text.isdigit() else None
        else:
            name = candidate
        if name:
            break
    raw_port = item.get("port")
    if port is None and isinstance(raw_port, str | int) and str(raw_port).isdigit():
        port = int(raw_port)
    if port is None and kind in _NETWORK_TYPES:
        port, transport = _NETWORK_TYPES[kind]
    address = canonical_address(_text(item, "ip")) or host_address(name)
    if address is None:
        raise ValueError(
            f"no usable address: ip {item.get('ip')!r}, matched-at/matched {matched!r}, "
            f"host {host!r}, url {url!r}"
        )
    if port is None or not 0 < port < 65536:
        raise ValueError(f"no port in matched-at/matched {matched!r} or host {host!r}")
    return address, port, transport


def read_nuclei_record(item: Any) -> ObservedService:
    """Return the service one Nuclei result names; ValueError says what is missing."""
    if not isinstance(item, Mapping):
        raise ValueError(f"a result must be a JSON object, not {type(item).__name__}")
    template = _text(item, "template-id", "templateID")
    if not template:
        raise ValueError("has neither template-id nor templateID")
    info = item.get("info") if isinstance(item.get("info"), Mapping) else {}
    assert isinstance(info, Mapping)
    address, port, transport = _where(item)
    classification = info.get("classification")
    cves: set[str] = set()
    score: float | None = None
    if isinstance(classification, Mapping):
        raw = classification.get("cve-id") or []
        for cve in [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []:
            if isinstance(cve, str) and _CVE.match(cve.strip().upper()):
                cves.add(cve.strip().upper())
        raw_score = classification.get("cvss-score")
        if isinstance(raw_score, int | float) and not isinstance(raw_score, bool):
            score = float(raw_score)
    if _CVE.match(template.upper()):
        cves.add(template.upper())
    severity = _text(info, "severity").lower()
    weaknesses: tuple[ReportedWeakness, ...] = ()
    if cves or severity not in {"", "info", "unknown"}:
        weaknesses = (
            ReportedWeakness(
                reference=f"nuclei:{clip(template, 200)}",
                title=clip(_text(info, "name") or template),
                cve_ids=tuple(sorted(cves)),
                cvss_score=score,
            ),
        )
    kind = _text(item, "type").lower()
    return ObservedService(
        address=address,
        port=port,
        transport=transport,
        service=clip(kind, 100),
        hostname=clip(host_address(_text(item, "host")) or "", 253)
        if canonical_address(_text(item, "ip"))
        else "",
        banner=clip(" ".join(str(x) for x in item.get("extracted-results") or [])[:1000]),
        weaknesses=weaknesses,
    )
