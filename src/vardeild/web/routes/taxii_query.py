"""What a TAXII 2.1 request asks for — its filters (`match[...]`, `added_after`), its page
size and its cursor — and the TAXII error it gets when any of them is wrong."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request


class TaxiiError(Exception):
    """A TAXII error message answer."""

    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.description = description


def taxii_time(moment: datetime) -> str:
    """Return moment as TAXII writes timestamps (UTC, microseconds, Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str, name: str) -> datetime:
    """Return the timestamp of parameter name, or raise a 400."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TaxiiError(400, "Bad request", f"{name} {text!r} is not a timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def encode_cursor(moment: datetime, key: int) -> str:
    """Return the opaque `next` of a page ending at (moment, key)."""
    raw = json.dumps([moment.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int]:
    """Return the (moment, key) a `next` of ours names, or raise a 400."""
    try:
        moment, key = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return datetime.fromisoformat(moment).astimezone(UTC), int(key)
    except (ValueError, TypeError, binascii.Error):
        raise TaxiiError(400, "Bad request", f"next {text!r} is not a cursor of ours") from None


@dataclass(frozen=True)
class TaxiiParams:
    """A TAXII request's filters and its place in the paging."""

    added_after: datetime | None
    after: tuple[datetime, int] | None
    limit: int
    types: frozenset[str] | None
    ids: frozenset[str] | None
    versions: frozenset[str] | None  # None: the last (the only) version


def taxii_params(
    request: Request, *, page_size_max: int, object_id: str | None = None
) -> TaxiiParams:
    """Return what the request asks for (filters, page size, cursor) or raise a 400."""
    query = request.query_params
    largest = page_size_max
    limit = largest
    if "limit" in query:
        try:
            limit = int(query["limit"])
        except ValueError:
            raise TaxiiError(400, "Bad request", "limit must be a whole number") from None
        if limit < 1:
            raise TaxiiError(400, "Bad request", "limit must be at least 1")
        limit = min(limit, largest)

    def listed(name: str) -> frozenset[str] | None:
        value = query.get(name)
        if value is None:
            return None
        return frozenset(part.strip() for part in value.split(",") if part.strip())

    versions = listed("match[version]")
    if versions is not None and versions & {"last", "first", "all"}:
        versions = None  # every object here has one version: the last, first and all of it
    spec = listed("match[spec_version]")
    ids = listed("match[id]")
    if object_id is not None:
        ids = frozenset({object_id}) if ids is None or object_id in ids else frozenset()
    return TaxiiParams(
        added_after=(
            parse_time(query["added_after"], "added_after") if "added_after" in query else None
        ),
        after=decode_cursor(query["next"]) if "next" in query else None,
        limit=limit,
        types=listed("match[type]") if spec is None or "2.1" in spec else frozenset(),
        ids=ids,
        versions=versions,
    )
