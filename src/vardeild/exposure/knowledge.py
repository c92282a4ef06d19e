"""The exposure side's one door to the vulnerability knowledge (`vulndb_*`): a matcher built
from what is stored, the facts of CVEs a scanner named itself (so a Nessus- or Nuclei-reported
CVE gets its KEV, EPSS and NVD score too), and the product a KEV entry names (for the sector
query)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.exposure.tracking import Matcher
from vardeild.exposure.vuln_model import VulnMatch
from vardeild.exposure.vulndb_service import load_vuln_matcher, vulndb_revision
from vardeild.exposure.vulndb_tables import EpssRow, KevRow, VulnRecordRow

Cache = Callable[[str, Any, Callable[[], Any]], Any]


def load_matcher(session: Session, *, cache: Cache | None = None) -> Matcher | None:
    """Return a matcher over the stored CVE, KEV and EPSS knowledge, or None if it is empty.

    With `cache` (the platform's `cached`), the matcher is built once per revision of the
    knowledge: over all of NVD that takes tens of seconds, too long to repeat per import."""

    def build() -> Matcher | None:
        matcher = load_vuln_matcher(session)
        return matcher if matcher.cve_count else None

    if cache is None:
        return build()
    built: Matcher | None = cache("exposure.matcher", vulndb_revision(session), build)
    return built


def enrich(session: Session, matches: Iterable[VulnMatch]) -> list[VulnMatch]:
    """Return matches with what the knowledge holds of their CVEs filled in: the best CVSS
    score and summary (when the record has them), KEV membership, ransomware use and due date,
    and EPSS. A CVE the knowledge does not hold keeps what the scanner said."""
    given = list(matches)
    ids = sorted({m.cve_id for m in given})
    if not ids:
        return given
    records: dict[str, VulnRecordRow] = {}
    for row in session.scalars(select(VulnRecordRow).where(VulnRecordRow.cve_id.in_(ids))):
        # NVD's view wins over the CVE 5 record's where both exist: it carries NVD's score.
        if row.cve_id not in records or row.origin == "nvd":
            records[row.cve_id] = row
    kev = {r.cve_id: r for r in session.scalars(select(KevRow).where(KevRow.cve_id.in_(ids)))}
    epss = {r.cve_id: r for r in session.scalars(select(EpssRow).where(EpssRow.cve_id.in_(ids)))}
    enriched = []
    for match in given:
        record, entry, score = (
            records.get(match.cve_id),
            kev.get(match.cve_id),
            epss.get(match.cve_id),
        )
        enriched.append(
            VulnMatch(
                cve_id=match.cve_id,
                reason=match.reason,
                cvss_score=record.cvss_score
                if record is not None and record.cvss_score is not None
                else match.cvss_score,
                cvss_version=record.cvss_version
                if record is not None and record.cvss_score is not None
                else match.cvss_version,
                kev=match.kev or entry is not None,
                kev_ransomware=match.kev_ransomware or bool(entry and entry.ransomware),
                kev_due_date=entry.due_date if entry is not None else match.kev_due_date,
                epss=score.epss if score is not None else match.epss,
                epss_percentile=score.percentile if score is not None else match.epss_percentile,
                summary=record.description[:300] if record is not None else match.summary,
            )
        )
    return enriched


def kev_product(session: Session, cve_id: str) -> tuple[str, str] | None:
    """Return (vendorProject, product) of the CVE's KEV entry, or None if it is not in KEV."""
    row = session.get(KevRow, cve_id)
    return None if row is None else (row.vendor_project, row.product)
