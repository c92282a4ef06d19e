"""Keys that stop being usable within the warning horizon: the contacts' and the CERT's own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from vardeild.mail.cert_key import CertKeyInfo
from vardeild.members.key_expiry import (
    ExpiringKey,
    WatchedKey,
    keys_expiring,
    list_contact_keys,
)

CERT_OWNER = "CERT"


def cert_watched_key(info: CertKeyInfo) -> WatchedKey:
    """Return the CERT's own key as a watched key."""
    return WatchedKey(
        owner=CERT_OWNER,
        name=", ".join(info.user_ids),
        fingerprint=info.fingerprint,
        expires_at=info.expires_at,
    )


def list_expiring_keys(
    session: Session, *, cert_key: CertKeyInfo | None, now: datetime, days: int
) -> list[ExpiringKey]:
    """Return contacts' keys and the CERT's key (when given) that expire within days of now
    or have expired, soonest first."""
    watched = list_contact_keys(session)
    if cert_key is not None:
        watched.append(cert_watched_key(cert_key))
    return keys_expiring(watched, now=now, within=timedelta(days=days))


def expiring_dict(item: ExpiringKey) -> dict[str, Any]:
    """Return one expiring key as the CLI's --json and the API write it."""
    key = item.key
    return {
        "owner": key.owner,
        "name": key.name,
        "fingerprint": key.fingerprint,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "expired": item.expired,
        "days_left": item.days_left,
        "organisation_id": key.organisation_id,
        "organisation": key.organisation,
    }
