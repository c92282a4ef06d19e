"""Fetching a feed over HTTP(S): bounded in size and time, guarded against server-side request
forgery.

A feed URL is configured by an operator, but what it names can change under them (DNS), and a
partner's server can answer with a redirect. So before every connection — the first and each
redirect hop — the host is resolved and EVERY address it resolves to is checked: loopback,
private, link-local, multicast, reserved and unspecified addresses are refused unless the
operator allows them (`intel_fetch_allow_private`). The connection then goes to the address
that was checked, never to a second resolution (which a rebinding DNS server could answer
differently): `http.client` with its connect step pinned to that address, the URL's host still
sent as Host and as the TLS server name. That pinning is why this is the standard library
rather than a client library that resolves by itself (vardeild.net.guarded, shared with the
OpenID Connect client). Credentials (basic auth or a header
token) go only to the feed's own scheme, host and port; a redirect elsewhere is followed
without them. The body is read up to `max_bytes` and no longer than `timeout` in all.
"""

from __future__ import annotations

import base64
import http.client
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from vardeild.net import guarded

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
MAX_REDIRECTS = 5


class FetchError(Exception):
    """A fetch that was refused or failed; the message says which and why."""


@dataclass(frozen=True)
class FetchLimits:
    """How much, how long, and where a fetch may go."""

    max_bytes: int = DEFAULT_MAX_BYTES
    timeout: float = DEFAULT_TIMEOUT
    allow_private: bool = False


@dataclass(frozen=True)
class Credentials:
    """Basic auth (user and password) or a header token (header name and value)."""

    kind: str  # basic or header
    name: str
    secret: str

    def header(self) -> tuple[str, str]:
        """Return the (name, value) of the header that carries them."""
        if self.kind == "basic":
            token = base64.b64encode(f"{self.name}:{self.secret}".encode()).decode("ascii")
            return "Authorization", f"Basic {token}"
        return self.name, self.secret


@dataclass(frozen=True)
class FetchResponse:
    """What a fetch returned."""

    status: int
    body: bytes
    url: str  # after redirects
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def not_modified(self) -> bool:
        """Return True for 304: the conditional request found nothing new."""
        return self.status == 304


def check_address(address: str, *, allow_private: bool) -> None:
    """Raise FetchError if the address is one a feed fetch must not reach."""
    try:
        guarded.check_address(address, allow_private=allow_private)
    except guarded.AddressRefused as exc:
        raise FetchError(_refused(exc)) from None


def resolve(host: str, port: int, *, allow_private: bool) -> str:
    """Return the address to connect to after checking every address host resolves to;
    raise FetchError if one of them is refused or none is found."""
    try:
        return guarded.resolve_checked(host, port, allow_private=allow_private)
    except guarded.AddressRefused as exc:
        raise FetchError(_refused(exc)) from None
    except guarded.GuardError as exc:
        raise FetchError(str(exc)) from None


def _refused(exc: guarded.AddressRefused) -> str:
    return f"{exc}; feeds may not reach it unless intel_fetch_allow_private is set"


def fetch(
    url: str,
    *,
    limits: FetchLimits,
    credentials: Credentials | None = None,
    headers: Mapping[str, str] | None = None,
) -> FetchResponse:
    """GET url within the limits, following up to MAX_REDIRECTS redirects (each hop checked,
    credentials only to the first origin); raise FetchError on a refusal, a network error, a
    status other than 2xx or 304, a body over max_bytes, or the timeout."""
    deadline = time.monotonic() + limits.timeout
    origin = _origin(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        sent = dict(headers or {})
        if credentials is not None and _origin(current) == origin:
            name, value = credentials.header()
            sent[name] = value
        status, response_headers, body = _get(current, sent, limits, deadline)
        if status in (301, 302, 303, 307, 308):
            location = response_headers.get("location")
            if not location:
                raise FetchError(f"{current} answered {status} without a Location")
            current = urljoin(current, location)
            continue
        if status == 304 or 200 <= status < 300:
            return FetchResponse(status, body, current, response_headers)
        raise FetchError(f"{current} answered HTTP {status}")
    raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _get(
    url: str, headers: dict[str, str], limits: FetchLimits, deadline: float
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url} is not an http or https URL")
    port = parts.port or (443 if scheme == "https" else 80)
    address = resolve(parts.hostname, port, allow_private=limits.allow_private)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{url} took longer than {limits.timeout:g} s")
    # The connect step goes to the checked address; Host and SNI still name the host.
    connection = guarded.pinned_connection(scheme, parts.hostname, port, address, timeout=remaining)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    try:
        connection.request("GET", target, headers={"User-Agent": "Vardeild", **headers})
        response = connection.getresponse()
        body = b""
        if response.status not in (301, 302, 303, 307, 308, 304):
            body = guarded.read_bounded(
                response, url, max_bytes=limits.max_bytes, deadline=deadline,
                timeout=limits.timeout,
            )  # fmt: skip
        found = {name.lower(): value for name, value in response.getheaders()}
        return response.status, found, body
    except guarded.GuardError as exc:
        raise FetchError(str(exc)) from None
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError | socket.timeout):
            raise FetchError(f"{url} took longer than {limits.timeout:g} s") from None
        raise FetchError(f"{url} failed: {exc}") from None
    finally:
        connection.close()
