"""The OpenID Connect client's requests to the provider: bounded in size and time, no
redirects followed, and guarded against reaching internal addresses.

The provider is the operator's choice, but the addresses of its endpoints come from its
discovery document, fetched over the network; so before each connection every address the host
resolves to is checked (loopback, private, link-local, multicast, reserved and unspecified are
refused unless `oidc_allow_private` is set, for an IdP on the internal network), and the
connection goes to the address that was checked, never to a second resolution. The standard
library's http.client is used for that pinning (as intel.fetch does for feeds, which this layer
may not import).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

# A discovery document, a key set or a token answer is a few kilobytes; a megabyte is plenty.
MAX_BYTES = 1024 * 1024
_CHUNK = 16 * 1024
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class OidcHttpError(Exception):
    """A request to the provider was refused or failed; the message says which and why."""


@dataclass(frozen=True)
class HttpLimits:
    """How long, how much, and where requests to the provider may go."""

    timeout: float = 10.0
    max_bytes: int = MAX_BYTES
    allow_private: bool = False


def is_loopback_url(url: str) -> bool:
    """Return True if url names this machine (http is accepted only there)."""
    return (urlsplit(url).hostname or "") in _LOOPBACK_NAMES


def check_url(url: str) -> None:
    """Raise OidcHttpError unless url is https, or http to loopback (a test provider)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise OidcHttpError(f"{url[:200]!r} is not an absolute URL")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_url(url)):
        return
    raise OidcHttpError(f"{url[:200]!r}: the provider must be reached over https")


def _check_address(address: str, *, allow_private: bool) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return
    if not ip.is_global or ip.is_multicast:
        raise OidcHttpError(
            f"{address} is not a public address; the provider may be reached there only when "
            "oidc_allow_private is set"
        )


def _resolve(host: str, port: int, *, allow_private: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OidcHttpError(f"{host} does not resolve: {exc.strerror}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OidcHttpError(f"{host} resolves to no address")
    for address in addresses:
        _check_address(address, allow_private=allow_private)
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


def request_json(
    method: str,
    url: str,
    *,
    limits: HttpLimits,
    form: dict[str, str] | None = None,
    basic: tuple[str, str] | None = None,
    bearer: str | None = None,
) -> dict[str, Any]:
    """Send the request and return its JSON object answer; raise OidcHttpError on a refused
    address, a network error, a status other than 200, a body over max_bytes, the timeout, or
    an answer that is not a JSON object."""
    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    deadline = time.monotonic() + limits.timeout
    address = _resolve(host, port, allow_private=limits.allow_private)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, limits.timeout)
    headers = {"Accept": "application/json", "User-Agent": "Vardeild-OIDC"}
    body: bytes | None = None
    if form is not None:
        body = urlencode(form).encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if basic is not None:
        # RFC 6749 section 2.3.1: the id and secret are form-encoded before Basic encoding.
        pair = f"{urlencode({'': basic[0]})[1:]}:{urlencode({'': basic[1]})[1:]}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = bytearray()
        while chunk := response.read(_CHUNK):
            data += chunk
            if len(data) > limits.max_bytes:
                raise OidcHttpError(f"{url[:200]} answered more than {limits.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise OidcHttpError(f"{url[:200]} took longer than {limits.timeout} s")
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise OidcHttpError(f"{url[:200]}: {exc}") from None
    finally:
        connection.close()
    try:
        answer = json.loads(bytes(data))
    except ValueError:
        answer = None
    if status != 200:
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        raise OidcHttpError(f"{url[:200]} answered {status} {str(error)[:100]}".rstrip())
    if not isinstance(answer, dict):
        raise OidcHttpError(f"{url[:200]} did not answer a JSON object")
    return answer
