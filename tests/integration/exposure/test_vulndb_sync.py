"""Syncing vulnerability knowledge over real HTTP from a loopback server that serves NVD API
pages, a KEV catalogue and a gzip EPSS file, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session

from support.vulndb import cpe_match, epss_csv, kev_catalogue, nvd_cve
from vardeild.access.model import Principal, Role
from vardeild.core.clock import FixedClock
from vardeild.exposure.vulndb_service import sync_cursor, vulndb_stats
from vardeild.exposure.vulndb_sync import SyncConfig, SyncError, fetch_url, sync_vulndb

CERT = Principal(actor="test:analyst", role=Role.CERT_ANALYST)
SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"
ENTRIES = [nvd_cve(f"CVE-2099-300{n}", [cpe_match(SSH, end_ex=f"9.{n}")]) for n in range(3)]


class Source(BaseHTTPRequestHandler):
    """NVD pages of two entries (totalResults 3), KEV, EPSS, and a body that is too large."""

    seen: ClassVar[list[tuple[str, dict[str, list[str]], str | None]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        Source.seen.append((url.path, query, self.headers.get("apiKey")))
        if url.path == "/nvd":
            start = int(query["startIndex"][0])
            body = _page(ENTRIES[start : start + 2], start, len(ENTRIES))
        elif url.path == "/kev.json":
            body = kev_catalogue(("CVE-2099-3001", True))
        elif url.path == "/epss.csv.gz":
            body = gzip.compress(epss_csv(("CVE-2099-3001", 0.5, 0.9)))
        elif url.path == "/big":
            body = b"x" * 5000
        else:
            self.send_error(404, "no such file")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def _page(entries: list[dict[str, Any]], start: int, total: int) -> bytes:
    return json.dumps(
        {
            "resultsPerPage": len(entries),
            "startIndex": start,
            "totalResults": total,
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": "2026-11-28T10:00:00.000",
            "vulnerabilities": entries,
        }
    ).encode()


@pytest.fixture
def server() -> Iterator[str]:
    Source.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Source)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def config(base: str, **changes: Any) -> SyncConfig:
    values: dict[str, Any] = {
        "nvd_url": f"{base}/nvd",
        "nvd_api_key": "secret-key",
        "kev_url": f"{base}/kev.json",
        "epss_url": f"{base}/epss.csv.gz",
        "max_bytes": 1_000_000,
        "timeout": 10.0,
        "nvd_pause": 0.25,
    }
    values.update(changes)
    return SyncConfig(**values)


def test_a_sync_walks_nvd_windows_and_pages_then_resumes_from_its_cursor(
    session: Session, clock: FixedClock, server: str
) -> None:
    pauses: list[float] = []
    since = clock.now() - timedelta(days=200)
    results = sync_vulndb(
        session, CERT, config=config(server), clock=clock, since=since, sleep=pauses.append
    )
    nvd = [r for r in results if r.kind == "nvd"]
    assert [(r.read, r.created, r.unchanged) for r in nvd] == [(3, 3, 0), (3, 0, 3)]
    requests = [
        (q["lastModStartDate"][0], q["lastModEndDate"][0], q["startIndex"][0], key)
        for path, q, key in Source.seen
        if path == "/nvd"
    ]
    assert requests == [
        ("2026-05-12T12:00:00.000Z", "2026-09-09T12:00:00.000Z", "0", "secret-key"),
        ("2026-05-12T12:00:00.000Z", "2026-09-09T12:00:00.000Z", "2", "secret-key"),
        ("2026-09-09T12:00:00.000Z", "2026-11-28T12:00:00.000Z", "0", "secret-key"),
        ("2026-09-09T12:00:00.000Z", "2026-11-28T12:00:00.000Z", "2", "secret-key"),
    ]
    assert pauses == [0.25, 0.25, 0.25]  # between NVD requests, not before the first
    assert sync_cursor(session, "nvd") == clock.now()
    stats = vulndb_stats(session, CERT)
    assert (stats.cves, stats.kev, stats.epss) == (3, 1, 1)
    assert set(stats.synced) == {"nvd", "kev", "epss"}

    Source.seen = []
    clock.advance(timedelta(hours=1))
    again = sync_vulndb(
        session, CERT, config=config(server), clock=clock, sources=["nvd"], sleep=pauses.append
    )
    (window,) = again
    assert window.name == "nvd 2026-11-28T12:00:00.000Z..2026-11-28T13:00:00.000Z"
    assert window.unchanged == 3


def test_a_failed_download_names_the_url_and_why(
    session: Session, clock: FixedClock, server: str
) -> None:
    with pytest.raises(SyncError, match=r"/missing.json: HTTP 404"):
        sync_vulndb(
            session,
            CERT,
            config=config(server, kev_url=f"{server}/missing.json"),
            clock=clock,
            sources=["kev"],
        )
    with pytest.raises(SyncError, match="larger than 1,000 bytes"):
        fetch_url(f"{server}/big", {}, 1000, 10.0)
    with pytest.raises(SyncError, match="only http and https"):
        fetch_url("file:///etc/passwd", {}, 1000, 10.0)
    with pytest.raises(SyncError, match="expected epss, got kev"):
        sync_vulndb(
            session,
            CERT,
            config=config(server, epss_url=f"{server}/kev.json"),
            clock=clock,
            sources=["epss"],
        )
