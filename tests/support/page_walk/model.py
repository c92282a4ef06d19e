"""How the page walk calls one page route, and what each signed-in role must get.

The walk (tests/integration/web/test_page_tenancy.py) signs in through the real pages as A's
member admin and member user, as each CERT role, and stays anonymous; it calls the route with
B's ids (tests/support/tenancy.py makes the world) and checks the status each role gets. For
the anonymous caller and A's people it also proves that nothing of B's shows and nothing of B's
changed; for the read-only CERT role, that nothing of B's changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support.tenancy import World

Params = Callable[[World], dict[str, Any]]
Form = Callable[[World], dict[str, str]]

REDIRECT = 303  # a signed-in page asked for by someone not signed in goes to /signin


def nothing(_w: World) -> dict[str, Any]:
    """No parameters."""
    return {}


@dataclass(frozen=True)
class PageCall:
    """One way of calling a page route at B, and the status each caller must get.

    A POST is sent with `form` (the CSRF token of the caller's own session is added). A call
    that ends the caller's session (sign-out) must be the only call of its route.
    """

    path: Params = nothing
    query: Params = nothing
    form: Form | None = None
    anonymous: int = REDIRECT
    member_admin: int = 404
    member_user: int = 404
    cert_admin: int = 200
    cert_analyst: int | None = None  # None: as cert_admin
    cert_readonly: int | None = None  # None: as cert_admin
    note: str = field(default="", compare=False)

    def expected(self, role: str) -> int:
        """Return the status role must get."""
        if role == "cert_analyst" and self.cert_analyst is not None:
            return self.cert_analyst
        if role == "cert_readonly" and self.cert_readonly is not None:
            return self.cert_readonly
        return {
            "anonymous": self.anonymous,
            "a_admin": self.member_admin,
            "a_user": self.member_user,
        }.get(role, self.cert_admin)


def everyone(status: int, **more: Any) -> PageCall:
    """Return a call every caller, anonymous included, answers with status."""
    given = {"anonymous": status, "member_admin": status, "member_user": status}
    return PageCall(**{**given, "cert_admin": status, **more})


def signed_in(status: int = 200, **more: Any) -> PageCall:
    """Return a call every signed-in caller answers with status (anonymous: to /signin)."""
    given = {"member_admin": status, "member_user": status, "cert_admin": status}
    return PageCall(**{**given, **more})


Table = dict[tuple[str, str], tuple[PageCall, ...]]
