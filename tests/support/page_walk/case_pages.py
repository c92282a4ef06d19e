"""The page walk's table for src/vardeild/web/pages/case_pages.py."""

from __future__ import annotations

from support.page_walk.model import Table

PAGES: Table = {}
