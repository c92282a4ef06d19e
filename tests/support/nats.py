"""The NATS server the bus tests run against, and stream names of their own per test.

The tests need a NATS server with JetStream, by default at 127.0.0.1:4222 (override with
VARDEILD_TEST_NATS_URL). Without one they skip with a message; with VARDEILD_REQUIRE_NATS=1 (set
by .ci/run) they fail instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from vardeild.bus.nats import NatsConfig


def nats_url_or_skip() -> str:
    """Return the test NATS URL if a server answers there; else skip (or fail, under
    VARDEILD_REQUIRE_NATS=1)."""
    url = os.environ.get("VARDEILD_TEST_NATS_URL", "nats://127.0.0.1:4222")
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 2):
            pass
    except OSError as exc:
        message = (
            f"the bus tests need a NATS server with JetStream at {url} ({exc}); start one with "
            "`nats-server -js` or set VARDEILD_TEST_NATS_URL (see docs/testing.md)"
        )
        if os.environ.get("VARDEILD_REQUIRE_NATS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url


def private_config(url: str, **overrides: object) -> NatsConfig:
    """Return a configuration whose stream, subjects and consumer no other test uses."""
    token = uuid.uuid4().hex[:12]
    values: dict[str, object] = {
        "url": url,
        "stream": f"VTEST_{token}",
        "subject": f"vtest.{token}.eve",
        "consumer": "workers",
        "dead_letter_subject": f"vtest.{token}.dead",
        "max_bytes": 512 * 1024**2,
    }
    values.update(overrides)
    return NatsConfig(**values)  # type: ignore[arg-type]


def closed_port_url() -> str:
    """Return a NATS URL on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"nats://127.0.0.1:{port}"
