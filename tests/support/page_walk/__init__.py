"""The page walk's table, one module per area of the portal (the module that serves the
pages owns the table of them): PAGES merges them, and a route named twice is an error."""

from __future__ import annotations

from support.page_walk import (
    auth,
    case_pages,
    console,
    intake_pages,
    member_area,
    oidc,
    public,
    token_pages,
    user_pages,
)
from support.page_walk.model import Table


def _merged(*tables: Table) -> Table:
    merged: Table = {}
    for table in tables:
        twice = set(merged) & set(table)
        assert not twice, f"page routes in two tables: {sorted(twice)}"
        merged.update(table)
    return merged


PAGES: Table = _merged(
    auth.PAGES,
    console.PAGES,
    member_area.PAGES,
    token_pages.PAGES,
    user_pages.PAGES,
    public.PAGES,
    oidc.PAGES,
    intake_pages.PAGES,
    case_pages.PAGES,
)
