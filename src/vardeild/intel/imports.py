"""What every importer hands back, and the helpers they share. No I/O.

An importer is a pure function from bytes to a `ParsedFeed`: the indicator records it read,
the objects it kept but cannot match (with the reason), the problems of records it could not
read (with their position), and, if the whole input is not what the format expects, the reason
it was refused. The service stores the first two and reports the rest; nothing is dropped
without a word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from vardeild.core.errors import FieldProblem
from vardeild.core.tlp import Tlp
from vardeild.intel.loaders import ParsedFile
from vardeild.intel.model import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TLP,
    MAX_DESCRIPTION_LENGTH,
    MAX_OBJECT_ID_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    IndicatorType,
)

MAX_UNMATCHABLE_TEXT = 4096
MAX_RAW_JSON = 16 * 1024  # bytes of JSON kept per unmatchable object; larger ones summarised
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ImportFormat(StrEnum):
    """The formats `vardeild intel import` and feeds read."""

    AUTO = "auto"
    STIX = "stix"
    MISP = "misp"
    MISP_FEED = "misp-feed"
    FEODO = "feodo"
    URLHAUS = "urlhaus"
    SSLBL = "sslbl"
    PLAIN = "plain"
    CSV = "csv"


@dataclass(frozen=True)
class ImportDefaults:
    """What a record gets for what it does not say itself (command options, feed settings)."""

    tlp: Tlp = DEFAULT_TLP
    confidence: int = DEFAULT_CONFIDENCE
    type: IndicatorType | None = None  # plain lists and CSV: None means inferred per value
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnmatchableRecord:
    """An object kept because it cannot become a matchable indicator, and why."""

    object_id: str
    kind: str  # stix-pattern, misp-attribute, ...
    text: str
    reason: str
    raw: dict[str, Any]


@dataclass
class ParsedFeed(ParsedFile):
    """A ParsedFile with what structured formats add."""

    unmatchable: list[UnmatchableRecord] = field(default_factory=list)
    refused: str | None = None  # why the whole input was not read
    ignored: int = 0  # objects that are not indicators (reports, identities, context)
    objects: int = 0  # objects (or rows) read in all

    def note(self, where: str, column: str, message: str, position: int = 0) -> None:
        """Note a problem with a record named by where (`object 3 (indicator--...)`)."""
        if len(self._noted) < 1000:
            self._noted.append((position, FieldProblem(where, column, message)))
        else:
            self.more_problems += 1
        self.invalid_lines += 1

    def keep(self, record: UnmatchableRecord) -> None:
        """Keep an object that cannot be matched."""
        self.unmatchable.append(record)

    @property
    def problems(self) -> list[FieldProblem]:
        """Return the problems in order, the refusal first."""
        found = super().problems
        if self.refused is not None:
            found.insert(0, FieldProblem("file", "", f"refused: {self.refused}"))
        return found


def refused(reason: str) -> ParsedFeed:
    """Return a ParsedFeed that refuses the whole input for the reason."""
    parsed = ParsedFeed()
    parsed.refused = reason
    return parsed


def bounded_raw(value: dict[str, Any]) -> dict[str, Any]:
    """Return the object if its JSON is at most MAX_RAW_JSON bytes, else a summary of it."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text.encode("utf-8")) <= MAX_RAW_JSON:
        return value
    return {
        "truncated": True,
        "size": len(text),
        "keys": sorted(str(key) for key in value)[:50],
        "id": str(value.get("id") or value.get("uuid") or ""),
    }


def bounded_text(text: str, limit: int = MAX_UNMATCHABLE_TEXT) -> str:
    """Return text without control characters, cut to limit characters."""
    cleaned = _CONTROL.sub(" ", text).replace("\x00", "")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def object_id(text: str, fallback: str) -> str:
    """Return an object id bounded to the column, or the fallback (its position) if empty."""
    value = bounded_text(text.strip(), MAX_OBJECT_ID_LENGTH) if text else ""
    return value or fallback


def lenient_tags(values: list[str]) -> tuple[str, ...]:
    """Return tags from a source that does not follow our limits: control characters removed,
    each cut to MAX_TAG_LENGTH, repeats dropped, at most MAX_TAGS."""
    tags: list[str] = []
    for value in values:
        tag = _CONTROL.sub(" ", str(value)).replace("\n", " ").strip()[:MAX_TAG_LENGTH].strip()
        if tag and tag not in tags:
            tags.append(tag)
        if len(tags) == MAX_TAGS:
            break
    return tuple(tags)


def lenient_description(*parts: str) -> str:
    """Return the non-empty parts joined by a blank line, control characters removed, cut to
    MAX_DESCRIPTION_LENGTH."""
    text = "\n\n".join(part.strip() for part in parts if part and part.strip())
    return bounded_text(text, MAX_DESCRIPTION_LENGTH)


_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


def parse_feed_time(text: str) -> datetime:
    """Return a time as feeds and spreadsheets write it, in UTC: ISO 8601 (with `Z` or an
    offset), `2025-04-21 10:00:00`, and what Excel makes of it after a round trip in a
    European locale (`21/04/2025 10:00`, `21.04.2025`); a time without a zone is UTC, a Unix
    timestamp (seconds) is read as one. Raise ValueError."""
    value = text.strip().strip('"').strip()
    if value.isdigit() and len(value) >= 9:
        return datetime.fromtimestamp(int(value), tz=UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" UTC", ""))
    except ValueError:
        for pattern in _FORMATS:
            try:
                moment = datetime.strptime(value.removesuffix(" UTC"), pattern)  # noqa: DTZ007
                break
            except ValueError:
                continue
        else:
            raise ValueError(
                f"{text!r} is not a time; write 2025-04-21 10:00:00 or 2025-04-21T10:00:00Z"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
