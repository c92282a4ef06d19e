"""Feed fetching against real HTTP servers on loopback: the SSRF guard refuses loopback unless
allowed, an oversized body and a slow server fail with the reason, a redirect to another host
does not carry the credentials along; feeds sync incrementally (ETag, MISP manifest) into the
store and are audited."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.clock import FixedClock
from vardeild.intel.feed_service import add_feed, get_feed_or_raise, list_feeds, sync_feed
from vardeild.intel.feeds import AuthKind, FeedFormat, FeedSpec
from vardeild.intel.fetch import Credentials, FetchError, FetchLimits, check_address, fetch
from vardeild.intel.tables import IndicatorRow

Route = Callable[[BaseHTTPRequestHandler], None]
ALLOW = FetchLimits(allow_private=True, timeout=5.0)


class Server:
    """A real HTTP server on a loopback address, answering by path; it records requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[dict[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append({"path": self.path, **dict(self.headers.items())})
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def body(self, path: str, data: bytes, status: int = 200, **headers: str) -> None:
        def route(handler: BaseHTTPRequestHandler) -> None:
            if headers.get("ETag") and handler.headers.get("If-None-Match") == headers["ETag"]:
                handler.send_response(304)
                handler.end_headers()
                return
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

        self.routes[path] = route

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


def test_loopback_is_refused_by_default_and_fetched_when_allowed(server: Server) -> None:
    server.body("/feed.txt", b"192.0.2.1\n")
    with pytest.raises(FetchError, match="loopback address"):
        fetch(f"{server.url}/feed.txt", limits=FetchLimits())
    assert server.seen == []  # refused before connecting
    assert fetch(f"{server.url}/feed.txt", limits=ALLOW).body == b"192.0.2.1\n"


@pytest.mark.parametrize(
    "address",
    [
        *("10.1.2.3", "192.168.0.1", "169.254.169.254", "224.0.0.1", "100.64.0.1", "0.0.0.0"),
        *("::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "240.0.0.1"),
    ],
)
def test_private_link_local_and_multicast_addresses_are_refused(address: str) -> None:
    with pytest.raises(FetchError):
        check_address(address, allow_private=False)


def test_a_public_address_passes() -> None:
    check_address("8.8.8.8", allow_private=False)
    check_address("2001:4860:4860::8888", allow_private=False)
    with pytest.raises(FetchError, match="private"):
        check_address("192.0.2.1", allow_private=False)  # TEST-NET-1: documentation only


def test_an_oversized_body_is_refused(server: Server) -> None:
    server.body("/big", b"x" * 5000)
    with pytest.raises(FetchError, match="at most 1,000"):
        fetch(f"{server.url}/big", limits=FetchLimits(allow_private=True, max_bytes=1000))


def test_a_slow_server_times_out(server: Server) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(1.5)
        handler.send_response(200)
        handler.end_headers()

    server.routes["/slow"] = slow
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than"):
        fetch(f"{server.url}/slow", limits=FetchLimits(allow_private=True, timeout=0.5))
    assert time.monotonic() - started < 1.4


def test_a_redirect_to_another_host_does_not_carry_the_credentials(server: Server) -> None:
    other = Server("127.0.0.2")
    try:
        other.body("/feed.txt", b"192.0.2.1\n")

        def moved(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", f"{other.url}/feed.txt")
            handler.end_headers()

        server.routes["/feed.txt"] = moved
        secret = Credentials("header", "Authorization", "Bearer s3cret-token")
        response = fetch(f"{server.url}/feed.txt", limits=ALLOW, credentials=secret)
        assert response.body == b"192.0.2.1\n"
        assert server.seen[0]["Authorization"] == "Bearer s3cret-token"
        assert "Authorization" not in other.seen[0]
        with pytest.raises(FetchError, match="loopback"):
            # each hop is checked: allowed for the first host only is not possible, so
            # with the guard on, the first hop already fails
            fetch(f"{server.url}/feed.txt", limits=FetchLimits(), credentials=secret)
    finally:
        other.close()


def test_a_feed_syncs_incrementally_with_its_etag(
    server: Server, session: Session, clock: FixedClock
) -> None:
    server.body("/ips.txt", b"# list\n192.0.2.1\n192.0.2.2\nnot-an-ip!\n", ETag='"v1"')
    spec = FeedSpec(
        name="partner",
        url=f"{server.url}/ips.txt",
        format=FeedFormat.PLAIN,
        auth_kind=AuthKind.BASIC,
        auth_name="cert",
        auth_secret="a-long-password",
    )
    add_feed(session, CERT, spec, clock=clock)
    first = sync_feed(session, CERT, "partner", clock=clock, limits=ALLOW)
    assert (first["created"], first["skipped"]) == (2, 1)
    assert "line 4" in first["problems"][0]
    assert server.seen[0]["Authorization"].startswith("Basic ")
    again = sync_feed(session, CERT, "partner", clock=clock, limits=ALLOW)
    assert again == {"feed": "partner", "not_modified": True}
    assert server.seen[1]["If-None-Match"] == '"v1"'
    feed = get_feed_or_raise(session, CERT, "partner")
    assert feed.auth_secret_masked == "****rd"
    assert "a-long-password" not in json.dumps(feed.to_dict())
    stored = session.scalars(select(IndicatorRow.feed_id).where(IndicatorRow.source == "partner"))
    assert set(stored) == {feed.id}
    actions = [e.action for e in list_entries(session, filters=AuditFilter(), limit=50)[0]]
    assert actions.count("intel_feed.sync") == 2


def test_a_failed_sync_is_recorded_and_keeps_the_cursor(
    server: Server, session: Session, clock: FixedClock
) -> None:
    add_feed(
        session,
        CERT,
        FeedSpec(name="gone", url=f"{server.url}/missing", format=FeedFormat.PLAIN),
        clock=clock,
    )
    result = sync_feed(session, CERT, "gone", clock=clock, limits=ALLOW)
    assert "HTTP 404" in result["error"]
    feed = list_feeds(session, CERT)[0]
    assert "HTTP 404" in feed.last_error
    assert feed.last_success_at is None


def _event(uuid: str, ip: str) -> bytes:
    attribute = {"type": "ip-dst", "value": ip, "to_ids": True, "uuid": f"{uuid}-a"}
    event = {"info": "x", "uuid": uuid, "Attribute": [attribute], "Tag": [{"name": "tlp:green"}]}
    return json.dumps({"Event": event}).encode()


def test_a_misp_feed_fetches_only_changed_events(
    server: Server, session: Session, clock: FixedClock
) -> None:
    one, two = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
    manifest = {one: {"timestamp": "100", "info": "x"}, two: {"timestamp": "100", "info": "y"}}
    server.body("/misp/manifest.json", json.dumps(manifest).encode())
    server.body(f"/misp/{one}.json", _event(one, "192.0.2.11"))
    server.body(f"/misp/{two}.json", _event(two, "192.0.2.12"))
    add_feed(
        session,
        CERT,
        FeedSpec(name="misp", url=f"{server.url}/misp/", format=FeedFormat.MISP_FEED),
        clock=clock,
    )
    assert sync_feed(session, CERT, "misp", clock=clock, limits=ALLOW)["created"] == 2
    manifest[two]["timestamp"] = "200"
    server.body("/misp/manifest.json", json.dumps(manifest).encode())
    server.body(f"/misp/{two}.json", _event(two, "192.0.2.13"))
    server.seen.clear()
    assert sync_feed(session, CERT, "misp", clock=clock, limits=ALLOW)["created"] == 1
    assert [seen["path"] for seen in server.seen] == ["/misp/manifest.json", f"/misp/{two}.json"]
    count = session.scalar(select(func.count()).where(IndicatorRow.source == "misp"))
    assert count == 3
