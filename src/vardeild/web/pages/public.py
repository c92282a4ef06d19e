"""The public pages, no sign-in: the start page describing the CERT's services, the incident
report form, the CERT's OpenPGP key, security.txt and the RFC 2350 description."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
