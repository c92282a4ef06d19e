"""Polling a TAXII 2.1 collection with `added_after`, through the OASIS `taxii2-client`.

The client speaks TAXII (media types, envelopes, `more`/`next` paging) and `requests` does the
HTTP, so the SSRF guard here checks every address the collection's host resolves to before the
poll (`fetch.resolve`) and refuses redirects; it cannot pin the connection to the checked
address as `fetch` does, which docs/intel-import.md says. The cursor is the newest
`date_added` the collection's manifest reports for the objects taken.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import Collection

from vardeild.intel.fetch import Credentials, FetchError, FetchLimits, resolve
from vardeild.intel.importers import merge
from vardeild.intel.imports import ImportDefaults, ParsedFeed
from vardeild.intel.stix_in import read_stix_objects

PAGE = 1000
MAX_PAGES = 1000


class _HeaderAuth(requests.auth.AuthBase):
    """A header token (e.g. `Authorization: Bearer ...`) on every request of the poll."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.name] = self.value
        return request


def _pages(endpoint: Any, base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield the envelopes of an endpoint, following `next` while `more` (at most MAX_PAGES)."""
    kwargs = dict(base)
    for _ in range(MAX_PAGES):
        envelope: dict[str, Any] = endpoint(**kwargs)
        yield envelope
        if not envelope.get("more") or not envelope.get("next"):
            return
        kwargs["next"] = envelope["next"]


def poll_collection(
    url: str,
    cursor: dict[str, Any],
    credentials: Credentials | None,
    defaults: ImportDefaults,
    limits: FetchLimits,
) -> tuple[ParsedFeed | None, dict[str, Any]]:
    """Return the objects added to the collection after cursor["added_after"] (None if none)
    and the new cursor; raise FetchError on a refused host or a TAXII error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url} is not an http or https URL")
    resolve(
        parts.hostname,
        parts.port or (443 if parts.scheme == "https" else 80),
        allow_private=limits.allow_private,
    )
    session = requests.Session()
    session.max_redirects = 0  # a redirect could lead past the address check
    user = password = None
    auth: requests.auth.AuthBase | None = None
    if credentials is not None and credentials.kind == "basic":
        user, password = credentials.name, credentials.secret
    elif credentials is not None:
        auth = _HeaderAuth(credentials.name, credentials.secret)
    added_after = cursor.get("added_after")
    try:
        collection = Collection(url, user=user, password=password, auth=auth)
        # Our own session, which follows no redirect; it carries the credentials itself.
        session.auth = (user, password or "") if user is not None else auth
        collection._conn.session = session
        parts_read: list[ParsedFeed] = []
        base: dict[str, Any] = {"limit": PAGE}
        if added_after:
            base["added_after"] = added_after
        for envelope in _pages(collection.get_objects, base):
            objects = envelope.get("objects", []) or []
            parts_read.append(read_stix_objects({"objects": objects}, defaults=defaults))
        # The objects carry no date_added; the manifest of the same filter does.
        newest = added_after
        for envelope in _pages(collection.get_manifest, base):
            for entry in envelope.get("objects", []) or []:
                stamp = str(entry.get("date_added", ""))
                if stamp and (newest is None or stamp > newest):
                    newest = stamp
    except (TAXIIServiceException, requests.RequestException, ValueError) as exc:
        raise FetchError(f"TAXII poll of {url} failed: {exc}") from None
    total = sum(part.objects for part in parts_read)
    if total == 0:
        return None, cursor
    return merge(parts_read), {"added_after": newest}
