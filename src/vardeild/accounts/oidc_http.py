"""The OpenID Connect client's requests to the provider: bounded in size and time, no
redirects followed, and guarded against reaching internal addresses.

The provider is the operator's choice, but the addresses of its endpoints come from its
discovery document, fetched over the network; so before each connection every address the host
resolves to is checked (loopback, private, link-local, multicast, reserved and unspecified are
refused unless `oidc_allow_private` is set, for an IdP on the internal network), and the
connection goes to the address that was checked, never to a second resolution
(vardeild.net.guarded, which feeds use too).
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from vardeild.net import guarded

# A discovery document, a key set or a token answer is a few kilobytes; a megabyte is plenty.
MAX_BYTES = 1024 * 1024
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


def _refused(exc: guarded.AddressRefused) -> OidcHttpError:
    return OidcHttpError(
        f"{exc}; the provider may be reached there only when oidc_allow_private is set"
    )


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
    try:
        address = guarded.resolve_checked(host, port, allow_private=limits.allow_private)
    except guarded.AddressRefused as exc:
        raise _refused(exc) from None
    except guarded.GuardError as exc:
        raise OidcHttpError(str(exc)) from None
    connection = guarded.pinned_connection(
        parts.scheme, host, port, address, timeout=limits.timeout
    )
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
        data = guarded.read_bounded(
            response, url[:200], max_bytes=limits.max_bytes, deadline=deadline,
            timeout=limits.timeout,
        )  # fmt: skip
        status = response.status
    except guarded.GuardError as exc:
        raise OidcHttpError(str(exc)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise OidcHttpError(f"{url[:200]}: {exc}") from None
    finally:
        connection.close()
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if status != 200:
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        raise OidcHttpError(f"{url[:200]} answered {status} {str(error)[:100]}".rstrip())
    if not isinstance(answer, dict):
        raise OidcHttpError(f"{url[:200]} did not answer a JSON object")
    return answer
