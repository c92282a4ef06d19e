"""Syncing vulnerability knowledge from its sources: NVD's CVE API 2.0 incrementally by
`lastModStartDate`/`lastModEndDate` windows, the CISA KEV catalogue and FIRST's EPSS file
whole. Every download is bounded in bytes and time; an offline mirror serves the same files
over HTTP, or `vardeild vulndb load` reads them from disk.

NVD allows windows of at most 120 days and pages of at most 2,000 CVEs, and asks clients to
pause between requests (6 s without an API key); the cursor (the end of the last window
fetched whole) is stored after each window, so an interrupted sync resumes where it stopped.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import Clock
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.exposure.vulndb_records import DocumentError, DocumentKind, ParsedDocument
from vardeild.exposure.vulndb_service import (
    LoadCounts,
    Progress,
    audit_load,
    record_sync,
    store_document,
    sync_cursor,
)

NVD_WINDOW = timedelta(days=120)  # the API's largest lastModified range
NVD_PAGE = 2000  # the API's largest resultsPerPage for CVEs
SOURCES = ("nvd", "kev", "epss")


class SyncError(RuntimeError):
    """A source could not be fetched or read; the message names the URL and why."""


@dataclass(frozen=True)
class SyncConfig:
    """Where the sources are and how to fetch them (from settings.py)."""

    nvd_url: str
    nvd_api_key: str | None
    kev_url: str
    epss_url: str
    max_bytes: int
    timeout: float
    nvd_pause: float  # seconds between NVD requests
    nvd_first_days: int = 120  # a first NVD sync without --since starts this far back


Fetch = Callable[[str, dict[str, str], int, float], bytes]


def fetch_url(url: str, headers: dict[str, str], max_bytes: int, timeout: float) -> bytes:
    """Return the body of a GET of url (http or https only), refusing more than max_bytes;
    raise SyncError naming the URL and why."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise SyncError(f"{url}: only http and https URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "vardeild", **headers})  # noqa: S310 (scheme checked above)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            chunks, size = [], 0
            while chunk := response.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise SyncError(f"{url}: larger than {max_bytes:,} bytes")
                if time.monotonic() > deadline:
                    raise SyncError(f"{url}: took longer than {timeout:g} s")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response and its socket; leaving it to the GC leaks
        raise SyncError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SyncError(f"{url}: {getattr(exc, 'reason', exc)}") from exc


def sync_vulndb(
    session: Session,
    principal: Principal,
    *,
    config: SyncConfig,
    clock: Clock,
    sources: Iterable[str] = SOURCES,
    since: datetime | None = None,
    fetch: Fetch = fetch_url,
    on_step: Callable[[], None] | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[LoadCounts]:
    """Fetch and store each chosen source; return what each step did. NVD goes window by
    window from the stored cursor (or `since`), calling on_step after each window and source
    (the CLI commits there). Raise SyncError when a source fails (earlier steps stay)."""
    authorize(principal, Action.IMPORT)
    results: list[LoadCounts] = []
    for source in sources:
        if source == "nvd":
            results += _sync_nvd(
                session, principal, config, clock, since, fetch, on_step, progress, sleep
            )
            continue
        url = config.kev_url if source == "kev" else config.epss_url
        kind = DocumentKind.KEV if source == "kev" else DocumentKind.EPSS
        parsed = _fetch(url, kind, fetch, config, {})
        counts = store_document(session, parsed, now=clock.now(), progress=progress)
        audit_load(session, principal, clock, counts, action="vulndb.sync")
        record_sync(session, source, at=clock.now(), cursor=None, detail=_detail(counts))
        results.append(counts)
        if on_step is not None:
            on_step()
    return results


def _sync_nvd(
    session: Session,
    principal: Principal,
    config: SyncConfig,
    clock: Clock,
    since: datetime | None,
    fetch: Fetch,
    on_step: Callable[[], None] | None,
    progress: Progress | None,
    sleep: Callable[[float], None],
) -> list[LoadCounts]:
    now = clock.now()
    start = since or sync_cursor(session, "nvd") or now - timedelta(days=config.nvd_first_days)
    headers = {"apiKey": config.nvd_api_key} if config.nvd_api_key else {}
    results = []
    first_request = True
    while start < now:
        end = min(start + NVD_WINDOW, now)
        window = LoadCounts(f"nvd {_iso(start)}..{_iso(end)}", DocumentKind.NVD.value)
        index = 0
        while True:
            if not first_request:
                sleep(config.nvd_pause)  # NVD's rate limit
            first_request = False
            query = {
                "lastModStartDate": _iso(start),
                "lastModEndDate": _iso(end),
                "startIndex": str(index),
                "resultsPerPage": str(NVD_PAGE),
            }
            url = f"{config.nvd_url}?{urlencode(query)}"
            parsed = _fetch(url, DocumentKind.NVD, fetch, config, headers)
            _add(window, store_document(session, parsed, now=clock.now()))
            index += parsed.page_size
            total = parsed.total if parsed.total is not None else index
            if progress is not None:
                progress(window.name, min(index, total), total)
            if parsed.page_size == 0 or index >= total:
                break
        audit_load(session, principal, clock, window, action="vulndb.sync")
        record_sync(session, "nvd", at=clock.now(), cursor=end, detail=_detail(window))
        results.append(window)
        if on_step is not None:
            on_step()
        start = end
    return results


def _fetch(
    url: str, kind: DocumentKind, fetch: Fetch, config: SyncConfig, headers: dict[str, str]
) -> ParsedDocument:
    data = fetch(url, headers, config.max_bytes, config.timeout)
    try:
        parsed = parse_document(data, url)
    except DocumentError as exc:
        raise SyncError(str(exc)) from exc
    if parsed.kind is not kind:
        raise SyncError(f"{url}: expected {kind.value}, got {parsed.kind.value}")
    return parsed


def _add(total: LoadCounts, page: LoadCounts) -> None:
    total.read += page.read
    total.created += page.created
    total.updated += page.updated
    total.unchanged += page.unchanged
    total.problems += page.problems


def _detail(counts: LoadCounts) -> str:
    return (
        f"{counts.read} read, {counts.created} new, {counts.updated} changed, "
        f"{counts.removed} removed, {len(counts.problems)} refused"
    )


def _iso(moment: datetime) -> str:
    """NVD's extended ISO 8601 form, in UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
