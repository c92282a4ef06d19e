"""Reading NVD CVE API 2.0 responses (`vulnerabilities[].cve`, `metrics.cvssMetricV40/V31/
V30/V2`) and CPE match configurations (`configurations[].nodes[].cpeMatch[]`, which CVE JSON 5's
`cpeApplicability` shares) into CVE records and match criteria."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from vardeild.exposure.cpe import CpeError, parse_cpe
from vardeild.exposure.vuln_model import (
    ORIGIN_NVD,
    CveRecord,
    MatchCriterion,
    RecordProblem,
)
from vardeild.exposure.vulndb_records import (
    CVSS_KEYS,
    MAX_CONDITIONS,
    DocumentError,
    DocumentKind,
    ParsedDocument,
    RecordError,
    clip,
    english,
    optional_str,
    read_cve_id,
)


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
                raise RecordError("no 'cve' object")
            parsed.cves.append(_nvd_cve(cve))
        except (RecordError, CpeError) as exc:
            parsed.problems.append(RecordProblem(label, str(exc)))
    return parsed


def _nvd_cve(cve: Mapping[str, Any]) -> CveRecord:
    cve_id = read_cve_id(cve.get("id"))
    status = str(cve.get("vulnStatus") or "")
    score, version, vector = _nvd_cvss(cve.get("metrics") or {})
    configurations = cve.get("configurations") or []
    if not isinstance(configurations, list):
        raise RecordError("'configurations' is not a list")
    return CveRecord(
        cve_id=cve_id,
        origin=ORIGIN_NVD,
        state="REJECTED" if status.lower() == "rejected" else "PUBLISHED",
        published=optional_str(cve.get("published")),
        last_modified=optional_str(cve.get("lastModified")),
        description=english(cve.get("descriptions")),
        cvss_score=score,
        cvss_version=version,
        cvss_vector=vector,
        criteria=tuple(criteria_of_configurations(configurations)),
    )


def _nvd_cvss(metrics: Mapping[str, Any]) -> tuple[float | None, str | None, str | None]:
    """Best CVSS: the highest version present; within it NVD's Primary score first."""
    for key, _, version in CVSS_KEYS:
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
                return float(score), version, optional_str(data.get("vectorString"))
    return None, None, None


def criteria_of_configurations(configurations: Sequence[Any]) -> Iterator[MatchCriterion]:
    """Yield a criterion per cpeMatch of NVD-style configurations (NVD `configurations`, CVE
    JSON 5 `cpeApplicability`); raise RecordError/CpeError for a malformed one.

    In an AND configuration, every other node is a condition the matcher cannot check (most
    often the operating system or hardware the application runs on, vulnerable=false); it is
    kept, described, with each criterion. Negated nodes are conditions too, never a match.
    """
    for config_index, configuration in enumerate(configurations):
        if not isinstance(configuration, dict):
            raise RecordError(f"configurations[{config_index}] is not an object")
        nodes = configuration.get("nodes") or []
        operator = str(configuration.get("operator") or "OR").upper()
        described = [_describe_node(node) for node in nodes] if operator == "AND" else []
        for node_index, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise RecordError(f"configurations[{config_index}].nodes[{node_index}] is bad")
            others = [d for i, d in enumerate(described) if i != node_index]
            conditions = None
            if operator == "AND" and others:
                conditions = clip(" AND ".join(others), MAX_CONDITIONS)
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
        raise RecordError(f"{where}: no 'criteria' CPE")
    try:
        cpe = parse_cpe(match["criteria"])
    except CpeError as exc:
        raise RecordError(f"{where}: {exc}") from exc
    start_in, start_ex = match.get("versionStartIncluding"), match.get("versionStartExcluding")
    end_in, end_ex = match.get("versionEndIncluding"), match.get("versionEndExcluding")
    if (start_in and start_ex) or (end_in and end_ex):
        raise RecordError(f"{where}: both including and excluding bounds given")
    return MatchCriterion(
        criteria=match["criteria"],
        part=cpe.part,
        vendor=cpe.vendor,
        product=cpe.product,
        vulnerable=bool(match.get("vulnerable", True)),
        version_start=optional_str(start_in or start_ex),
        start_including=not start_ex,
        version_end=optional_str(end_in or end_ex),
        end_including=bool(end_in),
        configuration=config_index,
        node=node_index,
        where=where,
        conditions=conditions,
    )
