"""API tokens managed from the portal: a member admin issues and revokes its organisation's
tokens, a CERT admin any."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
