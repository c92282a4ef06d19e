"""Small synthetic vulnerability knowledge for the exposure tests: NVD API 2.0 responses,
CVE JSON 5 records, a KEV catalogue and EPSS scores, written the way the real sources write
them (field names and shapes as in docs/vulndb.md), so tests never need the shared corpus."""

from __future__ import annotations

import json
from typing import Any


def cpe_match(
    criteria: str,
    *,
    vulnerable: bool = True,
    start_in: str | None = None,
    start_ex: str | None = None,
    end_in: str | None = None,
    end_ex: str | None = None,
) -> dict[str, Any]:
    """One NVD cpeMatch entry."""
    entry: dict[str, Any] = {
        "vulnerable": vulnerable,
        "criteria": criteria,
        "matchCriteriaId": "00000000-0000-0000-0000-000000000000",
    }
    for key, value in (
        ("versionStartIncluding", start_in),
        ("versionStartExcluding", start_ex),
        ("versionEndIncluding", end_in),
        ("versionEndExcluding", end_ex),
    ):
        if value is not None:
            entry[key] = value
    return entry


def nvd_cve(
    cve_id: str,
    *nodes: list[dict[str, Any]],
    operator: str | None = None,
    status: str = "Analyzed",
    score: float | None = 7.5,
    description: str = "A synthetic weakness.",
    last_modified: str = "2026-11-01T10:00:00.000",
) -> dict[str, Any]:
    """One `vulnerabilities[]` entry: a configuration whose nodes are the given cpeMatch lists
    (OR nodes), joined by operator (AND for an application on a platform)."""
    configuration: dict[str, Any] = {
        "nodes": [{"operator": "OR", "negate": False, "cpeMatch": node} for node in nodes]
    }
    if operator:
        configuration["operator"] = operator
    metrics: dict[str, Any] = {}
    if score is not None:
        metrics["cvssMetricV31"] = [
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {
                    "version": "3.1",
                    "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                    "baseScore": score,
                    "baseSeverity": "HIGH",
                },
            }
        ]
    return {
        "cve": {
            "id": cve_id,
            "sourceIdentifier": "cve@example.org",
            "published": "2026-10-01T10:00:00.000",
            "lastModified": last_modified,
            "vulnStatus": status,
            "descriptions": [
                {"lang": "es", "value": "Una debilidad sintética."},
                {"lang": "en", "value": description},
            ],
            "metrics": metrics,
            "configurations": [configuration] if nodes else [],
        }
    }


def nvd_response(*entries: dict[str, Any]) -> bytes:
    """An NVD CVE API 2.0 response holding the entries."""
    return json.dumps(
        {
            "resultsPerPage": len(entries),
            "startIndex": 0,
            "totalResults": len(entries),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-11-28T10:00:00.000",
            "vulnerabilities": list(entries),
        }
    ).encode()


def cve5_record(
    cve_id: str, affected: list[dict[str, Any]], *, state: str = "PUBLISHED"
) -> dict[str, Any]:
    """A CVE JSON 5.1 record with the CNA's affected list."""
    cna: dict[str, Any] = {
        "providerMetadata": {"orgId": "00000000-0000-0000-0000-000000000000"},
        "descriptions": [{"lang": "en", "value": f"{cve_id}: a synthetic CNA record."}],
        "affected": affected,
        "metrics": [{"format": "CVSS", "cvssV4_0": {"version": "4.0", "baseScore": 8.7}}],
    }
    if state == "REJECTED":
        cna = {"rejectedReasons": [{"lang": "en", "value": "Duplicate."}], "providerMetadata": {}}
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": cve_id,
            "state": state,
            "datePublished": "2026-10-01T10:00:00.000Z",
            "dateUpdated": "2026-11-01T10:00:00.000Z",
        },
        "containers": {"cna": cna},
    }


def kev_catalogue(*cves: tuple[str, bool]) -> bytes:
    """A KEV catalogue in JSON: (cve id, known ransomware use) per entry."""
    return json.dumps(
        {
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2026.11.28",
            "dateReleased": "2026-11-28T10:00:00.000Z",
            "count": len(cves),
            "vulnerabilities": [
                {
                    "cveID": cve_id,
                    "vendorProject": "Example",
                    "product": "Widget",
                    "vulnerabilityName": "Example Widget weakness",
                    "dateAdded": "2026-11-20",
                    "shortDescription": "A synthetic entry.",
                    "requiredAction": "Apply updates per vendor instructions.",
                    "dueDate": "2026-12-11",
                    "knownRansomwareCampaignUse": "Known" if ransomware else "Unknown",
                    "notes": "",
                    "cwes": ["CWE-79"],
                }
                for cve_id, ransomware in cves
            ],
        }
    ).encode()


def epss_csv(*scores: tuple[str, float, float]) -> bytes:
    """EPSS scores as FIRST publishes them (comment line, header, rows)."""
    lines = ["#model_version:v2026.06.15,score_date:2026-11-28T12:00:00Z", "cve,epss,percentile"]
    lines += [f"{cve},{epss},{percentile}" for cve, epss, percentile in scores]
    return ("\n".join(lines) + "\n").encode()
