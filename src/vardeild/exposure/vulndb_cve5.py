"""Reading CVE Record Format 5.x (`containers.cna/adp[].affected/metrics`,
`cpeApplicability`) into CVE records and match criteria."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from vardeild.exposure.cpe import ANY, CpeError, name_key, parse_cpe
from vardeild.exposure.vuln_model import (
    ORIGIN_CVE5,
    CveRecord,
    MatchCriterion,
    RecordProblem,
)
from vardeild.exposure.vulndb_nvd import criteria_of_configurations
from vardeild.exposure.vulndb_records import (
    CVSS_KEYS,
    DocumentKind,
    ParsedDocument,
    RecordError,
    english,
    optional_str,
    read_cve_id,
)

# CVE JSON 5 versions that mean "from the beginning" rather than a version.
_OPEN_START = {"", "0", "*", "n/a", "-", "all", "unspecified"}
_OPEN_END = {"", "*", "n/a", "all"}


def parse_cve5_many(documents: Iterable[Any], name: str) -> ParsedDocument:
    """Return the CVEs of CVE JSON 5 records, each bad one as a problem."""
    parsed = ParsedDocument(DocumentKind.CVE5, name)
    for index, document in enumerate(documents):
        label = name if index == 0 else f"{name}: [{index}]"
        try:
            parsed.cves.append(parse_cve5_record(document))
        except (RecordError, CpeError) as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
    return parsed


def parse_cve5_record(document: Any) -> CveRecord:
    """Return one CVE JSON 5 record; raise ValueError naming what is wrong with it."""
    if not isinstance(document, dict):
        raise RecordError("a CVE record is a JSON object")
    metadata = document.get("cveMetadata")
    if not isinstance(metadata, dict):
        raise RecordError("no 'cveMetadata' object")
    cve_id = read_cve_id(metadata.get("cveId"))
    containers = document.get("containers")
    if not isinstance(containers, dict) or not isinstance(containers.get("cna"), dict):
        raise RecordError(f"{cve_id}: no 'containers.cna' object")
    cna: dict[str, Any] = containers["cna"]
    adp = [c for c in containers.get("adp") or [] if isinstance(c, dict)]
    state = str(metadata.get("state") or "PUBLISHED").upper()
    if state == "REJECTED":
        description = english(cna.get("rejectedReasons"))
        criteria: tuple[MatchCriterion, ...] = ()
        score = version = vector = None
    else:
        description = english(cna.get("descriptions"))
        score, version, vector = _cve5_cvss([cna, *adp])
        try:
            criteria = tuple(_cve5_criteria(cna, adp))
        except RecordError as exc:
            raise RecordError(f"{cve_id}: {exc}") from exc
    return CveRecord(
        cve_id=cve_id,
        origin=ORIGIN_CVE5,
        state=state,
        published=optional_str(metadata.get("datePublished")),
        last_modified=optional_str(metadata.get("dateUpdated")),
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
    for _, key, version in CVSS_KEYS:
        for container in containers:
            for metric in container.get("metrics") or []:
                data = metric.get(key) if isinstance(metric, dict) else None
                if isinstance(data, dict) and isinstance(data.get("baseScore"), int | float):
                    return (
                        float(data["baseScore"]),
                        version,
                        optional_str(data.get("vectorString")),
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
        raise RecordError(f"{where} is not an object")
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
            raise RecordError(f"{where}.cpes: {exc}") from exc
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
    less_than = optional_str(entry.get("lessThan"))
    less_equal = optional_str(entry.get("lessThanOrEqual"))
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
