"""Configured feeds: what they are, the formats they come in, how their secrets are shown.
No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from vardeild.core.tlp import Tlp
from vardeild.intel.imports import ImportFormat

MIN_INTERVAL_SECONDS = 60


class FeedFormat(StrEnum):
    """What a feed URL serves."""

    STIX_BUNDLE = "stix-bundle"
    TAXII21 = "taxii21"  # the URL of a TAXII 2.1 collection (…/collections/<id>/)
    MISP_EVENT = "misp-event"
    MISP_FEED = "misp-feed"  # the feed's base URL, holding manifest.json
    ABUSECH_FEODO = "abusech-feodo"
    ABUSECH_URLHAUS = "abusech-urlhaus"
    ABUSECH_SSLBL = "abusech-sslbl"
    PLAIN = "plain"
    CSV = "csv"  # with options["mapping"], else the store's own CSV columns


IMPORT_FORMATS: dict[FeedFormat, ImportFormat] = {
    FeedFormat.STIX_BUNDLE: ImportFormat.STIX,
    FeedFormat.TAXII21: ImportFormat.STIX,
    FeedFormat.MISP_EVENT: ImportFormat.MISP,
    FeedFormat.MISP_FEED: ImportFormat.MISP,
    FeedFormat.ABUSECH_FEODO: ImportFormat.FEODO,
    FeedFormat.ABUSECH_URLHAUS: ImportFormat.URLHAUS,
    FeedFormat.ABUSECH_SSLBL: ImportFormat.SSLBL,
    FeedFormat.PLAIN: ImportFormat.PLAIN,
    FeedFormat.CSV: ImportFormat.CSV,
}


class AuthKind(StrEnum):
    """How a feed authenticates."""

    NONE = "none"
    BASIC = "basic"  # auth_name is the user, the secret the password
    HEADER = "header"  # auth_name is the header (e.g. Authorization), the secret its value


def mask_secret(secret: str) -> str:
    """Return a secret as it may be shown: never in full, at most its last two characters."""
    if not secret:
        return ""
    return "****" + (secret[-2:] if len(secret) >= 12 else "")


def check_feed_url(url: str) -> str:
    """Return the URL stripped; raise ValueError unless it is http(s) with a host."""
    value = url.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    return value


@dataclass(frozen=True)
class FeedSpec:
    """What an operator gives to configure a feed."""

    name: str
    url: str
    format: FeedFormat
    interval_seconds: int = 3600
    tlp: Tlp = Tlp.AMBER
    confidence: int = 50
    auth_kind: AuthKind = AuthKind.NONE
    auth_name: str = ""
    auth_secret: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Feed:
    """A configured feed, its secret masked."""

    id: int
    name: str
    url: str
    format: FeedFormat
    interval_seconds: int
    tlp: Tlp
    confidence: int
    auth_kind: AuthKind
    auth_name: str
    auth_secret_masked: str
    enabled: bool
    options: dict[str, Any]
    cursor: dict[str, Any]
    last_sync_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    last_result: dict[str, Any]

    def is_due(self, now: datetime) -> bool:
        """Return True when the feed is enabled and its interval has passed since last sync."""
        if not self.enabled:
            return False
        if self.last_sync_at is None:
            return True
        return (now - self.last_sync_at).total_seconds() >= self.interval_seconds

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready values; the secret only masked."""

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "format": self.format.value,
            "interval_seconds": self.interval_seconds,
            "tlp": self.tlp.value,
            "confidence": self.confidence,
            "auth_kind": self.auth_kind.value,
            "auth_name": self.auth_name,
            "auth_secret": self.auth_secret_masked,
            "enabled": self.enabled,
            "options": dict(self.options),
            "cursor": dict(self.cursor),
            "last_sync_at": iso(self.last_sync_at),
            "last_success_at": iso(self.last_success_at),
            "last_error": self.last_error,
            "last_result": dict(self.last_result),
        }
