"""Reading vulnerability knowledge: NVD API 2.0 responses, CVE JSON 5 records, the CISA KEV
catalogue (JSON and CSV) and FIRST EPSS scores (CSV, gzip or not). No I/O: bytes in, records
and problems out.

Each document is read record by record: a record that cannot be read becomes a
`RecordProblem` naming the file, its place and why, and the others still load. A document
that is not one of these kinds at all raises `DocumentError`. The formats: NVD CVE API 2.0
(`vulnerabilities[].cve`, `configurations[].nodes[].cpeMatch[]`, `metrics.cvssMetricV40/V31/
V30/V2`), CVE Record Format 5.x (`containers.cna/adp[].affected/metrics`, `cpeApplicability`),
CISA KEV (`vulnerabilities[]` with `cveID`), EPSS (`#model_version:...,score_date:...`, then
`cve,epss,percentile`). docs/vulndb.md describes what is kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Mapping
from datetime import date
from typing import Any

from vardeild.exposure.vuln_model import EpssScore, KevEntry, RecordProblem
from vardeild.exposure.vulndb_cve5 import parse_cve5_many
from vardeild.exposure.vulndb_nvd import parse_nvd_response
from vardeild.exposure.vulndb_records import (
    MAX_DOCUMENT_BYTES,
    DocumentError,
    DocumentKind,
    ParsedDocument,
    RecordError,
    optional_str,
    parse_date,
    read_cve_id,
)


def parse_document(data: bytes, name: str) -> ParsedDocument:
    """Return the records of an NVD, CVE JSON 5, KEV or EPSS document (gzip allowed); raise
    DocumentError when it is none of them."""
    data = _gunzip(data, name)
    stripped = data.lstrip()
    if stripped[:1] in (b"{", b"["):
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise DocumentError(f"{name}: not valid JSON: {exc}") from exc
        return _parse_json(document, name)
    text = _text(data, name)
    first = text.lstrip("\ufeff").split("\n", 1)[0].strip().lower()
    if first.startswith("#model_version") or first.startswith("cve,epss") or _EPSS_ROW.match(first):
        return parse_epss_csv(text, name)
    if first.startswith("cveid,") or ",cveid," in first:
        return parse_kev_csv(text, name)
    raise DocumentError(
        f"{name}: not NVD API 2.0 JSON, CVE JSON 5, a KEV catalogue (JSON/CSV) nor EPSS CSV"
    )


def _gunzip(data: bytes, name: str) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"{name}: larger than {MAX_DOCUMENT_BYTES:,} bytes")
        return data
    # Bounded: a small gzip bomb must not fill the memory.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_DOCUMENT_BYTES + 1)
    except zlib.error as exc:
        raise DocumentError(f"{name}: broken gzip: {exc}") from exc
    if len(out) > MAX_DOCUMENT_BYTES or inflater.unconsumed_tail:
        raise DocumentError(f"{name}: larger than {MAX_DOCUMENT_BYTES:,} bytes uncompressed")
    if not inflater.eof:
        raise DocumentError(f"{name}: broken gzip: the stream is cut short")
    return out


def gzip_bytes(data: bytes) -> bytes:
    """Return data gzip-compressed (what EPSS publishes; used by tests and the bench)."""
    return gzip.compress(data)


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name}: not UTF-8 text: {exc}") from exc


def _parse_json(document: Any, name: str) -> ParsedDocument:
    if isinstance(document, dict):
        if document.get("dataType") == "CVE_RECORD" or "cveMetadata" in document:
            return parse_cve5_many([document], name)
        if document.get("format") == "NVD_CVE" or (
            "vulnerabilities" in document and "resultsPerPage" in document
        ):
            return parse_nvd_response(document, name)
        if "catalogVersion" in document or (
            isinstance(document.get("vulnerabilities"), list)
            and all(isinstance(v, dict) and "cveID" in v for v in document["vulnerabilities"][:5])
            and document["vulnerabilities"]
        ):
            return parse_kev_json(document, name)
        if "$schema" in document:
            raise DocumentError(f"{name}: a JSON schema, not a catalogue of records")
    if (
        isinstance(document, list)
        and document
        and isinstance(document[0], dict)
        and ("cveMetadata" in document[0])
    ):
        return parse_cve5_many(document, name)  # a list of CVE JSON 5 records
    raise DocumentError(f"{name}: JSON, but not an NVD response, CVE JSON 5 record or KEV")


# -- KEV -----------------------------------------------------------------------------------


def parse_kev_json(document: Mapping[str, Any], name: str) -> ParsedDocument:
    """Return the entries of a CISA KEV catalogue in JSON, each bad one as a problem."""
    parsed = ParsedDocument(
        DocumentKind.KEV, name, version=optional_str(document.get("catalogVersion"))
    )
    for index, entry in enumerate(document.get("vulnerabilities") or []):
        _add_kev(parsed, entry, f"{name}: vulnerabilities[{index}]")
    return parsed


def parse_kev_csv(text: str, name: str) -> ParsedDocument:
    """Return the entries of a CISA KEV catalogue in CSV, each bad row as a problem."""
    parsed = ParsedDocument(DocumentKind.KEV, name)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    for row in reader:
        _add_kev(parsed, row, f"{name}: line {reader.line_num}")
    return parsed


def _add_kev(parsed: ParsedDocument, entry: Any, label: str) -> None:
    try:
        if not isinstance(entry, dict):
            raise RecordError("not an object")
        cve_id = read_cve_id(entry.get("cveID"))
        parsed.kev.append(
            KevEntry(
                cve_id=cve_id,
                vendor_project=str(entry.get("vendorProject") or ""),
                product=str(entry.get("product") or ""),
                name=str(entry.get("vulnerabilityName") or ""),
                date_added=parse_date(entry.get("dateAdded"), "dateAdded"),
                due_date=parse_date(entry.get("dueDate"), "dueDate"),
                ransomware=str(entry.get("knownRansomwareCampaignUse") or "").lower() == "known",
                required_action=str(entry.get("requiredAction") or ""),
                short_description=str(entry.get("shortDescription") or ""),
            )
        )
    except RecordError as exc:
        parsed.problems.append(RecordProblem(label, str(exc)))


# -- EPSS ----------------------------------------------------------------------------------

_EPSS_ROW = re.compile(r"^cve-\d{4}-\d{4,},[0-9.e-]+,[0-9.e-]+\s*$")
_EPSS_META = re.compile(r"model_version:([^,]+)(?:,score_date:(\d{4}-\d{2}-\d{2}))?")


def parse_epss_csv(text: str, name: str) -> ParsedDocument:
    """Return the scores of an EPSS CSV (the `#model_version...` line and header optional, so a
    file cut from the middle of one loads), each bad row as a problem."""
    parsed = ParsedDocument(DocumentKind.EPSS, name)
    score_date: date | None = None
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if (meta := _EPSS_META.search(line)) is not None:
                parsed.version = meta.group(1)
                score_date = date.fromisoformat(meta.group(2)) if meta.group(2) else None
            continue
        if line.lower().startswith("cve,"):
            continue
        label = f"{name}: line {number}"
        cells = line.split(",")
        try:
            if len(cells) != 3:
                raise RecordError(f"want cve,epss,percentile, got {len(cells)} cells")
            cve_id = read_cve_id(cells[0])
            epss, percentile = _probability(cells[1], "epss"), _probability(cells[2], "percentile")
        except RecordError as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
            continue
        parsed.epss.append(EpssScore(cve_id, epss, percentile, score_date, parsed.version))
    return parsed


def _probability(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise RecordError(f"{what} {text!r} is not a number") from exc
    if not 0.0 <= value <= 1.0:
        raise RecordError(f"{what} {text!r} is outside 0-1")
    return value
