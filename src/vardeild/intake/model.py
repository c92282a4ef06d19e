"""What a public incident report holds, the bounds on it, its reference and its workflow, and
how its content is sealed at rest. Pure: no I/O.

The content (every field the reporter typed) is sealed with AES-256-GCM under a key derived
from the portal's key by HKDF with a label of its own, so the intake key is neither the CSRF
key nor the TOTP key; the report's reference is the associated data, so a sealed content
copied onto another report's row does not open.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vardeild.core.errors import Conflict, FieldProblem, ValidationFailed, VardeildError
from vardeild.core.identifiers import normalise_email
from vardeild.core.tlp import Tlp

RECORD = "report"

# Characters each field may hold. The description takes log excerpts; the rest are short.
FIELD_MAX: dict[str, int] = {
    "name": 200,
    "email": 254,
    "phone": 50,
    "organisation": 200,
    "what_happened": 20_000,
    "happened_at": 200,
    "affected": 5_000,
}
REQUIRED = ("name", "email", "what_happened")
# The sealed content as a whole (UTF-8 JSON), whatever the mix of characters.
CONTENT_MAX_BYTES = 64 * 1024

# Crockford's base-32: no I, L, O or U, so a reference read out over the phone is not misread.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_RANDOM = 8  # 40 random bits: not guessable, not a sequence
_LOOK_ALIKES = str.maketrans("OIL", "011")
_HKDF_INFO = b"vardeild intake report v1"
_ADDRESS_INFO = b"vardeild intake client address v1"


class ReportStatus(StrEnum):
    """Where a report stands: new until someone at the CERT has looked at it."""

    NEW = "new"
    TRIAGED = "triaged"  # looked at and worth handling (issue 7 makes a case of it)
    REJECTED = "rejected"  # spam, out of scope, or nothing to act on


# Which status a report may move to from each.
TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.NEW: frozenset({ReportStatus.TRIAGED, ReportStatus.REJECTED}),
    ReportStatus.TRIAGED: frozenset({ReportStatus.REJECTED}),
    ReportStatus.REJECTED: frozenset({ReportStatus.NEW}),
}


class ReportTooLarge(ValidationFailed):
    """A report (one field or the whole) beyond its bound."""


class ReportUnreadable(VardeildError):
    """A sealed report does not open under the key (the portal's key was changed)."""


@dataclass(frozen=True)
class ReportContent:
    """What the reporter told us; every field is sealed at rest."""

    name: str
    email: str
    what_happened: str
    phone: str = ""
    organisation: str = ""
    happened_at: str = ""
    affected: str = ""
    tlp: Tlp = Tlp.AMBER

    def to_bytes(self) -> bytes:
        """Return the content as UTF-8 JSON, the plaintext that is sealed."""
        data = asdict(self)
        data["tlp"] = self.tlp.value
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> ReportContent:
        """Return the content to_bytes wrote."""
        data = json.loads(raw.decode("utf-8"))
        data["tlp"] = Tlp(data["tlp"])
        return cls(**data)


@dataclass(frozen=True)
class ReportSummary:
    """What is kept in clear of a report: enough to list and count, nothing the reporter said."""

    id: int
    reference: str
    received_at: datetime
    status: ReportStatus
    size: int
    language: str
    status_changed_at: datetime | None
    status_changed_by: str | None


@dataclass(frozen=True)
class Report:
    """A report opened: its summary and its content."""

    summary: ReportSummary
    content: ReportContent


def _clean(value: str) -> str:
    # Keep line breaks and tabs (a description has paragraphs); drop other control characters.
    text = "".join(ch for ch in value if ch in "\n\t" or ch >= " " or ch == "\r")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def build_content(fields: dict[str, str], *, tlp: str) -> ReportContent:
    """Return the content of the fields as typed; raise ReportTooLarge for a field or a whole
    beyond its bound, ValidationFailed naming every other problem."""
    values = {name: _clean(fields.get(name, "")) for name in FIELD_MAX}
    too_long = [
        FieldProblem(RECORD, name, f"is longer than {limit} characters")
        for name, limit in FIELD_MAX.items()
        if len(values[name]) > limit
    ]
    if too_long:
        raise ReportTooLarge(too_long)
    problems = [FieldProblem(RECORD, name, "is required") for name in REQUIRED if not values[name]]
    if values["email"]:
        try:
            values["email"] = normalise_email(values["email"])
        except ValueError as exc:
            problems.append(FieldProblem(RECORD, "email", str(exc)))
    try:
        label = Tlp.parse(tlp or "AMBER")
    except ValueError as exc:
        problems.append(FieldProblem(RECORD, "tlp", str(exc)))
        label = Tlp.AMBER
    if problems:
        raise ValidationFailed(problems)
    content = ReportContent(tlp=label, **values)
    if len(content.to_bytes()) > CONTENT_MAX_BYTES:
        raise ReportTooLarge.one(RECORD, "", f"is larger than {CONTENT_MAX_BYTES} bytes in all")
    return content


def new_reference(now: datetime) -> str:
    """Return a fresh reference such as VR-2026-7K3M9QXA: the year, and 40 random bits in
    Crockford's base-32 (no sequence to enumerate)."""
    token = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_RANDOM))
    return f"VR-{now.year:04d}-{token}"


def normalise_reference(text: str) -> str:
    """Return a reference as typed (any case, Crockford's look-alikes) in its canonical form."""
    prefix, _, token = text.strip().upper().rpartition("-")
    token = token.translate(_LOOK_ALIKES)
    return f"{prefix}-{token}" if prefix else token


def intake_key(portal_key: bytes) -> bytes:
    """Return the 256-bit key that seals reports: HKDF-SHA256 of the portal's key under a label
    of its own (one secret to keep; the CSRF and TOTP keys are other derivations)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(portal_key)


def address_digest(key: bytes, client: str) -> str:
    """Return the keyed hash (HMAC-SHA256, hex) kept of the reporter's address: enough to see
    a flood from one address, not to learn the address from the database alone."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(_ADDRESS_INFO + b"|" + client.encode("utf-8"))
    return mac.finalize().hex()


def seal_report(content: ReportContent, key: bytes, *, reference: str) -> bytes:
    """Return the content sealed with AES-256-GCM under key: nonce, then ciphertext and tag,
    bound to reference."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, content.to_bytes(), reference.encode("ascii"))


def open_report(sealed: bytes, key: bytes, *, reference: str) -> ReportContent:
    """Return the content seal_report sealed; raise ReportUnreadable if it does not open under
    key for reference."""
    try:
        plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], reference.encode("ascii"))
    except (InvalidTag, ValueError) as exc:
        raise ReportUnreadable(
            f"report {reference} does not open: the portal's key has changed since it came in"
        ) from exc
    return ReportContent.from_bytes(plain)


def check_transition(current: ReportStatus, wanted: ReportStatus) -> None:
    """Return if a report may move from current to wanted; raise Conflict if not."""
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
        raise Conflict(
            f"report: status: cannot go from {current.value} to {wanted.value}; only to {allowed}"
        )
