"""Bus tests run against the real NATS server, each in streams of its own, deleted afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from support.nats import nats_url_or_skip, private_config
from vardeild.bus.nats import NatsConfig, NatsTransport


@pytest.fixture
def nats_url() -> str:
    """The URL of the test NATS server (skips, or fails under VARDEILD_REQUIRE_NATS=1)."""
    return nats_url_or_skip()


@pytest.fixture
def nats_config(nats_url: str) -> Iterator[NatsConfig]:
    """A configuration with a stream, subjects and consumer of the test's own; the streams are
    deleted after the test."""
    config = private_config(nats_url)
    yield config

    async def delete() -> None:
        transport = await NatsTransport.connect(config)
        try:
            await transport.delete_streams()
        finally:
            await transport.close()

    asyncio.run(delete())
