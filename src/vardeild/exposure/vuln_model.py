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

    def as_dict(self) -> dict[str, object]:
        """The match as JSON-ready values (the match API and `vulndb match --json`)."""
        return {
            "cve_id": self.cve_id,
            "reason": self.reason,
            "cvss_score": self.cvss_score,
            "cvss_version": self.cvss_version,
            "kev": self.kev,
            "kev_ransomware": self.kev_ransomware,
            "kev_due_date": self.kev_due_date.isoformat() if self.kev_due_date else None,
            "epss": self.epss,
            "epss_percentile": self.epss_percentile,
            "summary": self.summary,
        }


# What the loaders read, before it is stored. `origin` says which kind of record a CVE's view
# came from: NVD's analysis ("nvd") wins over the CNA/ADP record ("cve5") when both exist.
ORIGIN_NVD = "nvd"
ORIGIN_CVE5 = "cve5"


@dataclass(frozen=True, slots=True)  # hundreds of thousands are held while a matcher builds
class MatchCriterion:
    """One `cpeMatch` (or one CVE JSON 5 `affected` version entry) that can make a CVE apply."""

    criteria: str  # CPE 2.3 formatted string, as the record gives it (or as built from CVE 5)
    part: str  # a, o, h or * (CVE JSON 5 entries without a CPE)
    vendor: str  # CPE form: lower case, spaces as underscores
    product: str
    vulnerable: bool
    version_start: str | None = None
    start_including: bool = True
    version_end: str | None = None
    end_including: bool = False
    configuration: int = 0  # index of the configuration in the record
    node: int = 0  # index of the node in that configuration
    where: str = ""  # its place in the record: configurations[0].nodes[1].cpeMatch[3]
    # Other parts of an AND configuration (usually the platform: `o:` with vulnerable=false),
    # described for a person; the matcher cannot check them and says so in `reason`.
    conditions: str | None = None


@dataclass(frozen=True, slots=True)
class CveRecord:
    """One CVE as one origin (NVD or CVE JSON 5) describes it."""

    cve_id: str
    origin: str
    state: str  # PUBLISHED or REJECTED
    published: str | None  # ISO 8601 as given
    last_modified: str | None
    description: str  # English where there is one
    cvss_score: float | None
    cvss_version: str | None
    cvss_vector: str | None
    criteria: tuple[MatchCriterion, ...]


@dataclass(frozen=True)
class KevEntry:
    """One entry of CISA's Known Exploited Vulnerabilities catalogue."""

    cve_id: str
    vendor_project: str
    product: str
    name: str
    date_added: date | None
    due_date: date | None
    ransomware: bool  # knownRansomwareCampaignUse == "Known"
    required_action: str
    short_description: str


@dataclass(frozen=True)
class EpssScore:
    """One row of FIRST's daily EPSS scores."""

    cve_id: str
    epss: float
    percentile: float
    score_date: date | None
    model_version: str | None


@dataclass(frozen=True)
class RecordProblem:
    """A record that could not be read: which one (file and place), and why."""

    record: str
    message: str

    def __str__(self) -> str:
        return f"{self.record}: {self.message}"
