"""The page walk's table for src/vardeild/web/pages/user_pages.py: portal users managed by a
member admin (its own organisation's) and a CERT admin (anyone). B's user is another
organisation's to A's admin: 404, as for one that does not exist."""

from __future__ import annotations

from support.page_walk.model import REDIRECT, PageCall, Table
from support.tenancy import World

_ADMINS_ONLY = {"member_user": 403, "cert_analyst": 403, "cert_readonly": 403}


def _b_user(w: World) -> dict[str, int]:
    return {"user_id": w.b_user}


PAGES: Table = {
    ("GET", "/account/users"): (PageCall(member_admin=200, **_ADMINS_ONLY),),
    ("POST", "/account/users"): (
        PageCall(
            form=lambda w: {
                "email": "ny@walk.example",
                "display_name": "Ny Bruker",
                "role": "cert_admin",
                "organisation": str(w.b),
            },
            member_admin=403,
            **_ADMINS_ONLY,
            cert_admin=REDIRECT,
            note="a CERT role: only a CERT admin gives one",
        ),
    ),
    ("POST", "/account/users/{user_id}/disable"): (
        PageCall(
            path=_b_user,
            member_user=404,
            cert_analyst=403,
            cert_readonly=403,
            cert_admin=REDIRECT,
            note="B's user",
        ),
    ),
    ("POST", "/account/users/{user_id}/reset-totp"): (
        PageCall(
            path=_b_user,
            member_user=404,
            cert_analyst=403,
            cert_readonly=403,
            cert_admin=REDIRECT,
            note="B's user",
        ),
    ),
    ("POST", "/account/users/{user_id}/role"): (
        PageCall(
            path=_b_user,
            form=lambda w: {"role": "member_admin"},
            member_user=404,
            cert_analyst=403,
            cert_readonly=403,
            cert_admin=REDIRECT,
            note="B's user made an admin",
        ),
    ),
}
