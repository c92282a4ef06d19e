"""What the analysts' console's pages share: who may see them (CERT staff; a member is refused
as the API refuses it), paging, date filters, and the helpers their templates call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vardeild.access.model import Principal
from vardeild.core.errors import PermissionDenied, ValidationFailed
from vardeild.members.service import organisation_names
from vardeild.web.pages.context import Page

PER_PAGE = 50
PAGE_MAX = 100_000  # a page number past any list's end (and within an integer everywhere)

Filter = Annotated[str, Query(max_length=200)]
"""A text filter of a list page."""
PageNo = Annotated[int, Query(alias="page", ge=1, le=PAGE_MAX, description="Which page.")]
"""Which page of a list."""


def signed_in(page: Page) -> RedirectResponse | None:
    """Return a redirect to the sign-in page unless someone is fully signed in."""
    return None if page.user is not None else page.to_signin()


def require_cert(principal: Principal) -> Principal:
    """Return principal if CERT staff; PermissionDenied (403) for a member, as the API answers
    a member's token on a CERT-only list. Pages about one object look it up with the member's
    principal first, so another member's object answers 404, as it does over the API."""
    if not principal.is_cert:
        raise PermissionDenied("the analysts' console is for CERT staff")
    return principal


def principal_of(page: Page) -> Principal:
    """Return the signed-in user's principal (call after signed_in)."""
    assert page.user is not None
    return page.user.principal


@dataclass(frozen=True)
class Pager:
    """Which page of a list is shown, and the links to its neighbours."""

    number: int
    total: int
    per_page: int
    params: dict[str, str]

    @property
    def offset(self) -> int:
        """Return how many items come before this page."""
        return (self.number - 1) * self.per_page

    @property
    def pages(self) -> int:
        """Return how many pages the list has (at least one)."""
        return max(1, -(-self.total // self.per_page))

    def link(self, number: int) -> str:
        """Return the query string of page number with the same filters."""
        return "?" + urlencode({**self.params, "page": str(number)})

    @property
    def previous(self) -> str | None:
        """Return the previous page's query string, if any."""
        return self.link(self.number - 1) if self.number > 1 else None

    @property
    def next(self) -> str | None:
        """Return the next page's query string, if any."""
        return self.link(self.number + 1) if self.number < self.pages else None


def pager(number: int, params: dict[str, Any], *, per_page: int = PER_PAGE) -> Pager:
    """Return a pager at page number (total filled in by with_total) keeping the filters that
    are set."""
    kept = {key: str(value) for key, value in params.items() if value not in (None, "")}
    return Pager(number=max(1, number), total=0, per_page=per_page, params=kept)


def with_total(pager: Pager, total: int) -> Pager:
    """Return the pager knowing the list's length."""
    return Pager(number=pager.number, total=total, per_page=pager.per_page, params=pager.params)


def parse_day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """Return the start of the day YYYY-MM-DD in UTC (with end: of the day after, so the day
    is included), None for empty; ValidationFailed (a 422 page) for anything else."""
    if not value or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed.one(
            "filter", field, f"{value!r} is not a date (YYYY-MM-DD)"
        ) from None
    start = datetime.combine(day, time(0, 0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def parse_id(value: str | None, field: str) -> int | None:
    """Return a positive id from a filter field, None for empty; ValidationFailed else."""
    if not value:
        return None
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValidationFailed.one("filter", field, f"{value!r} is not an id")
    return int(text)


def when(value: datetime | str | None) -> str:
    """Return a moment as the console shows it: YYYY-MM-DD HH:MM UTC ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def member_names(page: Page, principal: Principal) -> dict[int, str]:
    """Return id -> name of every organisation (for filters and the members alerts name)."""
    return organisation_names(page.db, principal)


def render(page: Page, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Return a console template rendered with the helpers every console page uses."""
    return page.render(template, status=status, when=when, **context)


def back(page: Page, path: str, done: str) -> Response:
    """Return a 303 to path saying what was done (shown by the page as a confirmation)."""
    return page.redirect(f"{path}?{urlencode({'done': done})}")
