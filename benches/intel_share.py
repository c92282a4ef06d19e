"""Bench the ways indicators go out: reading an audience's set, and writing it as STIX, a MISP
feed and Suricata files; and one TAXII page through the web app.

    .venv/bin/python benches/intel_share.py [--indicators 100000] [--database-url URL] [--json]

Loads N GREEN indicators (IPv4 addresses and domains, half each) through the indicator
service into a new SQLite database (or the PostgreSQL URL given, in a schema of its own), then
times `list_shared` for all members, each serialiser over the whole set, and a TAXII objects
page of `page_size_max` (500) objects through the FastAPI app, best of three.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from vardeild.access.model import Principal, Role
from vardeild.access.service import issue_token
from vardeild.app import build_platform, create_web_app
from vardeild.core.tlp import Tlp
from vardeild.intel.misp_out import misp_feed
from vardeild.intel.sensor_exports import suricata_export
from vardeild.intel.service import load_indicators
from vardeild.intel.sharing import Audience, list_shared
from vardeild.intel.stix_out import stix_bundle
from vardeild.settings import Settings
from vardeild.web.routes.taxii import TAXII_MEDIA_TYPE, collection_id

CERT = Principal(actor="bench", role=Role.CERT_ADMIN)


def best(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    """Return the best wall time of runs calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = args.indicators
    work = Path(tempfile.mkdtemp(prefix="vardeild-share-bench-"))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    platform = build_platform(Settings(database_url=url, data_dir=work / "data"), migrate=True)
    lines = [
        f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" if i % 2 else f"host{i}.bench.example"
        for i in range(n)
    ]
    with platform.session() as session:
        load_indicators(
            session,
            CERT,
            ("\n".join(lines) + "\n").encode(),
            clock=platform.clock,
            source="bench",
            tlp=Tlp.GREEN,
        )
        secret = issue_token(
            session, CERT, clock=platform.clock, name="bench", role=Role.CERT_READONLY,
            organisation_id=None,
        ).secret  # fmt: skip
    audience = Audience.all_members()
    figures: dict[str, Any] = {"indicators": n, "database": url.split(":", 1)[0]}
    with platform.session() as session:
        seconds, found = best(
            lambda: list_shared(session, CERT, audience, now=platform.clock.now())
        )
    figures["read_s"] = round(seconds, 3)
    name = platform.settings.cert_name
    for label, make in (
        ("stix_s", lambda: stix_bundle(found, cert_name=name)),
        ("misp_feed_s", lambda: misp_feed(found, audience=audience, cert_name=name)),
        ("suricata_s", lambda: suricata_export(found)),
    ):
        seconds, _ = best(make)
        figures[label] = round(seconds, 3)
    client = TestClient(create_web_app(platform))
    headers = {"Accept": TAXII_MEDIA_TYPE, "Authorization": f"Bearer {secret}"}
    page = f"/taxii2/api/collections/{collection_id(audience)}/objects/"
    middle = client.get(page, params={"limit": "500"}, headers=headers).json()["next"]
    seconds, answer = best(
        lambda: client.get(page, params={"limit": "500", "next": middle}, headers=headers)
    )
    assert answer.status_code == 200
    figures["taxii_page_500_s"] = round(seconds, 4)
    platform.engine.dispose()
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{n:,} GREEN indicators ({figures['database']}):")
    print(f"  read the all-members set   {figures['read_s']:8.3f} s")
    print(f"  STIX bundle                {figures['stix_s']:8.3f} s")
    print(f"  MISP feed                  {figures['misp_feed_s']:8.3f} s")
    print(f"  Suricata files             {figures['suricata_s']:8.3f} s")
    print(f"  TAXII page of 500 objects  {figures['taxii_page_500_s']:8.4f} s")


if __name__ == "__main__":
    main()
