"""Types and helpers shared by the HTTP API tests (fixtures live in their conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Headers = dict[str, str]
TokenMaker = Callable[..., Headers]
OrgMaker = Callable[..., dict[str, Any]]


def bearer(secret: str) -> Headers:
    """Return the Authorization header carrying secret."""
    return {"Authorization": f"Bearer {secret}"}
