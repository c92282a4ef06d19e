"""Bench indicator imports and how fast the matcher takes in an update.

    .venv/bin/python benches/intel.py [--indicators 1000000] [--stix 10000]
                                      [--backends sqlite,postgresql] [--postgres-url URL]
                                      [--json]

For each backend, in a child process of its own (so the peak RSS is the import's):
1. a generated plain-list feed of --indicators values of mixed types (IPv4 60 %, domains 20 %,
   URLs 10 %, SHA-256 10 %) read by the importer and stored through `import_parsed` into a
   fresh database: indicators per second, and peak RSS;
2. a STIX 2.1 bundle of --stix indicators (each checked by stix2 and its pattern parsed by
   the STIX grammar): indicators per second;
3. the update: a matcher is built over the whole store (as a pipeline worker holds it), then
   one new indicator is imported in another session and committed; timed is what a worker
   does next — the revision check, the full rebuild, and the match of an event carrying the
   new value — and the same update taken in incrementally (`refresh_matcher`: the held base
   with an overlay of the changed indicators).

No thresholds: it prints figures (docs/intel-import.md quotes them).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    DEFAULT_POSTGRES_URL,
    drop_postgres_schema,
    emit,
    machine_state,
    new_postgres_schema,
    peak_rss_mb,
    rate,
    run_child,
    say,
    sqlite_url,
)

WORK = Path(tempfile.gettempdir()) / "vardeild-bench-intel"


def plain_feed(count: int, seed: int = 7) -> bytes:
    """Return a plain list of count distinct values of mixed types."""
    rng = random.Random(seed)
    lines = ["# generated feed"]
    for number in range(count):
        share = number % 10
        if share < 6:
            high, mid, low = number >> 16 & 255, number >> 8 & 255, number & 255
            lines.append(f"{11 + number // 16_777_216}.{high}.{mid}.{low}")
        elif share < 8:
            lines.append(f"host{number}.bad{rng.randrange(10_000)}.example")
        elif share < 9:
            lines.append(f"http://c2-{number}.example/gate.php?id={number}")
        else:
            lines.append(f"{number:064x}")
    return ("\n".join(lines) + "\n").encode()


def stix_bundle(count: int) -> bytes:
    """Return a STIX 2.1 bundle of count indicators, each one IPv4 or domain equality."""
    objects = []
    for number in range(count):
        value = (
            f"[ipv4-addr:value = '10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}']"
            if number % 2
            else f"[domain-name:value = 'stix{number}.example']"
        )
        objects.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--00000000-0000-4000-8000-{number:012d}",
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "pattern": value,
                "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z",
            }
        )
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}).encode()


def child(url: str, indicators: int, stix: int) -> dict[str, Any]:
    """Import, then time the update; return the figures."""
    from vardeild.access.model import Principal, Role
    from vardeild.intel import matcher_source as intel
    from vardeild.intel.import_service import import_parsed
    from vardeild.intel.importers import read_import
    from vardeild.intel.imports import ImportDefaults, ImportFormat

    admin = Principal(actor="bench@cert.test", role=Role.CERT_ADMIN)
    from datetime import UTC, datetime, timedelta

    from vardeild.app import build_platform
    from vardeild.core.clock import FixedClock
    from vardeild.settings import Settings

    # A clock the bench moves: the update below comes an hour after the bulk load, as in a
    # running system, so an incremental update reads only what changed since.
    clock = FixedClock(datetime.now(UTC))
    (WORK / "data").mkdir(parents=True, exist_ok=True)
    platform = build_platform(
        Settings(database_url=url, data_dir=WORK / "data"), clock=clock, migrate=True
    )
    data = plain_feed(indicators)
    started = time.perf_counter()
    parsed, _ = read_import(data, fmt=ImportFormat.PLAIN, defaults=ImportDefaults())
    read_seconds = time.perf_counter() - started
    with platform.session() as session:
        result = import_parsed(
            session, admin, parsed, clock=platform.clock, source="bench", fmt="plain"
        )
    plain_seconds = time.perf_counter() - started
    del parsed, data
    figures: dict[str, Any] = {
        "plain_indicators": result.created,
        "plain_seconds": round(plain_seconds, 2),
        "plain_read_seconds": round(read_seconds, 2),
        "plain_per_second": rate(result.created, plain_seconds),
        "peak_rss_mb_after_plain": peak_rss_mb(),
    }
    if stix:
        bundle = stix_bundle(stix)
        started = time.perf_counter()
        parsed, _ = read_import(bundle, fmt=ImportFormat.STIX, defaults=ImportDefaults())
        with platform.session() as session:
            loaded = import_parsed(
                session, admin, parsed, clock=platform.clock, source="bench-stix", fmt="stix"
            )
        seconds = time.perf_counter() - started
        figures |= {
            "stix_indicators": loaded.created,
            "stix_seconds": round(seconds, 2),
            "stix_per_second": rate(loaded.created, seconds),
        }
    clock.advance(timedelta(hours=1))
    # The worker's matcher over the whole store.
    with platform.session() as session:
        started = time.perf_counter()
        matcher = intel.load_matcher(session, now=platform.clock.now())
        figures["matcher_build_seconds"] = round(time.perf_counter() - started, 2)
        figures["matcher_size"] = len(matcher)
    # As the pipeline does with the indexes it holds: keep them out of the collector's walks.
    gc.collect()
    gc.freeze()
    new_ip = "203.0.113.77"
    update, _ = read_import(
        f"{new_ip}\n".encode(), fmt=ImportFormat.PLAIN, defaults=ImportDefaults()
    )
    with platform.session() as session:  # another session: the loader's
        started = time.perf_counter()
        import_parsed(session, admin, update, clock=platform.clock, source="update", fmt="plain")
    committed = time.perf_counter()
    figures["update_commit_seconds"] = round(committed - started, 3)
    fields = [
        *("destination_ip", "source_fqdn", "destination_fqdn", "source_url"),
        *("destination_url", "dns_query", "tls_sni", "http_host", "malware_hash_md5"),
        *("malware_hash_sha1", "malware_hash_sha256", "tls_ja3", "tls_ja3s", "tls_ja4"),
    ]
    event = SimpleNamespace(source_ip=new_ip, **dict.fromkeys(fields))  # the matcher's view
    with platform.session() as session:  # the worker's next batch, as the pipeline does it
        check = time.perf_counter()
        current = intel.matcher_is_current(session, matcher, now=platform.clock.now())
        checked = time.perf_counter()
        rebuilt = matcher if current else intel.load_matcher(session, now=platform.clock.now())
        hits = rebuilt.match(event)
        done = time.perf_counter()
    with platform.session() as session:  # the same update taken in incrementally
        started = time.perf_counter()
        layered = intel.refresh_matcher(session, matcher, now=platform.clock.now())
        incremental_hits = layered.match(event)
        incremental = time.perf_counter() - started
    figures |= {
        "revision_check_ms": round((checked - check) * 1000, 2),
        "update_to_match_seconds": round(done - check, 2),
        "update_matched": bool(hits),
        "incremental_update_ms": round(incremental * 1000, 1),
        "incremental_matched": bool(incremental_hits),
        "peak_rss_mb": peak_rss_mb(),
    }
    return figures


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads."""
    lines = [f"machine: {figures['machine']}"]
    for backend, got in figures["backends"].items():
        lines.append(
            f"{backend}: plain {got['plain_indicators']:,} indicators in {got['plain_seconds']} s "
            f"= {got['plain_per_second']:,.0f}/s (read {got['plain_read_seconds']} s), "
            f"peak RSS {got['peak_rss_mb']} MB"
        )
        if "stix_per_second" in got:
            lines.append(
                f"{backend}: STIX {got['stix_indicators']:,} indicators in {got['stix_seconds']} s"
                f" = {got['stix_per_second']:,.0f}/s"
            )
        lines.append(
            f"{backend}: update: matcher of {got['matcher_size']:,} built in "
            f"{got['matcher_build_seconds']} s; one new indicator committed, then matched "
            f"{got['update_to_match_seconds']} s later (revision check "
            f"{got['revision_check_ms']} ms); matched: {got['update_matched']}"
        )
        lines.append(
            f"{backend}: the same update taken in incrementally (refresh_matcher): "
            f"{got['incremental_update_ms']} ms; matched: {got['incremental_matched']}"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the children and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--stix", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.indicators, args.stix)))
        return
    figures: dict[str, Any] = {"machine": machine_state(), "backends": {}}
    for backend in args.backends.split(","):
        schema = None
        if backend == "sqlite":
            url = sqlite_url(WORK / "intel.db")
        else:
            schema, url = new_postgres_schema(args.postgres_url, "bench_intel")
        say(f"{backend}: importing {args.indicators:,} indicators")
        try:
            figures["backends"][backend] = run_child(
                [
                    __file__,
                    "--child",
                    url,
                    "--indicators",
                    str(args.indicators),
                    "--stix",
                    str(args.stix),
                ]
            )
        finally:
            if schema is not None:
                drop_postgres_schema(args.postgres_url, schema)
    emit(figures, args.json, report)


if __name__ == "__main__":
    main()
