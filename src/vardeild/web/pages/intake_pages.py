"""The CERT's pages for reports that came in through the public report form: the list, one
report (decrypted for CERT staff only) and what was done with it."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
