"""The page walk's table for src/vardeild/web/pages/member_area.py."""

from __future__ import annotations

from support.page_walk.model import Table

PAGES: Table = {}
