"""The rules of local accounts, with no I/O: the password policy, TOTP (RFC 6238), lockout
after failed sign-ins, and the per-address window of failures. Time always comes in as an
argument, so every rule runs under a fixed clock in the tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Argon2 hashes whatever it is given; a bound keeps a megabyte "password" from costing a
# megabyte of hashing per request.
PASSWORD_MIN = 12
PASSWORD_MAX = 256
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# One step either side: a phone's clock a little off, or a code typed just as it rolled over.
TOTP_WINDOW = 1

# The most common choices that still pass the length rule; a full breached-password list would
# be better but needs a data set we do not ship.
_COMMON = frozenset(
    {
        "passwordpassword",
        "password1234",
        "123456789012",
        "qwertyuiopasdf",
        "sommerferie2024",
        "passord123456",
        "iloveyou1234",
        "adminadmin123",
        "changemechangeme",
        "welcome12345",
    }
)


def password_problems(password: str, *, email: str, display_name: str = "") -> list[str]:
    """Return why password breaks the policy (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"must be at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        problems.append(f"must be at most {PASSWORD_MAX} characters")
    lowered = password.lower()
    if lowered in _COMMON:
        problems.append("is one of the most common passwords")
    if len(set(password)) < 5:
        problems.append("needs at least 5 different characters")
    local = email.partition("@")[0].lower()
    if (local and len(local) >= 4 and local in lowered) or lowered == email.lower():
        problems.append("must not contain the e-mail address")
    if display_name and len(display_name) >= 4 and display_name.lower() in lowered:
        problems.append("must not contain the display name")
    if any(ord(ch) < 32 for ch in password):
        problems.append("must not contain control characters")
    return problems


# --- TOTP (RFC 6238) ------------------------------------------------------------------------


def new_totp_secret() -> str:
    """Return a new random TOTP secret (base32, 160 bits as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str, *, digits: int = TOTP_DIGITS, digest: str = "sha1") -> pyotp.TOTP:
    return pyotp.TOTP(
        secret, digits=digits, interval=TOTP_STEP_SECONDS, digest=getattr(hashlib, digest)
    )


def totp_code(secret: str, at: datetime, *, digits: int = TOTP_DIGITS, digest: str = "sha1") -> str:
    """Return the TOTP code of secret at the instant at."""
    return _totp(secret, digits=digits, digest=digest).at(at)


def totp_step(at: datetime) -> int:
    """Return the RFC 6238 time step (T) of the instant at."""
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def totp_uri(secret: str, *, account: str, issuer: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def verify_totp(
    secret: str, code: str, at: datetime, *, last_step: int | None = None, window: int = TOTP_WINDOW
) -> int | None:
    """Return the time step code is valid for at the instant at (within window steps), or None.

    A step at or before last_step is refused: a code seen once cannot be replayed (RFC 6238
    section 5.2).
    """
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    now_step = totp_step(at)
    totp = _totp(secret)
    for offset in range(-window, window + 1):
        step = now_step + offset
        if last_step is not None and step <= last_step:
            continue
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected, code):
            return step
    return None


# --- lockout --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LockoutPolicy:
    """After max_failures failed sign-ins in a row an account is locked for lock_for."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureState:
    """An account's failed sign-ins in a row, and until when it is locked."""

    failures: int
    locked_until: datetime | None


def is_locked(state: FailureState, now: datetime) -> bool:
    """Return True while the account is locked at now."""
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: FailureState, now: datetime, policy: LockoutPolicy) -> FailureState:
    """Return the state after one more failure at now: locked once the count reaches the
    policy's maximum (the count starts again after a lock has run out)."""
    failures = state.failures
    if state.locked_until is not None and now >= state.locked_until:
        failures = 0
    failures += 1
    if failures >= policy.max_failures:
        return FailureState(failures=failures, locked_until=now + policy.lock_for)
    return FailureState(failures=failures, locked_until=state.locked_until)


SUCCESS = FailureState(failures=0, locked_until=None)


@dataclass
class FailureWindow:
    """Failed sign-ins per key (a client address) in a sliding window, held in memory: the
    limit on guessing across many accounts from one address. Per process; a restart forgets."""

    limit: int = 20
    window: timedelta = timedelta(minutes=15)
    max_keys: int = 100_000
    _seen: dict[str, deque[datetime]] = field(default_factory=dict)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._seen.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._seen[key]
        return times

    def blocked(self, key: str, now: datetime) -> bool:
        """Return True if key has reached the limit within the window ending at now."""
        return len(self._recent(key, now)) >= self.limit

    def record(self, key: str, now: datetime) -> None:
        """Count one failure of key at now."""
        if key not in self._seen and len(self._seen) >= self.max_keys:
            # Bounded memory: drop the oldest key rather than grow without end.
            self._seen.pop(next(iter(self._seen)))
        self._seen.setdefault(key, deque()).append(now)


# --- TOTP secrets at rest -------------------------------------------------------------------

_SEALED_PREFIX = "v1:"


def totp_key(portal_key: bytes) -> bytes:
    """Return the 256-bit key that seals TOTP secrets, derived from the portal's key (so one
    secret to keep, and a copy of the database alone does not give away second factors)."""
    return hmac.new(portal_key, b"vardeild totp secret v1", hashlib.sha256).digest()


def seal_secret(secret: str, key: bytes, *, user_id: int) -> str:
    """Return secret encrypted with AES-256-GCM under key, bound to user_id (a sealed secret
    copied to another user's row does not open)."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("ascii"), str(user_id).encode())
    return _SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_secret(stored: str, key: bytes, *, user_id: int) -> str | None:
    """Return the secret seal_secret sealed, or None if it does not open under key (the
    portal's key was changed: the user enrols again)."""
    if not stored.startswith(_SEALED_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored[len(_SEALED_PREFIX) :])
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], str(user_id).encode())
    except (InvalidTag, ValueError):
        return None
    return plain.decode("ascii")
