"""The exposure side's one door to the vulnerability knowledge: a matcher built from what the
vulndb has stored, or None when it holds nothing yet (then only CVEs that scanners themselves
reported become findings)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vardeild.exposure.tracking import Matcher
from vardeild.exposure.vulndb_service import load_vuln_matcher


def load_matcher(session: Session) -> Matcher | None:
    """Return a matcher over the stored CVE, KEV and EPSS knowledge, or None if it is empty."""
    matcher = load_vuln_matcher(session)
    return matcher if matcher.cve_count else None
