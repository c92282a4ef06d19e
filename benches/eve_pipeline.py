"""Bench the whole EVE pipeline beside FEVER: file -> parse -> attribute -> match -> alerts ->
stored, in one process, on SQLite and PostgreSQL, and FEVER on the same file in the same run.

    .venv/bin/python benches/eve_pipeline.py [--lines 1000000] [--prefixes 50000]
        [--indicators 1000000] [--database sqlite|postgresql|both] [--postgres-url URL]
        [--skip-fever] [--fever-modes alerts,all] [--ip-blacklist] [--repeat 1]
        [--work /tmp/vardeild-bench] [--json]

The input is the FEVER anchor's (../shared/anchors/fever/gen_eve.py, which run.sh uses): EVE
lines of many event types (flow 38 %, dns 25 %, http 14 %, tls 12 %, alert 5 %, fileinfo 4 %,
anomaly 2 %, a stats record every 20,000 lines) and an IOC list of --indicators entries (55 %
domains, 45 % URLs) of which 0.5 % of the dns/http/tls/fileinfo lines name one. It is made once
in the work directory and reused while the sizes are the same, so that FEVER and Vardeild read
byte-identical input.

Vardeild's side, for each database and round, in fresh child processes:
- setup (not timed into the figure): a fresh database (SQLite file; PostgreSQL: a new schema),
  migrated; the member registry (--organisations organisations with --prefixes networks in all)
  imported through members.registry_io as `vardeild members import` does; the anchor's IOC
  list loaded through vardeild.intel's service as `vardeild intel load` does (the 15 % of URLs
  the list writes without a scheme, `host/path`, get the `http://` that FEVER's HTTP check
  implies, because Vardeild refuses a URL without one). With --ip-blacklist the anchor's
  ip_blacklist.txt is loaded too, and FEVER runs in its bloom+ipbl mode as well.
- ingest (timed): `build_pipeline` as the CLI builds it, one empty batch so that the
  attribution index and the matcher over all indicators are built (timed apart: "warm-up"),
  then `monitoring.files.ingest_eve_files` over eve.json with the CLI's batching (50,000 lines
  or one second per transaction), to the last commit. The CLI's pipeline writes behind: a
  writer thread commits batch N while the reading thread screens N+1 (one process; the
  reading thread's CPU is printed beside the process's, and a round whose CPU exceeds its wall
  time says so).

The registry: internal prefixes carve the generator's sensor-side address space 10.0.0.0/14
(the sector network's private address plan, as the health network hands it out to members):
78 % of its /24s are registered whole (30 % of those with a department's /26-/28 inside
belonging to another member), 12 % only in part (/25 halves), 10 % not at all (shared
infrastructure, new allocations not yet registered). That makes about 85 % of the events
touch a member, which is what a sensor on a sector network's edge sees: nearly every flow has
a sector host on one side, and the misses are the registry's gaps. The rest of the prefixes
are members' public IPv4 (RIPE space, /19-/29) and IPv6 (2a00::/12, /29-/64) networks, as a
registry holds them; a few of them contain external addresses the generator uses (traffic
between members). The measured share is printed.

FEVER's side: anchors/fever/fever_bench.py on the same eve.json and a Bloom filter of the same
IOC list (made as run.sh makes it), modes `alerts` (forward alerts and Bloom hits) and `all`
(forward every event). The semantics differ, and the ratios should be read with that in mind:
FEVER matches through a Bloom filter (false positives possible), forwards to a socket and
writes no database; Vardeild matches exactly, attributes both sides to members, folds alerts
and commits every batch to a database before reading on.

Target (issue 3): at least FEVER's `alerts` rate on the same input, in the same run, from one
core — about 150,000 events/s. The verdict compares medians over --repeat rounds.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import (
    add_common_arguments,
    backend_pid_tracker,
    bench_main,
    child_phase,
    current_rss_mb,
    database_round,
    databases_of,
    fever_version,
    import_registry,
    machine_state,
    median,
    peak_rss_mb,
    platform_for,
    prepare_fever_input,
    process_cpu_seconds,
    rate,
    ratio,
    run_fever,
    say,
    timed,
)

TARGET_EVENTS_PER_S = 150_000
DEFAULT_ORGANISATIONS = 2_000
HIT_RATE = 0.005  # the anchor's default share of dns/http/tls lines that name an IOC
BLOOM_FP = 0.0001  # the anchor's default Bloom false-positive target
# The generator's sensor-side hosts are 10.{0-3}.x.y: the sector network's private plan.
INTERNAL = ipaddress.ip_network("10.0.0.0/14")
WHOLE_24 = 0.78
PARTIAL_24 = 0.12  # then each /25 half registered with probability PARTIAL_HALF
PARTIAL_HALF = 0.6
DEPARTMENT = 0.30
PUBLIC_V4_SHARE = 0.6
PUBLIC_NESTED = 0.10
RIPE_FIRST_OCTETS = (77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 91, 92, 93, 94, 95,
                     109, 128, 129, 130, 141, 144, 145, 146, 151, 153, 158, 176, 178, 185, 188,
                     193, 194, 195, 212, 213, 217)  # fmt: skip
V4_LENGTHS = {19: 1, 20: 2, 21: 3, 22: 8, 23: 10, 24: 35, 25: 6, 26: 10, 27: 10, 28: 10, 29: 5}
V6_LENGTHS = {29: 3, 32: 15, 36: 3, 40: 6, 44: 8, 48: 40, 52: 4, 56: 12, 60: 3, 64: 6}
# Organisation kinds in the order ids are handed out: (sector, how many, criticality).
SECTORS = (
    ("health_region", 4, "critical"),
    ("hospital_trust", 20, "critical"),
    ("municipality", 356, "high"),
    ("laboratory", 60, "high"),
    ("vendor", 120, "medium"),
    ("pharmacy", 300, "medium"),
    ("dental", 300, "low"),
    ("other", 100, "medium"),
)  # the rest are GP clinics, criticality medium


# --- the registry ------------------------------------------------------------------------------


def _org_of(rng: random.Random, organisations: int) -> int:
    """Pick an owner: skewed, so that regions and trusts hold hundreds of prefixes and most
    clinics a few (org 0 about 2 %, the median organisation ~15)."""
    return int(organisations * rng.random() ** 2)


def make_networks(prefixes: int, organisations: int, seed: int) -> list[tuple[int, str, str]]:
    """Return `prefixes` distinct (organisation index, CIDR, exposure) triples: the carved
    sector-network plan first, public networks for the rest."""
    rng = random.Random(seed)
    out: list[tuple[int, str, str]] = []
    seen: set[str] = set()

    def add(org: int, cidr: str, exposure: str) -> None:
        if cidr not in seen and len(out) < prefixes:
            seen.add(cidr)
            out.append((org, cidr, exposure))

    for block in INTERNAL.subnets(new_prefix=24):
        draw = rng.random()
        org = _org_of(rng, organisations)
        if draw < WHOLE_24:
            add(org, str(block), "internal")
            if rng.random() < DEPARTMENT:
                length = rng.randint(26, 28)
                inner = rng.choice(list(block.subnets(new_prefix=length)))
                add(_org_of(rng, organisations), str(inner), "internal")
        elif draw < WHOLE_24 + PARTIAL_24:
            for half in block.subnets(new_prefix=25):
                if rng.random() < PARTIAL_HALF:
                    add(org, str(half), "internal")
    public: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    while len(out) < prefixes:
        org = _org_of(rng, organisations)
        network: ipaddress.IPv4Network | ipaddress.IPv6Network
        if public and rng.random() < PUBLIC_NESTED:
            outer = rng.choice(public)
            longest = 32 if outer.version == 4 else 64
            if outer.prefixlen >= longest:
                continue
            length = rng.randint(outer.prefixlen + 1, min(outer.prefixlen + 8, longest))
            step = outer.max_prefixlen - length
            offset = rng.getrandbits(length - outer.prefixlen) << step
            if outer.version == 4:
                network = ipaddress.IPv4Network((int(outer.network_address) | offset, length))
            else:
                network = ipaddress.IPv6Network((int(outer.network_address) | offset, length))
        elif rng.random() < PUBLIC_V4_SHARE:
            length = rng.choices(list(V4_LENGTHS), weights=list(V4_LENGTHS.values()))[0]
            address = rng.choice(RIPE_FIRST_OCTETS) << 24 | rng.getrandbits(24)
            network = ipaddress.IPv4Network((address >> (32 - length) << (32 - length), length))
        else:
            length = rng.choices(list(V6_LENGTHS), weights=list(V6_LENGTHS.values()))[0]
            address = 0x2A0 << 116 | rng.getrandbits(116)
            network = ipaddress.IPv6Network((address >> (128 - length) << (128 - length), length))
        before = len(out)
        add(org, str(network), "internet")
        if len(out) > before:
            public.append(network)
    return out


def make_registry(prefixes: int, organisations: int, seed: int) -> list[dict[str, Any]]:
    """Return the registry in its interchange form (docs/registry-format.md)."""
    from vardeild.core.identifiers import org_number_with_check_digit

    networks: dict[int, list[dict[str, str]]] = {}
    for org, cidr, exposure in make_networks(prefixes, organisations, seed):
        entry = {"cidr": cidr, "exposure": exposure}
        if exposure == "internal":
            entry["description"] = "Helsenett"
        networks.setdefault(org, []).append(entry)
    kinds = [(sector, criticality) for sector, n, criticality in SECTORS for _ in range(n)]
    records = []
    number = 910_000_00
    for i in range(organisations):
        org_number = None
        while org_number is None:
            org_number = org_number_with_check_digit(f"{number:08d}")
            number += 1
        sector, criticality = kinds[i] if i < len(kinds) else ("gp_clinic", "medium")
        records.append(
            {
                "name": f"Benchmedlem {i:05d}",
                "org_number": org_number,
                "sector": sector,
                "criticality": criticality,
                "membership": {"state": "active"},
                "services": ["monitoring"],
                "networks": networks.get(i, []),
                "domains": [f"medlem{i:05d}.example.no"],
                "contacts": [
                    {
                        "name": "Sikkerhetsvakt",
                        "email": f"soc@medlem{i:05d}.example.no",
                        "roles": ["security", "abuse"],
                    }
                ],
            }
        )
    return records


def vardeild_iocs(work: Path) -> Path:
    """Return the anchor's IOC list as `vardeild intel load` takes it: the same values, with
    `http://` before the URLs written without a scheme (`host/path`)."""
    target = work / "iocs.vardeild.txt"
    source = work / "iocs.txt"
    if target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    with source.open("rb") as read, target.open("wb") as write:
        for line in read:
            value = line.strip()
            if value and b"://" not in value and b"/" in value:
                value = b"http://" + value
            write.write(value + b"\n")
    return target


# --- children ----------------------------------------------------------------------------------


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Child: migrate a fresh database, import the registry, load the indicators."""
    from vardeild.access.model import Principal, Role
    from vardeild.intel import service as intel
    from vardeild.intel.loaders import LoadFormat

    work = Path(args.work_input)
    with timed() as migrate:
        platform = platform_for(args.url, Path(args.data_dir), migrate=True)
    records = make_registry(args.prefixes, args.organisations, args.seed)
    with timed() as registry:
        plan = import_registry(platform, records, source="bench-registry.json")
    admin = Principal(actor="bench@cert.test", role=Role.CERT_ADMIN)
    loads = []
    sources = [("fever-anchor-iocs", vardeild_iocs(work))]
    if args.ip_blacklist:
        sources.append(("fever-anchor-ipbl", work / "ip_blacklist.txt"))
    with timed() as indicators:
        for source, path in sources:
            with platform.session() as session:
                result = intel.load_indicators(
                    session,
                    admin,
                    path.read_bytes(),
                    clock=platform.clock,
                    fmt=LoadFormat.LIST,
                    source=source,
                    skip_invalid=True,
                )
            loads.append(
                {
                    "source": source,
                    "created": result.created,
                    "duplicates": result.duplicates,
                    "skipped": result.skipped,
                    "by_type": result.by_type,
                }
            )
    platform.engine.dispose()
    return {
        "migrate_s": round(migrate.wall, 2),
        "organisations": len(plan.created),
        "networks": sum(len(r["networks"]) for r in records),
        "registry_import_s": round(registry.wall, 2),
        "indicators": sum(load["created"] for load in loads),
        "indicator_loads": loads,
        "indicator_load_s": round(indicators.wall, 2),
    }


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """Child: time file -> pipeline -> stored events and alerts, as `vardeild ingest eve`."""
    from sqlalchemy import func, select

    from vardeild.app import build_pipeline
    from vardeild.monitoring.files import ingest_eve_files
    from vardeild.monitoring.ingest import Checkpoint, Feed, RawBatch
    from vardeild.monitoring.store import get_checkpoint
    from vardeild.monitoring.tables import AlertRow, EventRow, QuarantineRow

    eve = Path(args.work_input) / "eve.json"
    lines = sum(1 for _ in eve.open("rb"))
    platform = platform_for(args.url, Path(args.data_dir), migrate=False)
    backends = backend_pid_tracker(platform.engine)
    pipeline = build_pipeline(platform)

    def checkpoint_of(source: str) -> Checkpoint | None:
        with platform.session() as session:
            return get_checkpoint(session, source)

    # The first batch builds the attribution index and the matcher; time it apart.
    with timed() as warm:
        pipeline.ingest(RawBatch(source="bench:warm-up", feed=Feed.EVE, records=[]))
    rss_ready = current_rss_mb()
    server_before = sum(process_cpu_seconds(pid) or 0.0 for pid in backends)
    main_before = time.thread_time()
    with timed() as span:
        totals = ingest_eve_files(pipeline, [eve], checkpoint_of=checkpoint_of)
    # The reading thread's own CPU: the CLI's pipeline writes behind (a writer thread commits
    # batch N while this one reads and screens N+1), so process CPU can exceed wall time.
    main_cpu = time.thread_time() - main_before
    server_after = sum(process_cpu_seconds(pid) or 0.0 for pid in set(backends))
    peak = peak_rss_mb()
    with platform.session() as session:
        stored = session.scalar(select(func.count()).select_from(EventRow)) or 0
        alerts = session.scalar(select(func.count()).select_from(AlertRow)) or 0
        folded = session.scalar(select(func.coalesce(func.sum(AlertRow.count), 0))) or 0
        quarantined = session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
    platform.engine.dispose()
    events = totals.records - totals.sensor_stats - totals.quarantined
    server_cpu = server_after - server_before if backends else None
    return {
        "lines": lines,
        "records": totals.records,
        "batches": totals.batches,
        "wall_s": round(span.wall, 3),
        "cpu_s": round(span.cpu, 3),
        "reader_thread_cpu_s": round(main_cpu, 3),
        "more_than_one_core": span.cpu > span.wall,
        "db_server_cpu_s": None if server_cpu is None else round(server_cpu, 3),
        "events_per_s": rate(lines, span.wall),
        "events_per_cpu_s": rate(lines, span.cpu),
        "events_per_cpu_s_with_server": rate(lines, span.cpu + (server_cpu or 0.0)),
        "warmup_s": round(warm.wall, 3),
        "rss_ready_mb": rss_ready,
        "peak_rss_mb": peak,
        "events_stored": totals.events_stored,
        "events_unattributed": totals.events_unattributed,
        "events_unmatched_protocol": totals.events_unmatched_protocol,
        "events_suppressed": totals.events_suppressed,
        "events_duplicate": totals.events_duplicate,
        "quarantined": totals.quarantined,
        "sensor_stats": totals.sensor_stats,
        "alert_updates": totals.alerts_touched,
        "member_share": round(1 - totals.events_unattributed / events, 4) if events else 0.0,
        "rows": {
            "events": stored,
            "alerts": alerts,
            "events_folded_into_alerts": int(folded),
            "quarantine": quarantined,
        },
    }


# --- the run -----------------------------------------------------------------------------------


def vardeild_round(args: argparse.Namespace, database: str, round_no: int) -> dict[str, Any]:
    """Set up a fresh database, then time the pipeline on it in a new process."""

    def child(phase: str, url: str, data_dir: Path) -> dict[str, Any]:
        extra = ["--prefixes", str(args.prefixes), "--organisations", str(args.organisations)]
        extra += ["--seed", str(args.seed), *(["--ip-blacklist"] if args.ip_blacklist else [])]
        return child_phase(__file__, args, phase, url, data_dir, *extra)

    def prepared(setup: dict[str, Any]) -> None:
        say(
            f"round {round_no}: {database}: {setup['networks']:,} networks in "
            f"{setup['registry_import_s']} s, {setup['indicators']:,} indicators in "
            f"{setup['indicator_load_s']} s; ingesting"
        )

    say(f"round {round_no}: {database}: setting up (registry, indicators)")
    return database_round(
        args,
        database,
        round_no,
        name="vardeild",
        schema_prefix="bench_eve",
        child=child,
        on_setup=prepared,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every round and return the figures."""
    databases = databases_of(args)
    modes = [] if args.skip_fever else [m for m in args.fever_modes.split(",") if m]
    if args.ip_blacklist and "bloom+ipbl" not in modes and modes:
        modes.append("bloom+ipbl")
    args.input_dir = Path(args.work) / f"eve-{args.lines}lines-{args.indicators}iocs"
    machine = machine_state()
    say(f"input in {args.input_dir}")
    made = prepare_fever_input(
        args.input_dir,
        lines=args.lines,
        iocs=args.indicators,
        hit_rate=HIT_RATE,
        fp=BLOOM_FP,
        anchors=args.anchors,
    )
    rounds: list[dict[str, Any]] = []
    fever: list[dict[str, Any]] = []
    for round_no in range(1, args.repeat + 1):
        for mode in modes:
            say(f"round {round_no}: FEVER {mode}")
            result = run_fever(args.input_dir, mode, anchors=args.anchors, run=round_no)
            say(f"round {round_no}: FEVER {mode}: {result['events_per_s']:,.0f} events/s")
            fever.append({"mode": mode, "round": round_no, **result})
        for database in databases:
            rounds.append(vardeild_round(args, database, round_no))
    return summarise(args, machine, made, rounds, fever, databases, modes)


def summarise(
    args: argparse.Namespace,
    machine: dict[str, Any],
    made: dict[str, Any],
    rounds: list[dict[str, Any]],
    fever: list[dict[str, Any]],
    databases: Sequence[str],
    modes: Sequence[str],
) -> dict[str, Any]:
    """Return the figures with medians, ratios and the verdict."""
    fever_median = {
        mode: median([r["events_per_s"] for r in fever if r["mode"] == mode]) for mode in modes
    }
    fever_per_cpu = {
        mode: median(
            [rate(r["input_events"], r["fever_cpu_s"]) for r in fever if r["mode"] == mode]
        )
        for mode in modes
    }
    summary: dict[str, Any] = {}
    for database in databases:
        mine = [r for r in rounds if r["database"] == database]
        events_per_s = median([r["events_per_s"] for r in mine])
        summary[database] = {
            "events_per_s": events_per_s,
            "events_per_s_runs": [r["events_per_s"] for r in mine],
            "events_per_cpu_s": median([r["events_per_cpu_s"] for r in mine]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
            "ratio_to_fever": {mode: ratio(events_per_s, fever_median[mode]) for mode in modes},
            # Per CPU second: Vardeild's process (+ its PostgreSQL backend) against the fever
            # process (its Bloom filter, parsing and forwarding; not the anchor's driver).
            "ratio_to_fever_per_cpu_s": {
                mode: ratio(
                    median([r["events_per_cpu_s_with_server"] for r in mine]), fever_per_cpu[mode]
                )
                for mode in modes
            },
            "meets_fever_alerts": (
                events_per_s >= fever_median["alerts"] if "alerts" in fever_median else None
            ),
            "meets_150k": events_per_s >= TARGET_EVENTS_PER_S,
        }
    return {
        "machine": machine,
        "input": {
            "lines": args.lines,
            "indicators": args.indicators,
            "prefixes": args.prefixes,
            "organisations": args.organisations,
            "ip_blacklist": args.ip_blacklist,
            "dir": str(args.input_dir),
            **made,
        },
        "fever_version": fever_version() if modes else None,
        "fever": fever,
        "fever_events_per_s": fever_median,
        "fever_events_per_cpu_s": fever_per_cpu,
        "vardeild": rounds,
        "summary": summary,
        "target_events_per_s": TARGET_EVENTS_PER_S,
    }


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads, ending with the verdicts."""
    m, i = figures["machine"], figures["input"]
    out = [
        f"machine: {m['cpus']} CPUs ({m['cpu_model']}), load {m['loadavg']}, "
        f"{m['cpu_busy_before']:.0%} busy before the run, python {m['python']}, "
        f"commit {m['commit']}",
        f"input: {i['lines']:,} EVE lines ({i['eve_bytes'] / 1e6:,.0f} MB) in {i['dir']}, "
        f"{i['indicators']:,} IOCs, {i['prefixes']:,} member prefixes over "
        f"{i['organisations']:,} organisations ({'reused' if i['reused'] else 'generated'})",
    ]
    for r in figures["fever"]:
        out.append(
            f"FEVER {figures['fever_version']} {r['mode']:<10} round {r['round']}: "
            f"{r['events_per_s']:>10,.0f} events/s wall ({r['wall_s']:.2f} s; fever used "
            f"{r['fever_cpu_s']:.1f} s CPU, the anchor's driver and sink "
            f"{r['run_cpu_s'] - r['fever_cpu_s']:.1f} s), "
            f"{r.get('forwarded_lines', 0):,} forwarded, {r.get('bloom_alerts', 0):,} Bloom "
            f"alerts ({r.get('bloom_alerts_false_positive', 0):,} false positives)"
        )
    for r in figures["vardeild"]:
        server = (
            f" + {r['db_server_cpu_s']:.1f} s server CPU"
            if r["db_server_cpu_s"] is not None
            else ""
        )
        rows = r["rows"]
        out += [
            f"Vardeild {r['database']:<10} round {r['round']}: {r['events_per_s']:>10,.0f} "
            f"events/s wall ({r['wall_s']:.2f} s), {r['events_per_cpu_s']:,.0f} per CPU second "
            f"({r['cpu_s']:.1f} s CPU{server}; {r['reader_thread_cpu_s']:.1f} s of it on the "
            f"reading thread, the rest on the writer"
            f"{'; MORE THAN ONE CORE: CPU > wall' if r['more_than_one_core'] else ''}); "
            f"warm-up {r['warmup_s']:.1f} s; peak RSS "
            f"{r['peak_rss_mb']:,.0f} MB ({r['rss_ready_mb']:,.0f} MB before the first line)",
            f"    stored {r['events_stored']:,} events into {rows['alerts']:,} alerts; "
            f"{r['events_unattributed']:,} unattributed (counted), "
            f"{r['events_unmatched_protocol']:,} protocol records without a match (counted), "
            f"{r['quarantined']:,} quarantined, {r['sensor_stats']:,} stats; "
            f"{r['member_share']:.1%} of events touch a member",
            f"    setup (not timed): {r['networks']:,} networks of {r['organisations']:,} "
            f"organisations imported in {r['registry_import_s']:.1f} s, "
            f"{r['indicators']:,} indicators loaded in {r['indicator_load_s']:.1f} s",
        ]
    verdicts = []
    for database, s in figures["summary"].items():
        ratios = ", ".join(
            f"÷ FEVER {mode} {value:.2f}" for mode, value in s["ratio_to_fever"].items() if value
        )
        per_cpu = ", ".join(
            f"{mode} {value:.2f}" for mode, value in s["ratio_to_fever_per_cpu_s"].items() if value
        )
        if per_cpu:
            ratios += f" (per CPU second, against the fever process's: {per_cpu})"
        out.append(
            f"{database}: median {s['events_per_s']:,.0f} events/s over "
            f"{len(s['events_per_s_runs'])} round(s){'; ' + ratios if ratios else ''}"
        )
        fever_alerts = figures["fever_events_per_s"].get("alerts")
        if s["meets_fever_alerts"] is None:
            verdicts.append(
                f"{database} {'PASS' if s['meets_150k'] else 'FAIL'} against "
                f"{TARGET_EVENTS_PER_S:,}/s (FEVER not run)"
            )
        else:
            verdicts.append(
                f"{database} {'PASS' if s['meets_fever_alerts'] else 'FAIL'} "
                f"({s['events_per_s']:,.0f} {'>=' if s['meets_fever_alerts'] else '<'} FEVER "
                f"alerts {fever_alerts:,.0f}/s; {'>=' if s['meets_150k'] else '<'} "
                f"{TARGET_EVENTS_PER_S:,}/s)"
            )
    out.append("VERDICT: " + "; ".join(verdicts))
    return "\n".join(out)


def passed(figures: dict[str, Any]) -> bool:
    """Return True if every database met the target (FEVER alerts, else 150k/s)."""
    return all(
        s["meets_fever_alerts"] if s["meets_fever_alerts"] is not None else s["meets_150k"]
        for s in figures["summary"].values()
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--prefixes", type=int, default=50_000)
    parser.add_argument("--indicators", type=int, default=1_000_000, help="IOCs (both peers)")
    parser.add_argument("--organisations", type=int, default=DEFAULT_ORGANISATIONS)
    parser.add_argument("--skip-fever", action="store_true")
    parser.add_argument("--fever-modes", default="alerts,all", help="comma-separated")
    parser.add_argument(
        "--ip-blacklist",
        action="store_true",
        help="also load the anchor's ip_blacklist.txt and run FEVER's bloom+ipbl mode",
    )
    parser.add_argument("--seed", type=int, default=1)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its figures; return 0, or 1 if a target was missed."""
    args = parse_args(argv)
    return bench_main(args, setup=setup, ingest=ingest, run=run, report=report, passed=passed)


if __name__ == "__main__":
    sys.exit(main())
