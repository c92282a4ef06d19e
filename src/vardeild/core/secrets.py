"""What is stored of a random bearer secret (an API or sensor token, a session id, a reset
link): its SHA-256, never the secret. A plain fast hash is right here, unlike for passwords,
because these secrets are long and random: there is nothing to guess."""

from __future__ import annotations

import hashlib


def secret_digest(secret: str) -> str:
    """Return the SHA-256 (hex) under which secret is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
