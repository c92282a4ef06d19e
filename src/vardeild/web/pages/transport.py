"""What the pages learn from the connection: whether it came over TLS, the client's address
(both believed from X-Forwarded-* only when the direct peer is a trusted proxy), and the cookie
names, which take the `__Host-` prefix over TLS."""

from __future__ import annotations

from functools import cache

from starlette.requests import HTTPConnection

HSTS = "max-age=31536000; includeSubDomains"


@cache
def _trusted(setting: str) -> frozenset[str]:
    return frozenset(part.strip() for part in setting.split(",") if part.strip())


def _from_proxy(request: HTTPConnection, trusted_proxies: str) -> bool:
    peer = request.client.host if request.client else ""
    return peer in _trusted(trusted_proxies)


def is_tls(request: HTTPConnection, trusted_proxies: str) -> bool:
    """Return True if the browser's connection is TLS: directly, or per a trusted proxy."""
    if request.url.scheme == "https":
        return True
    if _from_proxy(request, trusted_proxies):
        proto = request.headers.get("x-forwarded-proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False


def client_address(request: HTTPConnection, trusted_proxies: str) -> str:
    """Return the client's address: the last X-Forwarded-For hop a trusted proxy added, else
    the direct peer."""
    peer = request.client.host if request.client else "unknown"
    if _from_proxy(request, trusted_proxies):
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
        hops = [h for h in hops if h]
        if hops:
            return hops[-1][:64]
    return peer[:64]


def cookie_name(base: str, *, tls: bool) -> str:
    """Return the cookie's name: `__Host-` prefixed over TLS (bound to this host, Secure,
    path /), plain otherwise (a browser refuses the prefix without Secure)."""
    return f"__Host-{base}" if tls else base
