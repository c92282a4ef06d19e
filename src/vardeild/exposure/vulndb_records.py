"""What reading a vulnerability-knowledge document yields, and the field readers the
document formats share: the document's kind, its records and its problems, a record's error,
and CVE ids, descriptions, dates and bounded text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from vardeild.exposure.vuln_model import CveRecord, EpssScore, KevEntry, RecordProblem

MAX_DOCUMENT_BYTES = 512 * 1024 * 1024  # a whole EPSS file is ~12 MB, an NVD page ~30 MB
MAX_DESCRIPTION = 4000  # characters of a description kept
MAX_CONDITIONS = 600  # characters of an AND configuration's other parts kept
CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
# CVSS keys, best first: (NVD metrics key, CVE JSON 5 key, version).
CVSS_KEYS = (
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


class RecordError(ValueError):
    """One record is unreadable; the message says why."""


def read_cve_id(value: Any) -> str:
    """Return value as a CVE id (upper case), or raise RecordError."""
    if not isinstance(value, str) or not CVE_ID.match(value.strip().upper()):
        raise RecordError(f"not a CVE id: {value!r}")
    return value.strip().upper()


def english(descriptions: Any) -> str:
    """The English description (en, en-US, ...), else the first one, clipped."""
    if not isinstance(descriptions, list):
        return ""
    texts = [d for d in descriptions if isinstance(d, dict) and isinstance(d.get("value"), str)]
    english = [d for d in texts if str(d.get("lang", "")).lower().startswith("en")]
    chosen = (english or texts)[:1]
    return clip(chosen[0]["value"].strip(), MAX_DESCRIPTION) if chosen else ""


def parse_date(value: Any, what: str) -> date | None:
    """Return the date at the start of value (None if empty), or raise RecordError."""
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise RecordError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def optional_str(value: Any) -> str | None:
    """Return value as text, None if it is empty."""
    return str(value) if value not in (None, "") else None


def clip(text: str, limit: int) -> str:
    """Return text cut to limit characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
