"""Bench the indicator matcher: build time, memory, and events matched per second.

    .venv/bin/python benches/matcher.py [--indicators 1000000] [--events 1000000] [--seed N]
                                        [--hit-rate 0.005] [--database] [--json]

Builds 1,000,000 indicators of every matchable type in realistic shares (IPv4 addresses,
domains, URLs and hashes most; networks, IPv6, JA3/JA4, SNI, HTTP hosts a few) and 1,000,000
EVE-shaped events (alert, flow, dns, tls, http, fileinfo; a tenth over IPv6), of which 0.5 % carry
one observable that an indicator matches: an address inside a network, a subdomain of a listed
domain, a URL written with other case and its default port, a hash in upper case. Then times
`IndicatorMatcher.match` over all events the way the pipeline calls it.

The target: an event's observable that matches nothing costs well under 1 µs (here: at most
700 ns on average), so that matching fits the pipeline's ~150,000 events/s from one core.
"Set lookups/s" calibrates: it is measured in the same run, so runs on a busy machine can be
compared.
With --database the indicators are also loaded through `vardeild intel load`'s service into a
new SQLite database, and `load_matcher` is timed: how long a new indicator takes to be matched.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import socket
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.monitoring.model import Event, EventKind

TARGET_NS_PER_OBSERVABLE = 700  # "well under 1 µs": a 30 % margin
RUNS = 3
BATCH = 256  # events per pipeline batch slice timed at once
T = IndicatorType
SHARES = {
    T.IPV4: 0.30, T.IPV6: 0.04, T.CIDR: 0.04, T.DOMAIN: 0.25, T.URL: 0.15, T.MD5: 0.06,
    T.SHA1: 0.02, T.SHA256: 0.08, T.JA3: 0.02, T.JA3S: 0.01, T.JA4: 0.01, T.TLS_SNI: 0.01,
    T.HTTP_HOST: 0.01,
}  # fmt: skip
# Event shapes: (EVE event type, share, fields it fills besides the two addresses).
SHAPES = (
    ("alert", 0.30, ()),
    ("flow", 0.20, ()),
    ("dns", 0.20, ("dns_query",)),
    ("tls", 0.15, ("tls_sni", "tls_ja3", "tls_ja3s", "tls_ja4")),
    ("http", 0.10, ("http_host", "destination_url")),
    ("fileinfo", 0.05, ("http_host", "destination_url", "malware_hash_md5",
                        "malware_hash_sha1", "malware_hash_sha256")),
)  # fmt: skip
TLDS = ("no", "com", "net", "org", "ru", "io", "xyz", "top", "info", "eu")
OBSERVABLES = (
    "source_ip", "destination_ip", "source_fqdn", "destination_fqdn", "dns_query", "tls_sni",
    "http_host", "source_url", "destination_url", "malware_hash_md5", "malware_hash_sha1",
    "malware_hash_sha256", "tls_ja3", "tls_ja3s", "tls_ja4",
)  # fmt: skip
# Which indicator types can hit which event field, to plant the hits.
HITS_BY_FIELD = {
    "source_ip": (T.IPV4, T.CIDR),
    "destination_ip": (T.IPV4, T.IPV6, T.CIDR),
    "dns_query": (T.DOMAIN,),
    "tls_sni": (T.DOMAIN, T.TLS_SNI),
    "http_host": (T.DOMAIN, T.HTTP_HOST),
    "destination_url": (T.URL, T.DOMAIN),
    "malware_hash_md5": (T.MD5,),
    "malware_hash_sha1": (T.SHA1,),
    "malware_hash_sha256": (T.SHA256,),
    "tls_ja3": (T.JA3,),
    "tls_ja3s": (T.JA3S,),
    "tls_ja4": (T.JA4,),
}


class Generator:
    """Random indicator values and observables; indicators' addresses and names never collide
    with the misses (indicator IPv4 below 128.0.0.0, misses above; other words)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def word(self, low: int = 6, high: int = 12) -> str:
        return "".join(
            self.rng.choices("abcdefghijklmnopqrstuvwxyz", k=self.rng.randint(low, high))
        )

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def ipv4(self, *, listed: bool) -> str:
        low, high = (0x01000000, 0x7EFFFFFF) if listed else (0x80000000, 0xDFFFFFFF)
        return socket.inet_ntop(socket.AF_INET, struct.pack("!I", self.rng.randint(low, high)))

    def ipv6(self, *, listed: bool) -> str:
        top = 0x24 if listed else 0x2A
        value = (top << 120) | self.rng.getrandbits(120)
        return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))

    def cidr(self) -> str:
        if self.rng.random() < 0.8:
            length = self.rng.choice((16, 18, 20, 22, 24, 24, 24, 26, 28, 29, 30))
            base = self.rng.randint(0x01000000, 0x7EFFFFFF) & ~((1 << (32 - length)) - 1)
            return f"{socket.inet_ntop(socket.AF_INET, struct.pack('!I', base))}/{length}"
        length = self.rng.choice((32, 48, 56, 64))
        base = ((0x24 << 120) | self.rng.getrandbits(120)) & ~((1 << (128 - length)) - 1)
        return f"{socket.inet_ntop(socket.AF_INET6, base.to_bytes(16, 'big'))}/{length}"

    def domain(self) -> str:
        labels = [self.word() for _ in range(self.rng.choice((1, 1, 1, 2)))]
        return ".".join([*labels, self.rng.choice(TLDS)])

    def url(self) -> str:
        scheme = self.rng.choice(("http", "https"))
        path = "/".join(self.word(3, 10) for _ in range(self.rng.randint(1, 3)))
        query = f"?id={self.hex(8)}" if self.rng.random() < 0.3 else ""
        return f"{scheme}://{self.domain()}/{path}{query}"

    def ja4(self) -> str:
        return f"t13d{self.rng.randint(1000, 9999)}h2_{self.hex(12)}_{self.hex(12)}"

    def value(self, kind: IndicatorType) -> str:
        makers = {
            T.IPV4: lambda: self.ipv4(listed=True),
            T.IPV6: lambda: self.ipv6(listed=True),
            T.CIDR: self.cidr,
            T.DOMAIN: self.domain,
            T.URL: self.url,
            T.MD5: lambda: self.hex(32),
            T.SHA1: lambda: self.hex(40),
            T.SHA256: lambda: self.hex(64),
            T.JA3: lambda: self.hex(32),
            T.JA3S: lambda: self.hex(32),
            T.JA4: self.ja4,
            T.TLS_SNI: self.domain,
            T.HTTP_HOST: self.domain,
        }
        return makers[kind]()

    def miss(self, field: str, v6: bool) -> str:
        """Return an observable for the field that no indicator matches."""
        if field.endswith("_ip"):
            return self.ipv6(listed=False) if v6 else self.ipv4(listed=False)
        if field in ("dns_query", "tls_sni", "http_host"):
            return f"{self.word(3, 8)}.{self.word(13, 16)}.{self.rng.choice(TLDS)}"
        if field.endswith("_url"):
            return f"https://www.{self.word(13, 16)}.no/{self.word(3, 10)}/{self.word(3, 10)}"
        digits = {"malware_hash_md5": 32, "malware_hash_sha1": 40, "malware_hash_sha256": 64}
        if field in digits:
            return self.hex(digits[field])
        return self.ja4() if field == "tls_ja4" else self.hex(32)

    def hit(self, kind: IndicatorType, value: str) -> str:
        """Return an observable an indicator of that kind and value matches, written the way a
        sensor may write it rather than canonically."""
        if kind is T.CIDR:
            network, _, length = value.partition("/")
            bits = 128 if ":" in network else 32
            family = socket.AF_INET6 if bits == 128 else socket.AF_INET
            base = int.from_bytes(socket.inet_pton(family, network), "big")
            address = base | self.rng.getrandbits(bits - int(length))
            return socket.inet_ntop(family, address.to_bytes(bits // 8, "big"))
        if kind is T.IPV6:
            packed = socket.inet_pton(socket.AF_INET6, value)
            return ":".join(packed[i : i + 2].hex() for i in range(0, 16, 2))  # uncompressed
        if kind is T.DOMAIN:
            return f"{self.word(2, 5)}.{value}".upper() if self.rng.random() < 0.5 else value
        if kind is T.URL:
            scheme, _, rest = value.partition("://")
            host, _, path = rest.partition("/")
            port = ":443" if scheme == "https" else ":80"
            return f"{scheme.upper()}://{host.upper()}{port}/{path}#frag"
        if kind in (T.MD5, T.SHA1, T.SHA256):
            return value.upper()
        return value


def make_indicators(count: int, gen: Generator) -> list[tuple[int, IndicatorType, str]]:
    """Return `count` distinct indicators with the types in SHARES."""
    kinds = list(SHARES)
    weights = list(SHARES.values())
    seen: set[tuple[IndicatorType, str]] = set()
    entries = []
    while len(entries) < count:
        kind = gen.rng.choices(kinds, weights)[0]
        value = gen.value(kind)
        if (kind, value) in seen:
            continue
        seen.add((kind, value))
        entries.append((len(entries) + 1, kind, value))
    return entries


def make_events(
    count: int,
    entries: Sequence[tuple[int, IndicatorType, str]],
    gen: Generator,
    hit_rate: float,
) -> list[Event]:
    """Return `count` events; a `hit_rate` share carries one observable an indicator matches."""
    rng = gen.rng
    by_kind: dict[IndicatorType, list[str]] = {}
    for _, kind, value in entries:
        by_kind.setdefault(kind, []).append(value)
    shapes = list(SHAPES)
    weights = [share for _, share, _ in SHAPES]
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    events = []
    for _ in range(count):
        name, _, fields = rng.choices(shapes, weights)[0]
        v6 = rng.random() < 0.1
        values = {field: gen.miss(field, v6) for field in ("source_ip", "destination_ip", *fields)}
        if name == "tls":
            values["destination_fqdn"] = values["tls_sni"]
        if "http_host" in values:  # a sensor's URL is made of the Host header and the path
            values["destination_url"] = f"http://{values['http_host']}/{gen.word(3, 10)}"
        if rng.random() < hit_rate:
            candidates = [
                (field, kind)
                for field in values
                for kind in HITS_BY_FIELD.get(field, ())
                if by_kind.get(kind) and not (kind is T.IPV6 and not v6)
            ]
            field, kind = rng.choice(candidates)
            observable = gen.hit(kind, rng.choice(by_kind[kind]))
            if field.endswith("_ip") and (":" in observable) != v6:
                field = "destination_ip"
                values["source_ip"] = gen.miss("source_ip", ":" in observable)
            values[field] = observable
        events.append(
            Event(
                kind=EventKind.PROTOCOL if name != "alert" else EventKind.ALERT,
                time_observation=now,
                feed_name="suricata",
                feed_code=name,
                classification_taxonomy="other",
                classification_type="other",
                **values,
            )
        )
    return events


def _current_rss() -> int:
    """Return the resident set size in bytes now (Linux), or 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def time_matching(matcher: IndicatorMatcher, events: Sequence[Event]) -> list[float]:
    """Return events per CPU second for each of RUNS passes, called the way the pipeline does:
    on a batch of events just decoded (so in the CPU's cache), one event after another. CPU
    time, not wall time, so that other work on a shared machine counts less."""
    match = matcher.match
    touch = msgspec.structs.astuple  # reads every field, as decoding just wrote them
    rates = []
    for _ in range(RUNS):
        elapsed = 0.0
        for start in range(0, len(events), BATCH):
            batch = events[start : start + BATCH]
            for event in batch:
                touch(event)
            began = time.process_time()
            for event in batch:
                match(event)
            elapsed += time.process_time() - began
        rates.append(len(events) / elapsed)
    return rates


def calibrate(rng: random.Random) -> float:
    """Return Python set lookups per second (1,000,000 members, random misses) on this machine
    now, best of RUNS: a yardstick for how busy the machine was during the run."""
    members = {f"{rng.getrandbits(64):016x}" for _ in range(1_000_000)}
    probes = [f"{rng.getrandbits(64):016x}" for _ in range(1_000_000)]
    best = 0.0
    for _ in range(RUNS):
        began = time.process_time()
        for probe in probes:
            probe in members  # noqa: B015
        best = max(best, len(probes) / (time.process_time() - began))
    return best


def time_database(entries: Sequence[tuple[int, IndicatorType, str]]) -> dict[str, Any]:
    """Return how long loading the indicators as CSV through the service into a new SQLite
    database takes, reloading it unchanged, and building a matcher from the database."""
    from sqlalchemy.orm import sessionmaker

    from vardeild.access.model import Principal, Role
    from vardeild.core.clock import SystemClock
    from vardeild.db.engine import create_db_engine
    from vardeild.db.migrate import upgrade
    from vardeild.intel.matcher_source import load_matcher
    from vardeild.intel.service import load_indicators

    principal = Principal(actor="bench", role=Role.CERT_ADMIN)
    lines = ["value,type", *(f"{value},{kind.value}" for _, kind, value in entries)]
    data = "\n".join(lines).encode()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        engine = create_db_engine(f"sqlite:///{directory}/bench.sqlite3")
        upgrade(engine)
        sessions = sessionmaker(engine)
        for name in ("load_seconds", "reload_seconds"):
            began = time.perf_counter()
            with sessions() as session, session.begin():
                load_indicators(
                    session, principal, data, clock=SystemClock(), fmt="csv", source="bench"
                )
            figures[name] = round(time.perf_counter() - began, 1)
        began = time.perf_counter()
        with sessions() as session:
            matcher = load_matcher(session)
        figures["load_matcher_seconds"] = round(time.perf_counter() - began, 1)
        figures["load_per_s"] = round(len(entries) / figures["load_seconds"])
        assert len(matcher) == len(entries)
        engine.dispose()
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Return the figures of one bench run."""
    gen = Generator(random.Random(args.seed))
    entries = make_indicators(args.indicators, gen)
    events = make_events(args.events, entries, gen, args.hit_rate)
    observables = sum(getattr(e, f) is not None for e in events for f in OBSERVABLES)

    gc.collect()
    rss_before = _current_rss()
    start = time.process_time()
    matcher = IndicatorMatcher.build(entries)
    build_seconds = time.process_time() - start
    gc.collect()
    rss_added = _current_rss() - rss_before
    # A long-lived pipeline freezes what it keeps (../shared/LIMITS.md), so the collector does
    # not walk the matcher's million tuples.
    gc.freeze()

    rates = time_matching(matcher, events)
    cold_start = time.process_time()
    for event in events:
        matcher.match(event)
    cold_rate = len(events) / (time.process_time() - cold_start)
    hits = sum(bool(matcher.match(e)) for e in events)
    median = statistics.median(rates)
    ns_per_observable = 1e9 / median / (observables / len(events))
    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "seed": args.seed,
        "indicators": len(entries),
        "distinct_by_type": matcher.counts,
        "build_seconds": round(build_seconds, 2),
        "matcher_rss_added_mb": round(rss_added / 2**20, 1),
        "events": len(events),
        "observables_per_event": round(observables / len(events), 2),
        "hit_rate": round(hits / len(events), 4),
        "events_per_s_best": round(max(rates)),
        "events_per_s_median": round(median),
        "ns_per_event": round(1e9 / median),
        "ns_per_observable": round(ns_per_observable),
        "events_per_s_cold": round(cold_rate),
        "set_lookups_per_s": round(calibrate(gen.rng)),
        "peak_rss_mb": round(_peak_rss() / 2**20, 1),
        "target_ns_per_observable": TARGET_NS_PER_OBSERVABLE,
        "meets_target": ns_per_observable <= TARGET_NS_PER_OBSERVABLE,
    }
    if args.database:
        figures.update(time_database(entries))
    return figures


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads, ending with the verdict."""
    f = figures
    verdict = "PASS" if f["meets_target"] else "FAIL"
    lines = [
        f"python {f['python']} on {f['machine']}, seed {f['seed']}",
        f"indicators: {f['indicators']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in f['distinct_by_type'].items())})",
        f"build: {f['build_seconds']:.2f} CPU s; matcher added {f['matcher_rss_added_mb']} MB RSS; "
        f"peak RSS {f['peak_rss_mb']} MB (includes the generated data)",
        f"match: {f['events_per_s_median']:,} events per CPU second, median of {RUNS} "
        f"(best {f['events_per_s_best']:,}); {f['events']:,} events, "
        f"{f['observables_per_event']} observables each, {f['hit_rate']:.2%} matched",
        f"cost: {f['ns_per_event']:,} ns per event, {f['ns_per_observable']} ns per observable "
        f"(events not in the CPU cache, one pass over all: {f['events_per_s_cold']:,}/CPU s)",
        f"machine now: {f['set_lookups_per_s']:,} Python set lookups per CPU second "
        "(1M members, misses)",
    ]
    if "load_seconds" in f:
        lines.append(
            f"database (SQLite, wall time): load {f['indicators']:,} indicators "
            f"{f['load_seconds']:.1f} s "
            f"({f['load_per_s']:,}/s); reload unchanged {f['reload_seconds']:.1f} s; "
            f"load_matcher {f['load_matcher_seconds']:.1f} s"
        )
    lines.append(
        f"VERDICT: {verdict} — {f['ns_per_observable']} ns per observable "
        f"{'<=' if f['meets_target'] else '>'} target {TARGET_NS_PER_OBSERVABLE} ns"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its figures; return 0, or 1 if the target was missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--hit-rate", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database", action="store_true", help="also time loading into SQLite and load_matcher"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
