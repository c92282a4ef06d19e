"""What the vulnerability knowledge hands the rest of the exposure domain. No I/O.

`ProductVersion` is what a scanner saw on a service; `VulnMatch` is one CVE that applies to
it and why. The exposure side (inventory, findings, priority) builds on these two and on
`vuln_matcher.VulnMatcher.match`; docs/vulndb.md describes how matching decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

SUMMARY_LENGTH = 300  # characters of the English description kept in a match


@dataclass(frozen=True)
class ProductVersion:
    """What a scanner saw on a service: a CPE if it printed one, else vendor/product/version.

    `cpe` is CPE 2.3 (`cpe:2.3:a:vendor:product:version:...`) or a 2.2 URI
    (`cpe:/a:vendor:product:version`), as nmap writes it.
    """

    cpe: str | None
    vendor: str | None
    product: str | None
    version: str | None


@dataclass(frozen=True)
class VulnMatch:
    """One CVE that applies to a `ProductVersion`, the reason, and what ranks it."""

    cve_id: str
    reason: str  # which configuration / cpeMatch / range matched, for a person to check
    cvss_score: float | None  # best available base score: CVSS 4.0, else 3.1, 3.0, 2.0
    cvss_version: str | None  # "4.0", "3.1", "3.0" or "2.0"; None with no score
    kev: bool  # in the CISA Known Exploited Vulnerabilities catalogue
    kev_ransomware: bool  # KEV knownRansomwareCampaignUse == "Known"
    kev_due_date: date | None
    epss: float | None  # FIRST EPSS probability of exploitation activity in 30 days
    epss_percentile: float | None
    summary: str  # English description, its first ~300 characters
