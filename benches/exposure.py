"""Bench the vulnerability knowledge: CVE import rate, and matching exposures against CVEs.

    .venv/bin/python benches/exposure.py [--records 250000] [--products 20000]
        [--exposures 100000] [--database sqlite|postgresql|both|none] [--postgres-url URL]
        [--seed N] [--json]

Generates NVD API 2.0 pages (2,000 CVEs each) shaped like NVD's: one to four cpeMatch entries
per CVE over ~20,000 (vendor, product) pairs, mostly version ranges (start including or
excluding, end including or excluding) and some exact versions, in the version styles the real
data uses (1.2.10, 9.3p1, 1.0.2k, 2.0-rc1, 10.2.9-h1), a tenth in AND configurations with a
platform node. Then:

- the import rate: pages parsed and stored (vulndb_service.store_document) into a fresh SQLite
  file and a fresh PostgreSQL schema, records per second;
- the matcher loaded back from each database (load_vuln_matcher), timed;
- the matching, in a child process of its own (so that its peak memory is the matcher's):
  the matcher built from the generated pages, then 100,000 exposures (half with a CPE, half
  with vendor/product names and words after the version, as nmap writes them) matched, timed
  cold and again (answers cached). The target is under 10 seconds.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_POSTGRES_URL,
    current_rss_mb,
    drop_postgres_schema,
    machine_state,
    new_postgres_schema,
    peak_rss_mb,
    platform_for,
    run_child,
    sqlite_url,
)
from vardeild.exposure.vuln_matcher import VulnMatcher
from vardeild.exposure.vuln_model import ProductVersion
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.exposure.vulndb_service import LoadCounts, load_vuln_matcher, store_document

PAGE = 2000
TARGET_MATCH_SECONDS = 10.0
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


STYLES = {"semver": 60, "openssh": 10, "openssl": 10, "pre": 10, "hotfix": 10}
ZIPF = 0.8  # product popularity: the top product carries ~3% of CVEs (Linux has ~4% of NVD)


def releases(rng: random.Random, style: str) -> list[str]:
    """A product's releases, oldest first, in one of the version styles NVD data uses."""
    found: list[str] = []
    major, minor, patch = rng.randint(0, 3), rng.randint(0, 9), 0
    for _ in range(rng.randint(20, 60)):
        step = rng.random()
        if step < 0.1:
            major, minor, patch = major + 1, 0, 0
        elif step < 0.35:
            minor, patch = minor + 1, 0
        else:
            patch += 1
        if style == "openssh":
            found.append(f"{major + 5}.{minor}p{1 + patch % 2}")
        elif style == "openssl":
            found.append(f"1.{major % 3}.{minor % 3}{chr(ord('a') + patch % 26)}")
        elif style == "pre" and rng.random() < 0.3:
            found += [f"{major}.{minor}.{patch}-rc1", f"{major}.{minor}.{patch}"]
        elif style == "hotfix" and rng.random() < 0.3:
            found += [f"{major}.{minor}.{patch}", f"{major}.{minor}.{patch}-h1"]
        else:
            found.append(f"{major}.{minor}.{patch}")
    return list(dict.fromkeys(found))


class Catalogue:
    """Products with their releases, and a Zipf-like popularity to pick them by."""

    def __init__(self, rng: random.Random, count: int) -> None:
        names = list(STYLES)
        self.products = []
        for i in range(count):
            style = rng.choices(names, list(STYLES.values()))[0]
            self.products.append((f"vendor{i // 3}", f"product_{i}", releases(rng, style)))
        weights = [1 / (rank + 1) ** ZIPF for rank in range(count)]
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> tuple[str, str, list[str]]:
        return rng.choices(self.products, cum_weights=self.cumulative)[0]


def cpe_match(rng: random.Random, product: tuple[str, str, list[str]]) -> dict[str, Any]:
    vendor, name, versions = product
    if rng.random() < 0.2:  # an exact version
        criteria = f"cpe:2.3:a:{vendor}:{name}:{rng.choice(versions)}:*:*:*:*:*:*:*"
        return {"vulnerable": True, "criteria": criteria, "matchCriteriaId": "x"}
    entry: dict[str, Any] = {
        "vulnerable": True,
        "criteria": f"cpe:2.3:a:{vendor}:{name}:*:*:*:*:*:*:*:*",
        "matchCriteriaId": "x",
    }
    fixed = rng.randint(1, len(versions) - 1)
    if rng.random() < 0.5:  # a branch: from some release up to the fix
        start = versions[max(0, fixed - rng.randint(1, 8))]
        entry["versionStartIncluding" if rng.random() < 0.85 else "versionStartExcluding"] = start
    if rng.random() < 0.75:
        entry["versionEndExcluding"] = versions[fixed]
    else:
        entry["versionEndIncluding"] = versions[fixed - 1]
    return entry


def cve(rng: random.Random, number: int, catalogue: Catalogue) -> dict[str, Any]:
    product = catalogue.pick(rng)
    count = rng.choices([1, 2, 3, 4], [50, 25, 15, 10])[0]
    nodes = [
        {
            "operator": "OR",
            "negate": False,
            "cpeMatch": [cpe_match(rng, product) for _ in range(count)],
        }
    ]
    configuration: dict[str, Any] = {"nodes": nodes}
    if rng.random() < 0.1:
        configuration["operator"] = "AND"
        platform = "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"
        nodes.append(
            {
                "operator": "OR",
                "negate": False,
                "cpeMatch": [{"vulnerable": False, "criteria": platform, "matchCriteriaId": "y"}],
            }
        )
    score = round(rng.uniform(2, 10), 1)
    return {
        "cve": {
            "id": f"CVE-{2000 + number % 26}-{100000 + number}",
            "published": "2024-01-01T00:00:00.000",
            "lastModified": "2026-11-01T00:00:00.000",
            "vulnStatus": "Analyzed",
            "descriptions": [
                {"lang": "en", "value": f"Synthetic weakness {number} in {product[1]}."}
            ],
            "metrics": {
                "cvssMetricV31": [
                    {
                        "source": "nvd@nist.gov",
                        "type": "Primary",
                        "cvssData": {"version": "3.1", "baseScore": score},
                    }
                ]
            },
            "configurations": [configuration],
        }
    }


def pages(seed: int, records: int, catalogue: Catalogue) -> Iterator[bytes]:
    rng = random.Random(seed)
    for start in range(0, records, PAGE):
        entries = [cve(rng, n, catalogue) for n in range(start, min(start + PAGE, records))]
        yield json.dumps(
            {
                "resultsPerPage": len(entries),
                "startIndex": start,
                "totalResults": records,
                "format": "NVD_CVE",
                "version": "2.0",
                "timestamp": "2026-11-28T00:00:00.000",
                "vulnerabilities": entries,
            }
        ).encode()


def exposures(seed: int, count: int, catalogue: Catalogue) -> list[ProductVersion]:
    """Exposures as scans report them: popular products more often, recent releases more often
    than old ones; half with nmap's CPE, half with names and a version with words after it."""
    rng = random.Random(seed + 1)
    found = []
    for _ in range(count):
        vendor, name, versions = catalogue.pick(rng)
        age = min(int(rng.expovariate(0.15)), len(versions) - 1)
        version = versions[len(versions) - 1 - age]
        if rng.random() < 0.5:
            found.append(ProductVersion(f"cpe:/a:{vendor}:{name}:{version}", None, None, None))
        else:
            found.append(ProductVersion(None, vendor, name, f"{version} (Debian)"))
    return found


def import_into(
    url: str, data_dir: Path, args: argparse.Namespace, catalogue: Catalogue
) -> dict[str, Any]:
    platform = platform_for(url, data_dir, migrate=True)
    try:
        total = LoadCounts("bench", "nvd")
        parse_seconds = store_seconds = 0.0
        for index, page in enumerate(pages(args.seed, args.records, catalogue)):
            began = time.perf_counter()
            parsed = parse_document(page, f"page-{index}.json")
            parse_seconds += time.perf_counter() - began
            began = time.perf_counter()
            with platform.session() as session:
                counts = store_document(session, parsed, now=NOW)
            store_seconds += time.perf_counter() - began
            total.created += counts.created
            total.problems += counts.problems
        seconds = parse_seconds + store_seconds
        rss_before = current_rss_mb()
        began = time.perf_counter()
        with platform.session() as session:
            matcher = load_vuln_matcher(session)
        load_seconds = time.perf_counter() - began
        loaded_rss = current_rss_mb() - rss_before
        return {
            "records": args.records,
            "created": total.created,
            "problems": len(total.problems),
            "parse_seconds": round(parse_seconds, 2),
            "store_seconds": round(store_seconds, 2),
            "records_per_second": round(args.records / seconds, 1),
            "matcher_load_seconds": round(load_seconds, 2),
            "matcher_rss_mb": round(loaded_rss, 1),
            "criteria": matcher.criteria_count,
        }
    finally:
        platform.engine.dispose()


def time_matching(
    matcher: VulnMatcher, items: list[ProductVersion], collector: bool
) -> dict[str, Any]:
    gc.collect()
    found = hit = 0
    if not collector:
        gc.disable()
    began, cpu = time.perf_counter(), time.process_time()
    for item in items:
        matches = matcher.match(item)
        found += len(matches)
        hit += bool(matches)
    cold, cold_cpu = time.perf_counter() - began, time.process_time() - cpu
    gc.enable()
    began = time.perf_counter()
    for item in items:
        matcher.match(item)
    warm = time.perf_counter() - began
    return {
        "exposures": len(items),
        "matches": found,
        "exposures_with_a_match": hit,
        "seconds": round(cold, 2),
        "cpu_seconds": round(cold_cpu, 2),  # on a busy machine, closer to what an idle one takes
        "seconds_again_cached": round(warm, 2),
        "target_seconds": TARGET_MATCH_SECONDS,
        "met": cold < TARGET_MATCH_SECONDS,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "collector_paused": not collector,
    }


def match_figures(args: argparse.Namespace, catalogue: Catalogue) -> dict[str, Any]:
    """Build the matcher from the generated pages (parsed one page at a time) and time
    matching every exposure; the process's peak memory is the matcher's and the match's."""
    began, cpu = time.perf_counter(), time.process_time()
    records = (
        r
        for page in pages(args.seed, args.records, catalogue)
        for r in parse_document(page, "p").cves
    )
    matcher = VulnMatcher(records)
    built, built_cpu = time.perf_counter() - began, time.process_time() - cpu
    items = exposures(args.seed, args.exposures, catalogue)
    # As a long-lived worker would after building its matcher: the collector no longer walks
    # the matcher's millions of objects on every full collection.
    gc.collect()
    gc.freeze()
    return {
        "matcher_build_seconds": round(built, 2),
        "matcher_build_cpu_seconds": round(built_cpu, 2),
        "matching": time_matching(matcher, items, args.collector),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--exposures", type=int, default=100_000)
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both", "none"], default="both"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--collector",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep Python's cyclic collector running while matching (--no-collector pauses "
        "it, as a batch job may: the matches made are millions of tracked objects)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    catalogue = Catalogue(rng, args.products)
    if args.child:  # the matching, alone in a process so that its peak memory is its own
        print(json.dumps(match_figures(args, catalogue), default=str))
        return
    figures: dict[str, Any] = {"machine": machine_state(sample_seconds=0.5), "import": {}}
    work = Path(tempfile.mkdtemp(prefix="vardeild-bench-exposure-"))
    if args.database in ("sqlite", "both"):
        result = import_into(sqlite_url(work / "vulndb.sqlite3"), work / "data", args, catalogue)
        figures["import"]["sqlite"] = result
        print(f"SQLite: {result}", file=sys.stderr)
    if args.database in ("postgresql", "both"):
        schema, url = new_postgres_schema(args.postgres_url, "bench_vulndb")
        try:
            result = import_into(url, work / "data", args, catalogue)
            figures["import"]["postgresql"] = result
            print(f"PostgreSQL: {result}", file=sys.stderr)
        finally:
            drop_postgres_schema(args.postgres_url, schema)
    gc.collect()
    child = [
        __file__,
        "--child",
        *(f"--{k}={getattr(args, k)}" for k in ("records", "products", "exposures", "seed")),
        "--collector" if args.collector else "--no-collector",
    ]
    figures.update(run_child(child))
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
        return
    for backend, result in figures["import"].items():
        print(
            f"import into {backend}: {result['records']:,} CVE records at "
            f"{result['records_per_second']:,.0f} records/s (parse {result['parse_seconds']} s, "
            f"store {result['store_seconds']} s); matcher loaded in "
            f"{result['matcher_load_seconds']} s ({result['criteria']:,} criteria)"
        )
    m = figures["matching"]
    print(
        f"matching: {m['exposures']:,} exposures against {args.records:,} CVE records in "
        f"{m['seconds']} s ({m['cpu_seconds']} s CPU; again, cached: "
        f"{m['seconds_again_cached']} s), {m['matches']:,} "
        f"matches on {m['exposures_with_a_match']:,} exposures; peak RSS {m['peak_rss_mb']} MB; "
        f"target < {TARGET_MATCH_SECONDS:g} s: {'met' if m['met'] else 'NOT met'}"
        f"{' (cyclic collector paused while matching)' if m['collector_paused'] else ''}; matcher "
        f"built from the parsed records in {figures['matcher_build_seconds']} s "
        f"({figures['matcher_build_cpu_seconds']} s CPU)"
    )


if __name__ == "__main__":
    main()
