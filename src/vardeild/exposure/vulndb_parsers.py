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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from vardeild.exposure.cpe import ANY, CpeError, name_key, parse_cpe
from vardeild.exposure.vuln_model import (
    ORIGIN_CVE5,
    ORIGIN_NVD,
    CveRecord,
    EpssScore,
    KevEntry,
    MatchCriterion,
    RecordProblem,
)

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # a whole EPSS file is ~12 MB, an NVD page ~30 MB
MAX_DESCRIPTION = 4000  # characters of a description kept
MAX_CONDITIONS = 600  # characters of an AND configuration's other parts kept
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
# CVE JSON 5 versions that mean "from the beginning" rather than a version.
_OPEN_START = {"", "0", "*", "n/a", "-", "all", "unspecified"}
_OPEN_END = {"", "*", "n/a", "all"}
# CVSS keys, best first: (NVD metrics key, CVE JSON 5 key, version).
_CVSS = (
    ("cvssMetricV40", "cvssV4_0", "4.0"),
    ("cvssMetricV31", "cvssV3_1", "3.1"),
    ("cvssMetricV30", "cvssV3_0", "3.0"),
    ("cvssMetricV2", "cvssV2_0", "2.0"),
)


class DocumentError(ValueError):
    """The document is none of the kinds we read, or it is unreadable as a whole."""


class DocumentKind(StrEnum):
    """What a vulnerability-knowledge document holds."""

    NVD = "nvd"
    CVE5 = "cve5"
    KEV = "kev"
    EPSS = "epss"


@dataclass
class ParsedDocument:
    """What one document held: its kind, the records read, and the records refused."""

    kind: DocumentKind
    name: str
    cves: list[CveRecord] = field(default_factory=list)
    kev: list[KevEntry] = field(default_factory=list)
    epss: list[EpssScore] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)
    version: str | None = None  # KEV catalogueVersion or EPSS model_version
    total: int | None = None  # NVD totalResults (every page of the query)
    page_size: int = 0  # NVD: entries in this page, the unreadable ones included

    @property
    def count(self) -> int:
        """Return how many records were read."""
        return len(self.cves) + len(self.kev) + len(self.epss)


class _RecordError(ValueError):
    """One record is unreadable; the message says why."""


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
            return _parse_cve5_many([document], name)
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
        return _parse_cve5_many(document, name)  # a list of CVE JSON 5 records
    raise DocumentError(f"{name}: JSON, but not an NVD response, CVE JSON 5 record or KEV")


# -- NVD API 2.0 ---------------------------------------------------------------------------


def parse_nvd_response(document: Mapping[str, Any], name: str) -> ParsedDocument:
    """Return the CVEs of one NVD CVE API 2.0 response, each bad one as a problem."""
    parsed = ParsedDocument(DocumentKind.NVD, name)
    entries = document.get("vulnerabilities")
    if not isinstance(entries, list):
        raise DocumentError(f"{name}: an NVD response needs a 'vulnerabilities' list")
    total = document.get("totalResults")
    parsed.total = total if isinstance(total, int) else None
    parsed.page_size = len(entries)
    for index, entry in enumerate(entries):
        cve = entry.get("cve") if isinstance(entry, dict) else None
        label = f"{name}: vulnerabilities[{index}]"
        if isinstance(cve, dict) and isinstance(cve.get("id"), str):
            label += f" ({cve['id']})"
        try:
            if not isinstance(cve, dict):
                raise _RecordError("no 'cve' object")
            parsed.cves.append(_nvd_cve(cve))
        except (_RecordError, CpeError) as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
    return parsed


def _nvd_cve(cve: Mapping[str, Any]) -> CveRecord:
    cve_id = _cve_id(cve.get("id"))
    status = str(cve.get("vulnStatus") or "")
    score, version, vector = _nvd_cvss(cve.get("metrics") or {})
    configurations = cve.get("configurations") or []
    if not isinstance(configurations, list):
        raise _RecordError("'configurations' is not a list")
    return CveRecord(
        cve_id=cve_id,
        origin=ORIGIN_NVD,
        state="REJECTED" if status.lower() == "rejected" else "PUBLISHED",
        published=_optional_str(cve.get("published")),
        last_modified=_optional_str(cve.get("lastModified")),
        description=_english(cve.get("descriptions")),
        cvss_score=score,
        cvss_version=version,
        cvss_vector=vector,
        criteria=tuple(criteria_of_configurations(configurations)),
    )


def _nvd_cvss(metrics: Mapping[str, Any]) -> tuple[float | None, str | None, str | None]:
    """Best CVSS: the highest version present; within it NVD's Primary score first."""
    for key, _, version in _CVSS:
        entries = metrics.get(key)
        if not isinstance(entries, list) or not entries:
            continue
        ranked = sorted(
            (e for e in entries if isinstance(e, dict)), key=lambda e: e.get("type") != "Primary"
        )
        for entry in ranked:
            data = entry.get("cvssData") or {}
            score = data.get("baseScore")
            if isinstance(score, int | float):
                return float(score), version, _optional_str(data.get("vectorString"))
    return None, None, None


def criteria_of_configurations(configurations: Sequence[Any]) -> Iterator[MatchCriterion]:
    """Yield a criterion per cpeMatch of NVD-style configurations (NVD `configurations`, CVE
    JSON 5 `cpeApplicability`); raise _RecordError/CpeError for a malformed one.

    In an AND configuration, every other node is a condition the matcher cannot check (most
    often the operating system or hardware the application runs on, vulnerable=false); it is
    kept, described, with each criterion. Negated nodes are conditions too, never a match.
    """
    for config_index, configuration in enumerate(configurations):
        if not isinstance(configuration, dict):
            raise _RecordError(f"configurations[{config_index}] is not an object")
        nodes = configuration.get("nodes") or []
        operator = str(configuration.get("operator") or "OR").upper()
        described = [_describe_node(node) for node in nodes] if operator == "AND" else []
        for node_index, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise _RecordError(f"configurations[{config_index}].nodes[{node_index}] is bad")
            others = [d for i, d in enumerate(described) if i != node_index]
            conditions = None
            if operator == "AND" and others:
                conditions = _clip(" AND ".join(others), MAX_CONDITIONS)
            if node.get("negate"):
                continue
            for match_index, match in enumerate(node.get("cpeMatch") or []):
                where = f"configurations[{config_index}].nodes[{node_index}]"
                yield _criterion(
                    match, f"{where}.cpeMatch[{match_index}]", config_index, node_index, conditions
                )


def _describe_node(node: Any) -> str:
    if not isinstance(node, dict):
        return "?"
    matches = [m for m in node.get("cpeMatch") or [] if isinstance(m, dict)]
    shown = [str(m.get("criteria")) + _range_text(m) for m in matches[:3]]
    more = f" (+{len(matches) - 3} more)" if len(matches) > 3 else ""
    text = "one of " + ", ".join(shown) + more if len(shown) > 1 else "".join(shown)
    return ("NOT " if node.get("negate") else "") + f"[{text}]"


def _range_text(match: Mapping[str, Any]) -> str:
    keys = (
        "versionStartIncluding",
        "versionStartExcluding",
        "versionEndIncluding",
        "versionEndExcluding",
    )
    return "".join(f" {key} {match[key]}" for key in keys if match.get(key))


def _criterion(
    match: Any, where: str, config_index: int, node_index: int, conditions: str | None
) -> MatchCriterion:
    if not isinstance(match, dict) or not isinstance(match.get("criteria"), str):
        raise _RecordError(f"{where}: no 'criteria' CPE")
    try:
        cpe = parse_cpe(match["criteria"])
    except CpeError as exc:
        raise _RecordError(f"{where}: {exc}") from exc
    start_in, start_ex = match.get("versionStartIncluding"), match.get("versionStartExcluding")
    end_in, end_ex = match.get("versionEndIncluding"), match.get("versionEndExcluding")
    if (start_in and start_ex) or (end_in and end_ex):
        raise _RecordError(f"{where}: both including and excluding bounds given")
    return MatchCriterion(
        criteria=match["criteria"],
        part=cpe.part,
        vendor=cpe.vendor,
        product=cpe.product,
        vulnerable=bool(match.get("vulnerable", True)),
        version_start=_optional_str(start_in or start_ex),
        start_including=not start_ex,
        version_end=_optional_str(end_in or end_ex),
        end_including=bool(end_in),
        configuration=config_index,
        node=node_index,
        where=where,
        conditions=conditions,
    )


# -- CVE JSON 5 ----------------------------------------------------------------------------


def _parse_cve5_many(documents: Iterable[Any], name: str) -> ParsedDocument:
    parsed = ParsedDocument(DocumentKind.CVE5, name)
    for index, document in enumerate(documents):
        label = name if index == 0 else f"{name}: [{index}]"
        try:
            parsed.cves.append(parse_cve5_record(document))
        except (_RecordError, CpeError) as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
    return parsed


def parse_cve5_record(document: Any) -> CveRecord:
    """Return one CVE JSON 5 record; raise ValueError naming what is wrong with it."""
    if not isinstance(document, dict):
        raise _RecordError("a CVE record is a JSON object")
    metadata = document.get("cveMetadata")
    if not isinstance(metadata, dict):
        raise _RecordError("no 'cveMetadata' object")
    cve_id = _cve_id(metadata.get("cveId"))
    containers = document.get("containers")
    if not isinstance(containers, dict) or not isinstance(containers.get("cna"), dict):
        raise _RecordError(f"{cve_id}: no 'containers.cna' object")
    cna: dict[str, Any] = containers["cna"]
    adp = [c for c in containers.get("adp") or [] if isinstance(c, dict)]
    state = str(metadata.get("state") or "PUBLISHED").upper()
    if state == "REJECTED":
        description = _english(cna.get("rejectedReasons"))
        criteria: tuple[MatchCriterion, ...] = ()
        score = version = vector = None
    else:
        description = _english(cna.get("descriptions"))
        score, version, vector = _cve5_cvss([cna, *adp])
        try:
            criteria = tuple(_cve5_criteria(cna, adp))
        except _RecordError as exc:
            raise _RecordError(f"{cve_id}: {exc}") from exc
    return CveRecord(
        cve_id=cve_id,
        origin=ORIGIN_CVE5,
        state=state,
        published=_optional_str(metadata.get("datePublished")),
        last_modified=_optional_str(metadata.get("dateUpdated")),
        description=description,
        cvss_score=score,
        cvss_version=version,
        cvss_vector=vector,
        criteria=criteria,
    )


def _cve5_cvss(
    containers: Sequence[Mapping[str, Any]],
) -> tuple[float | None, str | None, str | None]:
    """Best CVSS: the highest version present in the CNA's metrics, then the ADPs'."""
    for _, key, version in _CVSS:
        for container in containers:
            for metric in container.get("metrics") or []:
                data = metric.get(key) if isinstance(metric, dict) else None
                if isinstance(data, dict) and isinstance(data.get("baseScore"), int | float):
                    return (
                        float(data["baseScore"]),
                        version,
                        _optional_str(data.get("vectorString")),
                    )
    return None, None, None


def _cve5_criteria(
    cna: Mapping[str, Any], adp: Sequence[Mapping[str, Any]]
) -> Iterator[MatchCriterion]:
    """The CNA's `cpeApplicability` when given (NVD-style); else `affected` entries of the CNA
    and of each ADP (CISA's ADP adds CPE names to them)."""
    applicability = cna.get("cpeApplicability")
    if isinstance(applicability, list) and applicability:
        yield from criteria_of_configurations(applicability)
        return
    for container_index, container in enumerate([cna, *adp]):
        for index, affected in enumerate(container.get("affected") or []):
            where = f"{'cna' if container_index == 0 else f'adp[{container_index - 1}]'}"
            yield from _affected_criteria(affected, f"{where}.affected[{index}]")


def _affected_criteria(affected: Any, where: str) -> Iterator[MatchCriterion]:
    if not isinstance(affected, dict):
        raise _RecordError(f"{where} is not an object")
    products = _affected_products(affected, where)
    if not products:
        return
    versions = [v for v in affected.get("versions") or [] if isinstance(v, dict)]
    ranges = [r for v in versions if (r := _affected_range(v)) is not None]
    if not versions and str(affected.get("defaultStatus")).lower() == "affected":
        ranges = [(None, True, None, False, ANY)]
    for part, vendor, product in products:
        for start, start_including, end, end_including, exact in ranges:
            criteria = f"cpe:2.3:{part}:{_bind(vendor)}:{_bind(product)}:{_bind(exact)}" + (
                ":*" * 7
            )
            yield MatchCriterion(
                criteria=criteria,
                part=part,
                vendor=vendor,
                product=product,
                vulnerable=True,
                version_start=start,
                start_including=start_including,
                version_end=end,
                end_including=end_including,
                where=where,
            )


def _affected_products(affected: Mapping[str, Any], where: str) -> list[tuple[str, str, str]]:
    """(part, vendor, product) from the entry's CPE names, else from its vendor and product."""
    found: list[tuple[str, str, str]] = []
    for text in affected.get("cpes") or []:
        try:
            cpe = parse_cpe(str(text))
        except CpeError as exc:
            raise _RecordError(f"{where}.cpes: {exc}") from exc
        if (cpe.part, cpe.vendor, cpe.product) not in found:
            found.append((cpe.part, cpe.vendor, cpe.product))
    if found:
        return found
    vendor, product = affected.get("vendor"), affected.get("product")
    if isinstance(vendor, str) and isinstance(product, str) and vendor.strip() and product.strip():
        if vendor.strip().lower() in ("n/a", "unknown") or product.strip().lower() in ("n/a",):
            return []
        return [(ANY, name_key(vendor), name_key(product))]
    package = affected.get("packageName")
    if isinstance(package, str) and package.strip():
        # A package without a vendor (xz from its repository): any vendor's product of the name.
        return [(ANY, ANY, name_key(package))]
    return []


def _affected_range(
    entry: Mapping[str, Any],
) -> tuple[str | None, bool, str | None, bool, str] | None:
    """(start, start_including, end, end_including, exact version or ANY) of one affected
    version entry, or None for an unaffected entry or one we cannot order (git commits)."""
    if str(entry.get("status", "")).lower() != "affected":
        return None
    if str(entry.get("versionType", "")).lower() == "git":
        return None
    version = str(entry.get("version") or "").strip()
    less_than = _optional_str(entry.get("lessThan"))
    less_equal = _optional_str(entry.get("lessThanOrEqual"))
    less_than = less_than.strip() if less_than else None
    less_equal = less_equal.strip() if less_equal else None
    if less_than is None and less_equal is None:
        if version.lower() in _OPEN_START:
            return None if version == "" else (None, True, None, False, ANY)
        return None, True, None, False, version
    start = None if version.lower() in _OPEN_START else version
    if less_than is not None:
        end = None if less_than.lower() in _OPEN_END else less_than
        return start, True, end, False, ANY
    end = None if (less_equal or "").lower() in _OPEN_END else less_equal
    return start, True, end, True, ANY


def _bind(value: str) -> str:
    if value == ANY:
        return ANY
    return re.sub(r"([^A-Za-z0-9_])", r"\\\1", value)


# -- KEV -----------------------------------------------------------------------------------


def parse_kev_json(document: Mapping[str, Any], name: str) -> ParsedDocument:
    """Return the entries of a CISA KEV catalogue in JSON, each bad one as a problem."""
    parsed = ParsedDocument(
        DocumentKind.KEV, name, version=_optional_str(document.get("catalogVersion"))
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
            raise _RecordError("not an object")
        cve_id = _cve_id(entry.get("cveID"))
        parsed.kev.append(
            KevEntry(
                cve_id=cve_id,
                vendor_project=str(entry.get("vendorProject") or ""),
                product=str(entry.get("product") or ""),
                name=str(entry.get("vulnerabilityName") or ""),
                date_added=_date(entry.get("dateAdded"), "dateAdded"),
                due_date=_date(entry.get("dueDate"), "dueDate"),
                ransomware=str(entry.get("knownRansomwareCampaignUse") or "").lower() == "known",
                required_action=str(entry.get("requiredAction") or ""),
                short_description=str(entry.get("shortDescription") or ""),
            )
        )
    except _RecordError as exc:
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
                raise _RecordError(f"want cve,epss,percentile, got {len(cells)} cells")
            cve_id = _cve_id(cells[0])
            epss, percentile = _probability(cells[1], "epss"), _probability(cells[2], "percentile")
        except _RecordError as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
            continue
        parsed.epss.append(EpssScore(cve_id, epss, percentile, score_date, parsed.version))
    return parsed


def _probability(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise _RecordError(f"{what} {text!r} is not a number") from exc
    if not 0.0 <= value <= 1.0:
        raise _RecordError(f"{what} {text!r} is outside 0-1")
    return value


# -- shared --------------------------------------------------------------------------------


def _cve_id(value: Any) -> str:
    if not isinstance(value, str) or not CVE_ID.match(value.strip().upper()):
        raise _RecordError(f"not a CVE id: {value!r}")
    return value.strip().upper()


def _english(descriptions: Any) -> str:
    """The English description (en, en-US, ...), else the first one, clipped."""
    if not isinstance(descriptions, list):
        return ""
    texts = [d for d in descriptions if isinstance(d, dict) and isinstance(d.get("value"), str)]
    english = [d for d in texts if str(d.get("lang", "")).lower().startswith("en")]
    chosen = (english or texts)[:1]
    return _clip(chosen[0]["value"].strip(), MAX_DESCRIPTION) if chosen else ""


def _date(value: Any, what: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise _RecordError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def _optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
