"""The members' portal: their organisation (and change requests), their alerts and their notices
(acknowledge)."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
