"""Every file of the shared corpus's cve/, kev/ and epss/ loads, with exact counts per file, and
what it loads matches real products."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from vardeild.access.model import Principal, Role
from vardeild.core.clock import FixedClock
from vardeild.exposure.vuln_model import ProductVersion
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.exposure.vulndb_records import DocumentError
from vardeild.exposure.vulndb_service import load_vuln_matcher, load_vulndb_document, vulndb_stats

pytestmark = pytest.mark.acceptance
CERT = Principal(actor="test:analyst", role=Role.CERT_ANALYST)

# file (relative to the corpus) -> records it holds; each loads without a refused record
RECORDS = {
    "cve/nvd_api_2.0/nvdlib_CVE-2017-7542.json": 1,
    "cve/nvd_api_2.0/nvdlib_CVE-2021-26855.json": 1,
    "cve/nvd_api_2.0/nvdlib_CVE-2021-45357.json": 1,
    "cve/nvd_api_2.0/nvdlib_CVE-2022-24646.json": 1,
    "cve/nvd_api_2.0/nvdlib_search_page_1.json": 47,
    "cve/nvd_api_2.0/nvdlib_simple_search.json": 2,
    "kev/known_exploited_vulnerabilities.json": 1404,
    "kev/known_exploited_vulnerabilities.csv": 1404,
    "kev/known_exploited_vulnerabilities_2025-01-27_snapshot.json": 1252,
    "epss/epss_scores_2026-09-29_excerpt_head.csv": 59,
    "epss/epss_scores_2026-09-29_excerpt_tail.csv": 138,
}
CVE5_FILES = 40  # cve/vulnrichment_cve5/**/CVE-*.json, one record each (3 of them REJECTED)
# The catalogue's JSON schema sits beside the data; it is refused, saying why.
REFUSED = {"kev/known_exploited_vulnerabilities_schema.json": "a JSON schema, not a catalogue"}


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(
        path
        for folder in ("cve", "kev", "epss")
        for path in (corpus / folder).rglob("*")
        if path.is_file()
    )


def test_every_file_parses_with_its_exact_count(corpus: Path) -> None:
    files = corpus_files(corpus)
    cve5 = [p for p in files if "vulnrichment_cve5" in p.parts]
    assert len(cve5) == CVE5_FILES
    assert len(files) == CVE5_FILES + len(RECORDS) + len(REFUSED)
    for path in files:
        name = path.relative_to(corpus).as_posix()
        if name in REFUSED:
            with pytest.raises(DocumentError, match=REFUSED[name]):
                parse_document(path.read_bytes(), name)
            continue
        parsed = parse_document(path.read_bytes(), name)
        assert parsed.problems == [], name
        assert parsed.count == RECORDS.get(name, 1), name


def test_the_corpus_loads_into_the_database_and_matches(
    corpus: Path, session: Session, clock: FixedClock
) -> None:
    for path in corpus_files(corpus):
        name = path.relative_to(corpus).as_posix()
        if name in REFUSED:
            continue
        counts = load_vulndb_document(session, CERT, path.read_bytes(), name=name, clock=clock)
        assert counts.problems == [], name
    stats = vulndb_stats(session, CERT)
    # the nvdlib files repeat some CVEs: 52 NVD records are 49 CVEs; 89 CVEs in all
    assert stats.records == {"nvd": 49, "cve5": CVE5_FILES}
    assert (stats.cves, stats.rejected) == (89, 3)
    # the snapshot (loaded after the current catalogue, by file name) is what stays
    assert (stats.kev, stats.epss) == (1252, 59 + 138)
    matcher = load_vuln_matcher(session)
    palo = {
        m.cve_id: m
        for m in matcher.match(
            ProductVersion("cpe:/o:paloaltonetworks:pan-os:10.2.8", None, None, None)
        )
    }
    assert "CVE-2024-3400" in palo
    assert palo["CVE-2024-3400"].kev
    assert palo["CVE-2024-3400"].cvss_score == 10.0
    fixed = matcher.match(
        ProductVersion("cpe:/o:paloaltonetworks:pan-os:10.2.9-h1", None, None, None)
    )
    assert "CVE-2024-3400" not in {m.cve_id for m in fixed}
    exchange = matcher.match(
        ProductVersion(
            "cpe:2.3:a:microsoft:exchange_server:2016:cumulative_update_19:*:*:*:*:*:*",
            None,
            None,
            None,
        )
    )
    assert "CVE-2021-26855" in {m.cve_id for m in exchange}
