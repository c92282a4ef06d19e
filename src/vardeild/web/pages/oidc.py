"""Sign-in through an OpenID Connect provider (authorization code with PKCE), as an option
beside local accounts."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
