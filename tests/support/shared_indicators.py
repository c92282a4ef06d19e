"""Shared indicators made directly, for the pure serialisers' unit tests: one of every type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.sharing import SharedIndicator

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

ONE_OF_EACH: dict[IndicatorType, str] = {
    IndicatorType.IPV4: "192.0.2.1",
    IndicatorType.IPV6: "2001:db8::1",
    IndicatorType.CIDR: "198.51.100.0/24",
    IndicatorType.DOMAIN: "o'brien.example.no",
    IndicatorType.URL: "http://example.no/a?b=c",
    IndicatorType.EMAIL: "phish@example.no",
    IndicatorType.MD5: "0123456789abcdef0123456789abcdef",
    IndicatorType.SHA1: "0123456789abcdef0123456789abcdef01234567",
    IndicatorType.SHA256: "ab" * 32,
    IndicatorType.JA3: "e7d705a3286e19ea42f587b344ee6865",
    IndicatorType.JA3S: "f4febc55ea12b31ae17cfb7e614afda8",
    IndicatorType.JA4: "t13d1516h2_8daaf6152771_b186095e22b6",
    IndicatorType.TLS_SNI: "sni.example.no",
    IndicatorType.HTTP_HOST: "[2001:db8::2]",
    IndicatorType.ASN: "AS64500",
}


def shared(
    kind: IndicatorType,
    value: str,
    *,
    id: int = 1,
    tlp: Tlp = Tlp.GREEN,
    source: str = "test",
    stix_id: str | None = None,
    first_seen: datetime = NOW,
    updated_at: datetime = NOW,
    confidence: int = 80,
    tags: tuple[str, ...] = ("emotet",),
) -> SharedIndicator:
    """Return a shared indicator with plausible defaults."""
    return SharedIndicator(
        id=id,
        type=kind,
        value=value,
        source=source,
        tlp=tlp,
        confidence=confidence,
        first_seen=first_seen,
        last_seen=updated_at,
        valid_until=NOW + timedelta(days=30),
        tags=tags,
        description=f"Kanari {kind.value}",
        created_at=first_seen,
        updated_at=updated_at,
        date_added=updated_at,
        stix_id=stix_id,
    )


def one_of_each(tlp: Tlp = Tlp.GREEN) -> list[SharedIndicator]:
    """Return one shared indicator of every type."""
    return [
        shared(kind, value, id=n, tlp=tlp) for n, (kind, value) in enumerate(ONE_OF_EACH.items(), 1)
    ]
