"""What the CERT publishes about its key: the Web Key Directory (draft-koch-openpgp-webkey-
service) and security.txt (RFC 9116). Pure: the web layer serves what these return."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

# z-base-32 (RFC 6189 §5.1.6, the alphabet of Zooko's human-oriented base-32).
_ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
SECURITY_TXT_MAX_DAYS = 365


def zbase32(data: bytes) -> str:
    """Return data in z-base-32, without padding (a SHA-1 digest gives 32 characters)."""
    bits = int.from_bytes(data, "big")
    count = (len(data) * 8 + 4) // 5
    bits <<= count * 5 - len(data) * 8
    return "".join(_ZBASE32[(bits >> (5 * (count - 1 - i))) & 31] for i in range(count))


def wkd_hash(local_part: str) -> str:
    """Return the Web Key Directory name of a local part: z-base-32 of the SHA-1 of it with
    ASCII capitals made small (other characters are left as they are, as the draft says)."""
    return zbase32(hashlib.sha1(local_part.translate(_ASCII_UPPER).encode("utf-8")).digest())  # noqa: S324


def security_txt_expires(now: datetime, *, days: int, key_expires_at: datetime | None) -> datetime:
    """Return the Expires of security.txt: the start of today (UTC) plus days (at most a year,
    as RFC 9116 §2.5.5 recommends), and never after the key that signs it expires."""
    if not 1 <= days <= SECURITY_TXT_MAX_DAYS:
        raise ValueError(f"security.txt must expire within 1 to {SECURITY_TXT_MAX_DAYS} days")
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expires = today + timedelta(days=days)
    if key_expires_at is not None and key_expires_at < expires:
        expires = key_expires_at.astimezone(UTC).replace(microsecond=0)
    return expires


def security_txt(
    *,
    cert_name: str,
    contacts: Sequence[str],
    expires: datetime,
    base_url: str,
    fingerprint: str,
    policy_url: str | None,
    languages: Sequence[str] = ("nb", "en"),
) -> str:
    """Return the text of security.txt (before it is signed), fields in RFC 9116 §2.5."""
    if not contacts:
        raise ValueError("security.txt needs at least one Contact")
    base = base_url.rstrip("/")
    lines = [
        f"# {cert_name}: sikkerhetskontakt / security contact (RFC 9116)",
        "# Signert med CERT-ets OpenPGP-nøkkel / signed with the CERT's OpenPGP key",
        *(f"Contact: {_contact_uri(contact)}" for contact in contacts),
        f"Expires: {expires.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.000Z')}",
        f"Encryption: {base}/pgp-key.asc",
        f"Encryption: openpgp4fpr:{fingerprint.lower()}",
        f"Preferred-Languages: {', '.join(languages)}",
        f"Canonical: {base}/.well-known/security.txt",
    ]
    if policy_url:
        lines.append(f"Policy: {policy_url}")
    return "\n".join(lines) + "\n"


def _contact_uri(contact: str) -> str:
    if "@" in contact and ":" not in contact:
        return f"mailto:{contact}"
    return contact
