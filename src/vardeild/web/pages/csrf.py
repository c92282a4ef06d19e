"""CSRF protection for the portal's forms: a random per-browser seed in a cookie, and in every
form a token that is the HMAC of that seed and the session cookie under the portal's key.

A token thus belongs to one browser and one session: it changes on sign-in and sign-out, a
site that cannot read our cookies cannot compute it, and one cannot be carried from an
anonymous visit into a signed-in session.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

FIELD = "csrf_token"
SEED_COOKIE = "vardeild_csrf"
_KEY_FILE = "portal-secret"


def load_key(configured: str | None, data_dir: Path) -> bytes:
    """Return the portal's key: the configured one, else the one kept in data_dir (made now,
    mode 0600, if absent)."""
    if configured:
        return configured.encode("utf-8")
    path = data_dir / _KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first; read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(fresh)
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def new_seed() -> str:
    """Return a new random seed for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def token_for(key: bytes, seed: str, session_secret: str) -> str:
    """Return the form token of the seed and session cookie values."""
    message = f"{seed}|{session_secret}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def token_is_valid(key: bytes, seed: str, session_secret: str, sent: str) -> bool:
    """Return True if sent is the token for seed and session_secret (and the seed exists)."""
    if not seed or not sent:
        return False
    return hmac.compare_digest(token_for(key, seed, session_secret), sent)
