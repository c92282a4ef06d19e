"""Types and helpers shared by the HTTP API tests (fixtures live in their conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from support.factories import CERT_ADMIN
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.platform import Platform

Headers = dict[str, str]
TokenMaker = Callable[..., Headers]
OrgMaker = Callable[..., dict[str, Any]]


def bearer(secret: str) -> Headers:
    """Return the Authorization header carrying secret."""
    return {"Authorization": f"Bearer {secret}"}


def token_maker(platform: Platform) -> TokenMaker:
    """Return a function that issues a token on platform (by a CERT admin) and answers with
    its Authorization header."""

    def make(
        role: Role = Role.CERT_ADMIN,
        organisation_id: int | None = None,
        *,
        name: str | None = None,
        expires_at: datetime | None = None,
    ) -> Headers:
        with platform.session() as session:
            issued = issue_token(
                session,
                CERT_ADMIN,
                clock=platform.clock,
                name=name or f"test {role.value}",
                role=role,
                organisation_id=organisation_id,
                expires_at=expires_at,
            )
        return bearer(issued.secret)

    return make
