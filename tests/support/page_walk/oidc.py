"""The page walk's table for src/vardeild/web/pages/oidc.py: sign-in with OpenID Connect.

The walk's platform has no provider configured, and then both routes answer 404 to everyone
(a page that says OIDC sign-in is not configured): nothing to start, nothing to call back to.
With a provider, tests/integration/web/test_oidc_signin.py drives them against a real one.
"""

from __future__ import annotations

from support.page_walk.model import Table, everyone

_CALLBACK = {"code": "x", "state": "y"}

PAGES: Table = {
    ("GET", "/signin/oidc"): (everyone(404, note="OIDC not configured"),),
    ("GET", "/signin/oidc/callback"): (
        everyone(404, query=lambda w: _CALLBACK, note="OIDC not configured"),
    ),
}
