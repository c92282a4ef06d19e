"""Bench the attribution index: build time, IP and domain lookups per second, memory.

    .venv/bin/python benches/attribution.py [--prefixes 100000] [--lookups 2000000] [--seed N]
                                            [--domains 20000] [--json]

Builds mixed IPv4/IPv6 prefixes shaped like a sector's registry (IPv4 mostly /16-/28, IPv6
/29-/64, a quarter nested inside another prefix, a few registered twice) over ~2,000
organisations, then times `owner_of_ip` on prepared strings, hits and misses of both families.
The target is the monitoring pipeline's: 1,000,000 IP lookups/s in one process.
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
import time
from collections.abc import Callable, Sequence
from typing import Any

from vardeild.members.attribution import AttributionIndex

TARGET_IP_LOOKUPS = 1_000_000
ORGS = 2_000
RUNS = 3
# Relative weights of prefix lengths: a few large blocks, most members a /16../28 or an LIR /32.
V4_LENGTHS = {8: 0.01, 10: 0.03, 12: 0.1, 14: 0.4, 16: 6, 17: 3, 18: 5, 19: 5, 20: 8, 21: 6,
              22: 10, 23: 8, 24: 18, 25: 5, 26: 6, 27: 5, 28: 5, 29: 3, 30: 2, 32: 4}  # fmt: skip
V6_LENGTHS = {29: 3, 32: 15, 36: 3, 40: 6, 44: 8, 48: 40, 52: 4, 56: 12, 60: 3, 64: 6}
V4_SHARE = 0.6
NESTED_SHARE = 0.25
DUPLICATE_SHARE = 0.002
TLDS = ("no", "com", "net", "org", "eu", "se", "dk")

Prefix = tuple[int, int, int]  # (version, network as int, prefix length)


def make_prefixes(count: int, rng: random.Random) -> list[tuple[str, int]]:
    """Return `count` distinct (CIDR, org id) pairs plus a few registered by a second org."""
    seen: set[Prefix] = set()
    made: dict[int, list[tuple[Prefix, int]]] = {4: [], 6: []}
    pairs: list[tuple[str, int]] = []
    while len(seen) < count:
        version = 4 if rng.random() < V4_SHARE else 6
        bits = 32 if version == 4 else 128
        siblings = made[version]
        org = rng.randint(1, ORGS)
        if siblings and rng.random() < NESTED_SHARE:
            # A customer or department block inside a member's range, half of them another org's.
            (_, parent, plen), parent_org = rng.choice(siblings)
            longest = 32 if version == 4 else 64
            if plen >= longest:
                continue
            length = rng.randint(plen + 1, min(plen + 12, longest))
            base = parent | rng.getrandbits(length - plen) << (bits - length)
            org = parent_org if rng.random() < 0.5 else org
        else:
            weights = V4_LENGTHS if version == 4 else V6_LENGTHS
            length = rng.choices(list(weights), weights=list(weights.values()))[0]
            base = _random_address(version, rng)
        network = base & ~((1 << (bits - length)) - 1)
        prefix = (version, network, length)
        if prefix in seen:
            continue
        seen.add(prefix)
        siblings.append((prefix, org))
        pairs.append((f"{_text(version, network)}/{length}", org))
    # The same prefix claimed by two organisations: the conflicts the index must report.
    pairs += [
        (text, org % ORGS + 1) for text, org in rng.sample(pairs, int(count * DUPLICATE_SHARE))
    ]
    return pairs


def make_ip_lookups(
    count: int, prefixes: Sequence[tuple[str, int]], rng: random.Random
) -> list[str]:
    """Return `count` address strings: half inside a registered prefix, half drawn at random."""
    by_version: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
    for text, _ in prefixes:
        written, _, written_length = text.partition("/")
        version = 6 if ":" in written else 4
        packed = socket.inet_pton(socket.AF_INET6 if version == 6 else socket.AF_INET, written)
        by_version[version].append((int.from_bytes(packed, "big"), int(written_length)))
    lookups = []
    for _ in range(count):
        version = 4 if rng.random() < V4_SHARE else 6
        bits = 32 if version == 4 else 128
        if rng.random() < 0.5:
            network, length = rng.choice(by_version[version])
            address = network | rng.getrandbits(bits - length)
        else:
            address = _random_address(version, rng)
        lookups.append(_text(version, address))
    return lookups


def make_domains(count: int, rng: random.Random) -> list[tuple[str, int]]:
    """Return `count` registered domains, a tenth of them subdomains of another registration."""
    domains = [(f"{_word(rng)}.{rng.choice(TLDS)}", rng.randint(1, ORGS)) for _ in range(count)]
    domains += [
        (f"{_word(rng)}.{d}", rng.randint(1, ORGS)) for d, _ in rng.sample(domains, count // 10)
    ]
    return domains


def make_domain_lookups(
    count: int, domains: Sequence[tuple[str, int]], rng: random.Random
) -> list[str]:
    """Return `count` names: half at or under a registered domain, half unrelated."""
    names = []
    for _ in range(count):
        if rng.random() < 0.5:
            base = rng.choice(domains)[0]
            names.append(".".join([*(_word(rng) for _ in range(rng.randint(0, 3))), base]))
        else:
            names.append(".".join([*(_word(rng) for _ in range(rng.randint(1, 3))), "no"]))
    return names


def _random_address(version: int, rng: random.Random) -> int:
    """Return a random unicast address: 1.0.0.0-223.255.255.255 or inside 2000::/3."""
    if version == 4:
        return rng.randint(0x01000000, 0xDFFFFFFF)
    return (1 << 125) | rng.getrandbits(125)


def _text(version: int, address: int) -> str:
    """Return the address as text the way a log or sensor writes it."""
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("!I", address))
    return socket.inet_ntop(socket.AF_INET6, address.to_bytes(16, "big"))


def _word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 12)))


def _current_rss() -> int:
    """Return the resident set size in bytes now (Linux), or 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _peak_rss() -> int:
    """Return the process's peak resident set size in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def rates(lookup: Callable[[str], Any], items: Sequence[str]) -> list[float]:
    """Return lookups per second for each of RUNS passes, called the way the pipeline does."""
    measured = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for item in items:
            lookup(item)
        measured.append(len(items) / (time.perf_counter() - start))
    return measured


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Return the figures of one bench run."""
    rng = random.Random(args.seed)
    networks = make_prefixes(args.prefixes, rng)
    domains = make_domains(args.domains, rng)
    asns = [(64_512 + i, i % ORGS + 1) for i in range(ORGS)]
    ips = make_ip_lookups(args.lookups, networks, rng)
    names = make_domain_lookups(min(args.lookups, 1_000_000), domains, rng)

    gc.collect()
    rss_before = _current_rss()
    start = time.perf_counter()
    index = AttributionIndex.build(networks, domains, asns)
    build_seconds = time.perf_counter() - start
    gc.collect()
    rss_added = _current_rss() - rss_before

    # A pipeline holds the bound lookup in a local, as here.
    owner_of_ip = index.owner_of_ip
    ip_rates = rates(owner_of_ip, ips)
    domain_rates = rates(index.owner_of_domain, names)
    ip_hits = sum(owner_of_ip(ip) is not None for ip in ips) / len(ips)
    domain_hits = sum(index.owner_of_domain(n) is not None for n in names) / len(names)
    counts = index.counts
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "seed": args.seed,
        "networks": counts.networks,
        "ipv4_networks": len({text for text, _ in networks if ":" not in text}),
        "domains": counts.domains,
        "asns": counts.asns,
        "conflicts": counts.conflicts,
        "build_seconds": round(build_seconds, 3),
        "ip_lookups": len(ips),
        "ip_hit_rate": round(ip_hits, 3),
        "ip_lookups_per_s_best": round(max(ip_rates)),
        "ip_lookups_per_s_median": round(statistics.median(ip_rates)),
        "domain_lookups": len(names),
        "domain_hit_rate": round(domain_hits, 3),
        "domain_lookups_per_s_best": round(max(domain_rates)),
        "domain_lookups_per_s_median": round(statistics.median(domain_rates)),
        "index_rss_added_mb": round(rss_added / 2**20, 1),
        "peak_rss_mb": round(_peak_rss() / 2**20, 1),
        "target_ip_lookups_per_s": TARGET_IP_LOOKUPS,
        "meets_target": statistics.median(ip_rates) >= TARGET_IP_LOOKUPS,
    }


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads, ending with the verdict."""
    f = figures
    verdict = "PASS" if f["meets_target"] else "FAIL"
    return "\n".join(
        [
            f"python {f['python']} on {f['machine']}, seed {f['seed']}",
            f"index: {f['networks']:,} networks ({f['ipv4_networks']:,} IPv4), "
            f"{f['domains']:,} domains, {f['asns']:,} ASNs, {f['conflicts']:,} with 2+ owners",
            f"build: {f['build_seconds']:.2f} s",
            f"IP lookups: {f['ip_lookups_per_s_best']:,}/s best, "
            f"{f['ip_lookups_per_s_median']:,}/s median of {RUNS} "
            f"({f['ip_lookups']:,} lookups, {f['ip_hit_rate']:.0%} hits)",
            f"domain lookups: {f['domain_lookups_per_s_best']:,}/s best, "
            f"{f['domain_lookups_per_s_median']:,}/s median "
            f"({f['domain_lookups']:,} lookups, {f['domain_hit_rate']:.0%} hits)",
            f"memory: index added {f['index_rss_added_mb']} MB RSS; "
            f"peak RSS {f['peak_rss_mb']} MB (includes the generated test data)",
            f"VERDICT: {verdict} — median {f['ip_lookups_per_s_median']:,} IP lookups/s "
            f"{'>=' if f['meets_target'] else '<'} target {TARGET_IP_LOOKUPS:,}/s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its figures; return 0, or 1 if the IP target was missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000_000)
    parser.add_argument("--domains", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
