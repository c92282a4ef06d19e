"""Where a browser goes after signing in: back to the page it asked for while signed out.

A notice's e-mail links to the notice's page in the portal; a reader who is not signed in is
sent to sign in first, and should land on that notice afterwards, not on the home page. The
page asked for is kept in a short-lived cookie of ours (HttpOnly, SameSite=Lax), set only on a
GET that was sent to sign in, and read once when a sign-in completes (password, TOTP or OpenID
Connect). Only a path on this host is returned to, so the cookie can never send anyone
elsewhere (no open redirect): it starts with `/` and a letter (never `//`, which a browser
reads as another host, nor a scheme), holds only URL characters (no backslash), and is not a
sign-in page.
"""

from __future__ import annotations

import re

COOKIE = "vardeild_return"
MAX_AGE_SECONDS = 15 * 60  # a sign-in takes minutes; a stale wish is dropped
HOME = "/portal"
_LONGEST = 1024
# A path of ours: URL characters only (none a cookie would have to quote: no space, quote,
# comma or semicolon).
_OURS = re.compile(r"^/[A-Za-z][A-Za-z0-9\-._~/?=&%:+@!$()*]*$")


def safe_return_path(value: str) -> str | None:
    """Return value when it is a page of ours to go back to, else None."""
    if not value or len(value) > _LONGEST or "//" in value or "\\" in value:
        return None
    if value == "/signin" or value.startswith(("/signin/", "/signin?", "/signout")):
        return None
    return value if _OURS.match(value) else None


def asked_for(path: str, query: str) -> str | None:
    """Return the page a signed-out GET asked for (path and query), if it may be returned to."""
    return safe_return_path(f"{path}?{query}" if query else path)
