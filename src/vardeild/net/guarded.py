"""Outbound HTTP(S) guarded against server-side request forgery, bounded in size and time.

What a request may reach is decided at connect time, not from the URL: the host is resolved
and EVERY address it resolves to is checked (loopback, private, link-local, multicast,
reserved, unspecified and other non-global addresses are refused unless the caller's setting
allows them), and the connection then goes to the address that was checked, never to a second
resolution, which a rebinding DNS server could answer differently. The URL's host is still sent
as Host and is the name the TLS certificate must match. That pinning is why this is the standard
library's http.client rather than a client library that resolves by itself.

Callers (intel.fetch for feeds, accounts.oidc_http for the OpenID provider) turn the errors
here into their own, naming the setting that would allow what was refused.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time

_CHUNK = 64 * 1024
_REFUSED_FLAGS = (
    "is_loopback",
    "is_link_local",
    "is_multicast",
    "is_unspecified",
    "is_reserved",
    "is_private",
)  # most telling first: 169.254.0.0/16 and 0.0.0.0 count as private too


class GuardError(Exception):
    """A request refused or failed before or while reading; the message says why."""


class AddressRefused(GuardError):
    """The host resolves to an address the request may not reach."""


def check_address(address: str, *, allow_private: bool) -> None:
    """Raise AddressRefused if the address is not a global one (unless allow_private)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return
    for flag in _REFUSED_FLAGS:
        if getattr(ip, flag):
            kind = flag.removeprefix("is_").replace("_", "-")
            raise AddressRefused(f"{address} is a {kind} address")
    if not ip.is_global:  # shared (100.64/10), benchmarking, ...
        raise AddressRefused(f"{address} is not a global address")


def resolve_checked(host: str, port: int, *, allow_private: bool) -> str:
    """Return the address to connect to after checking every address host resolves to; raise
    AddressRefused for a refused one, GuardError when none is found."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise GuardError(f"{host} does not resolve: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise GuardError(f"{host} resolves to no address")
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the pinned address.
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def pinned_connection(
    scheme: str, host: str, port: int, address: str, *, timeout: float
) -> http.client.HTTPConnection:
    """Return an unopened connection to host whose connect step goes to address, the one
    resolve_checked returned for it."""
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return kind(host, port, address, timeout)


def read_bounded(
    response: http.client.HTTPResponse,
    what: str,
    *,
    max_bytes: int,
    deadline: float,
    timeout: float,
) -> bytes:
    """Return the response's body, raising GuardError past max_bytes or the monotonic
    deadline (what names the request, timeout the time it had, in the message)."""
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise GuardError(f"{what} is {int(length):,} bytes; at most {max_bytes:,}")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise GuardError(f"{what} took longer than {timeout:g} s")
        chunk = response.read1(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise GuardError(f"{what} is larger than {max_bytes:,} bytes")
        chunks.append(chunk)
