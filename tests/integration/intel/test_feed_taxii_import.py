"""A TAXII 2.1 feed polled from a real TAXII server nobody here wrote: OASIS medallion with its
memory backend, started on loopback. The second poll asks with `added_after` and takes only
what was added since; indicators that do not reduce are kept; the guard refuses loopback
unless allowed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from taxii2client.v21 import Collection

from support.factories import CERT
from vardeild.core.clock import FixedClock
from vardeild.intel.feed_service import add_feed, get_feed_or_raise, sync_feed
from vardeild.intel.feeds import AuthKind, FeedFormat, FeedSpec
from vardeild.intel.fetch import FetchLimits
from vardeild.intel.tables import IndicatorRow, UnmatchableRow

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
ALLOW = FetchLimits(allow_private=True, timeout=10.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def taxii(tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, writable collection on a medallion server on loopback."""
    folder = tmp_path
    port = _free_port()
    root = f"http://127.0.0.1:{port}/api1/"
    data = {
        "/discovery": {"title": "t", "default": root, "api_roots": [root]},
        "api1": {
            "information": {
                "title": "api1",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "feed",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
            ],
        },
    }
    (folder / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(folder / "data.json"),
        },
        "users": {"cert": "taxii-password"},
        "taxii": {"max_page_size": 100},
    }
    (folder / "config.json").write_text(json.dumps(config))
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port)),
            str(folder / "config.json"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"medallion did not start: {Path(log.name).read_text()}")
        yield f"{root}collections/{COLLECTION}/"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _indicator(number: int, pattern: str) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3c{number:03d}",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    }


def _publish(url: str, *objects: dict[str, object]) -> None:
    collection = Collection(url, user="cert", password="taxii-password")
    bundle = {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}
    status = collection.add_objects(json.dumps({**bundle, "objects": list(objects)}))
    assert status.success_count == len(objects)


def test_a_taxii_collection_is_polled_with_added_after(
    taxii: str, session: Session, clock: FixedClock
) -> None:
    _publish(
        taxii,
        _indicator(1, "[ipv4-addr:value = '192.0.2.1' OR domain-name:value = 'c2.example.no']"),
        _indicator(2, "[ipv4-addr:value = '192.0.2.2'] FOLLOWEDBY [url:value = 'http://a.no']"),
    )
    spec = FeedSpec(
        name="partner-taxii",
        url=taxii,
        format=FeedFormat.TAXII21,
        auth_kind=AuthKind.BASIC,
        auth_name="cert",
        auth_secret="taxii-password",
    )
    add_feed(session, CERT, spec, clock=clock)
    refused = sync_feed(session, CERT, "partner-taxii", clock=clock, limits=FetchLimits())
    assert "loopback" in refused["error"]

    first = sync_feed(session, CERT, "partner-taxii", clock=clock, limits=ALLOW)
    assert (first["created"], first["unmatchable"]) == (2, 1), first
    cursor = get_feed_or_raise(session, CERT, "partner-taxii").cursor
    assert cursor["added_after"]
    tlps = set(session.scalars(select(IndicatorRow.tlp).where(IndicatorRow.feed_id.is_not(None))))
    assert tlps == {"GREEN"}
    kept = session.scalar(select(UnmatchableRow.reason))
    assert kept is not None
    assert "FOLLOWEDBY" in kept

    time.sleep(0.01)  # date_added has microseconds; the next object is added later
    _publish(taxii, _indicator(3, "[url:value = 'http://evil.example.no/gate.php']"))
    second = sync_feed(session, CERT, "partner-taxii", clock=clock, limits=ALLOW)
    assert (second["records"], second["created"], second["unmatchable"]) == (1, 1, 0), second
    assert session.scalar(select(func.count()).select_from(IndicatorRow)) == 3
    nothing = sync_feed(session, CERT, "partner-taxii", clock=clock, limits=ALLOW)
    assert nothing == {"feed": "partner-taxii", "not_modified": True}
