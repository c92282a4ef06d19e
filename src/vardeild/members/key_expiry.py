"""Which contacts' OpenPGP keys stop being usable for encryption soon, or already have.

`keys_expiring` is pure: it judges key records against a moment and a horizon, so that the
notice machinery can turn its answer into tasks or warnings. `list_contact_keys` reads the
records the registry derived when each key was saved (fingerprint and encryption expiry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.members.tables import ContactRow, OrganisationRow


@dataclass(frozen=True)
class WatchedKey:
    """A key whose expiry is watched: a contact's, or the CERT's own (organisation_id None)."""

    owner: str  # the contact's e-mail address, or "CERT"
    name: str
    fingerprint: str
    expires_at: datetime | None
    organisation_id: int | None = None
    organisation: str = ""


@dataclass(frozen=True)
class ExpiringKey:
    """A watched key that expires within the horizon, or has expired."""

    key: WatchedKey
    expired: bool
    days_left: int  # negative once expired: days since


def keys_expiring(
    keys: Iterable[WatchedKey], *, now: datetime, within: timedelta
) -> list[ExpiringKey]:
    """Return the keys that expire before now + within (expired ones included), soonest first.

    Keys without an expiry never appear. Raises TypeError if now is not timezone-aware.
    """
    if now.utcoffset() is None:
        raise TypeError("now must be a timezone-aware datetime")
    horizon = now + within
    found = [
        ExpiringKey(
            key=key,
            expired=key.expires_at <= now,
            days_left=(key.expires_at - now) // timedelta(days=1),
        )
        for key in keys
        if key.expires_at is not None and key.expires_at <= horizon
    ]
    return sorted(found, key=lambda item: (item.key.expires_at, item.key.owner))


def list_contact_keys(session: Session) -> list[WatchedKey]:
    """Return every contact's key the registry holds, with its organisation."""
    rows = session.execute(
        select(ContactRow, OrganisationRow.name)
        .join(OrganisationRow, ContactRow.organisation_id == OrganisationRow.id)
        .where(ContactRow.pgp_fingerprint.is_not(None))
        .order_by(ContactRow.id)
    ).all()
    return [
        WatchedKey(
            owner=contact.email,
            name=contact.name,
            fingerprint=contact.pgp_fingerprint or "",
            expires_at=contact.pgp_expires_at,
            organisation_id=contact.organisation_id,
            organisation=organisation,
        )
        for contact, organisation in rows
    ]
