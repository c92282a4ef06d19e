"""The page walk's table for src/vardeild/web/pages/token_pages.py: API tokens. Only a CERT
admin and a member admin manage tokens; with B's ids a member admin of A gets 404, and the other
roles 403."""

from __future__ import annotations

from support.page_walk.model import REDIRECT, PageCall, Table

_MEMBER_TOKEN_FOR_B = {"name": "walk token", "role": "member_user", "expires": ""}

PAGES: Table = {
    ("GET", "/account/tokens"): (
        PageCall(
            member_admin=200,
            member_user=403,
            cert_admin=200,
            cert_analyst=403,
            cert_readonly=403,
            note="one's own (member admin: its organisation's; CERT admin: all)",
        ),
    ),
    ("POST", "/account/tokens"): (
        PageCall(
            form=lambda w: {**_MEMBER_TOKEN_FOR_B, "organisation": str(w.b)},
            member_admin=404,
            member_user=404,
            cert_admin=200,
            cert_analyst=403,
            cert_readonly=403,
            note="a token for B (the answer shows its secret once)",
        ),
    ),
    ("POST", "/account/tokens/{token_id}/revoke"): (
        PageCall(
            path=lambda w: {"token_id": w.b_token},
            form=lambda w: {},
            cert_admin=REDIRECT,
            cert_analyst=403,
            cert_readonly=403,
            note="B's token",
        ),
    ),
}
