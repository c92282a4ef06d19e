"""What the members' pages share: who is signed in, whose organisation a page is about, the
optional filters of a list (an empty form field means "any") and paging.

Scope is decided by the same check the API calls (`vardeild.access.model.authorize`): a member
naming another member's organisation gets NotFound, answered as the 404 page, exactly as for an
organisation that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Path, Query

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.errors import NotFound
from vardeild.web.deps import ID_MAX
from vardeild.web.pages.console_base import PAGE_MAX
from vardeild.web.pages.context import Page

PAGE_SIZE = 25  # rows per list page: a screenful, and a bounded query

# A path id beyond the database's integer range must be answered, not overflow PostgreSQL.
ItemId = Annotated[int, Path(ge=1, le=ID_MAX)]
OrganisationParam = Annotated[int | None, Query(ge=1, le=ID_MAX)]
FormOrganisation = Annotated[int | None, Form(ge=1, le=ID_MAX)]


def page_number(page: Page) -> int:
    """Return the list page asked for (`?page=N`; 1 when absent or not a sensible number)."""
    text = page.request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < int(text) <= PAGE_MAX else 1


def chosen_organisation(principal: Principal, organisation: int | None) -> int | None:
    """Return the organisation a list page is about: a member's own unless it names another
    (NotFound, as for one that does not exist); CERT staff any, or None for all."""
    if principal.is_cert:
        return organisation
    authorize(principal, Action.READ, organisation or principal.organisation_id)
    return principal.organisation_id


def required_organisation(principal: Principal, organisation: int | None, path: str) -> int:
    """Return the organisation a page about one organisation shows: the member's own, or the
    one CERT staff name (NotFound telling them to choose one when they name none)."""
    chosen = chosen_organisation(principal, organisation)
    if chosen is None:
        raise NotFound(f"choose an organisation: {path}?organisation=ID")
    return chosen


@contextmanager
def not_found_as(what: str, item_id: int) -> Iterator[None]:
    """Answer any NotFound raised inside as "<what> <id> not found": a service may say that
    the record's organisation is not found (another member's), which must read the same as a
    record that does not exist."""
    try:
        yield
    except NotFound:
        raise NotFound(f"{what} {item_id} not found") from None


def optional(text: str) -> str | None:
    """Return a filter field's value, or None for an empty one (any)."""
    cleaned = text.strip()
    return cleaned or None


@dataclass(frozen=True)
class Paging:
    """Where a list page is, and the links to its neighbours (with the same filters)."""

    number: int
    total: int
    path: str
    filters: dict[str, str]

    @property
    def offset(self) -> int:
        """Return how many rows come before this page."""
        return (self.number - 1) * PAGE_SIZE

    @property
    def limit(self) -> int:
        """Return the rows on a page."""
        return PAGE_SIZE

    @property
    def pages(self) -> int:
        """Return how many pages there are (at least one)."""
        return max(1, -(-self.total // PAGE_SIZE))

    def _link(self, number: int) -> str:
        kept = {key: value for key, value in self.filters.items() if value}
        return f"{self.path}?{urlencode({**kept, 'page': number})}"

    @property
    def previous(self) -> str | None:
        """Return the link to the page before, or None on the first."""
        return self._link(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        """Return the link to the page after, or None on the last."""
        return self._link(self.number + 1) if self.number < self.pages else None
