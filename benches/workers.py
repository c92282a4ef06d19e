"""Bench the scale-out path: events per second with one `vardeild worker`, then with two
(separate processes), draining the same JetStream stream into a fresh PostgreSQL database.

    VARDEILD_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/vardeild_test \\
        .venv/bin/python benches/workers.py [--events 200000] [--lines-per-message 100]
                                            [--mix realistic|alerts] [--runs 3]
                                            [--concurrency 1] [--batch 10]

For each worker count it makes a new PostgreSQL schema (migrated, 200 member organisations
with a /24 each) and a new stream, publishes the whole input first, then starts the workers
and times the drain: from the first acknowledged batch to an empty queue. Runs come in pairs,
one worker then two, and each pair gives a ratio; it prints events/s, each worker's peak
memory, how busy the workers, PostgreSQL and NATS kept the cores, the workers' CPU time per
1,000 events, how long the workers sat runnable waiting for a core (load from elsewhere on a
shared machine shows there), then the medians and the median ratio (target: at least 1.7). It
also samples what the workers' PostgreSQL backends are doing during the drain
(pg_stat_activity, every 50 ms): running a statement, waiting for a row lock (and in which
statement), for the commit's WAL flush, or idle while the worker's Python
works — the shares say whether a worker waits for the database, and where two workers collide.

PostgreSQL, not SQLite: SQLite takes one writer at a time, so a second worker there only
waits for the first. The input is Suricata-shaped EVE generated in memory: by default a
sensor's day (flow 38 %, dns 25 %, http 14 %, tls 12 %, alert 5 %, fileinfo 4 %, anomaly 2 %),
most of it to or from member networks; `--mix alerts` sends alerts only, every one stored.
Everything — NATS, PostgreSQL, the publisher and the workers — shares this machine's cores;
`os.cpu_count()` is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from vardeild.access.model import Principal, Role
from vardeild.app import build_platform
from vardeild.bus.codec import encode_batch, split_records
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.transport import OutMessage
from vardeild.core.identifiers import org_number_with_check_digit
from vardeild.db.engine import create_db_engine
from vardeild.members import service as members
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.tables import EventRow, QuarantineRow
from vardeild.settings import Settings

TARGET_RATIO = 1.7
MEMBERS = 200
ADMIN = Principal(actor="bench@cert.test", role=Role.CERT_ADMIN)
MIX = {"flow": 38, "dns": 25, "http": 14, "tls": 12, "alert": 5, "fileinfo": 4, "anomaly": 2}
SIGNATURES = [
    (2027865, "ET INFO Observed DNS Query to .cloud TLD", 2),
    (2013028, "ET POLICY curl User-Agent Outbound", 2),
    (2030358, "ET EXPLOIT Citrix ADC Arbitrary Code Execution Attempt", 1),
    (2019401, "ET SCAN Suspicious inbound to MSSQL port 1433", 2),
    (2035595, "ET MALWARE Cobalt Strike Beacon Observed", 1),
    (2210045, "SURICATA STREAM Packet with invalid ack", 3),
]
WORDS = [
    "alpha",
    "cloud",
    "data",
    "secure",
    "mail",
    "login",
    "update",
    "cdn",
    "api",
    "portal",
    "helse",
    "sykehus",
    "nav",
]
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


# --- input -----------------------------------------------------------------------------------


def member_networks() -> list[str]:
    """Return one /24 per member organisation."""
    return [f"10.{60 + n // 200}.{n % 200}.0/24" for n in range(MEMBERS)]


def generate(count: int, mix: str, seed: int) -> list[bytes]:
    """Return count EVE lines of the given mix, deterministic for seed."""
    rng = random.Random(seed)
    networks = member_networks()
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
    lines = []
    for n in range(count):
        kind = "alert" if mix == "alerts" else rng.choice(kinds)
        member_host = rng.choice(networks).replace("0/24", str(rng.randrange(1, 255)))
        outside = (
            ".".join(
                str(octet)
                for octet in (
                    rng.choice((77, 93, 185, 195)),
                    rng.randrange(256),
                    rng.randrange(256),
                )
            )
            + f".{rng.randrange(1, 255)}"
        )
        inbound = rng.random() < 0.5
        record: dict[str, Any] = {
            "timestamp": (T0 + timedelta(microseconds=n * 700)).strftime(
                "%Y-%m-%dT%H:%M:%S.%f+0000"
            ),
            "flow_id": 10**12 + n,
            "in_iface": "ens1f0",
            "event_type": kind,
            "src_ip": outside if inbound else member_host,
            "src_port": rng.randrange(1024, 65535),
            "dest_ip": member_host if inbound else outside,
            "dest_port": rng.choice((22, 80, 443, 1433, 3389)),
            "proto": "TCP",
            "community_id": f"1:{rng.getrandbits(112):028x}=",
        }
        record.update(_section(kind, rng, n))
        lines.append(json.dumps(record, separators=(",", ":")).encode())
    return lines


def _section(kind: str, rng: random.Random, n: int) -> dict[str, Any]:
    host = f"{rng.choice(WORDS)}{rng.randrange(1000)}.example.{rng.choice(('no', 'com', 'io'))}"
    if kind == "alert":
        sid, signature, severity = rng.choice(SIGNATURES)
        return {
            "alert": {
                "action": "allowed",
                "gid": 1,
                "signature_id": sid,
                "rev": 3,
                "signature": signature,
                "category": "Potentially Bad Traffic",
                "severity": severity,
                "metadata": {"created_at": ["2024_01_01"], "signature_severity": ["Major"]},
            },
            "app_proto": "http",
            "http": {"hostname": host, "url": "/login", "http_method": "POST", "status": 200},
        }
    if kind == "anomaly":
        return {"anomaly": {"type": "stream", "event": "stream.pkt_invalid_timestamp"}}
    if kind == "flow":
        packets = rng.randrange(1, 300)
        return {
            "app_proto": rng.choice(("tls", "http", "ssh", "failed")),
            "flow": {
                "pkts_toserver": packets,
                "pkts_toclient": packets // 2,
                "bytes_toserver": packets * 400,
                "bytes_toclient": packets * 700,
                "start": T0.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
                "end": T0.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
                "age": rng.randrange(120),
                "state": "closed",
                "reason": "timeout",
                "alerted": False,
            },
        }
    if kind == "dns":
        return {
            "proto": "UDP",
            "dest_port": 53,
            "dns": {"type": "query", "id": n % 65536, "rrname": host, "rrtype": "A", "tx_id": 0},
        }
    if kind == "http":
        return {
            "app_proto": "http",
            "http": {
                "hostname": host,
                "url": f"/{rng.choice(WORDS)}/{n}",
                "http_user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0",
                "http_method": "GET",
                "protocol": "HTTP/1.1",
                "status": 200,
                "length": rng.randrange(100, 90000),
            },
        }
    if kind == "tls":
        return {
            "app_proto": "tls",
            "tls": {
                "sni": host,
                "version": "TLS 1.3",
                "ja3": {"hash": f"{rng.getrandbits(128):032x}"},
                "ja4": f"t13d1516h2_8daaf6152771_{rng.getrandbits(48):012x}",
            },
        }
    return {  # fileinfo
        "app_proto": "http",
        "fileinfo": {
            "filename": f"/{rng.choice(WORDS)}.exe",
            "sha256": f"{rng.getrandbits(256):064x}",
            "size": rng.randrange(1000, 10**6),
            "state": "CLOSED",
            "stored": False,
        },
    }


def pack(lines: list[bytes], config: NatsConfig, per_message: int) -> list[OutMessage]:
    """Return the messages a shipper would publish for lines (one sensor)."""
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    records = [RawRecord(p, line) for p, line in zip(offsets, lines, strict=True)]
    messages = []
    for group in split_records(records, max_records=per_message):
        batch = RawBatch(source="bench:eve", feed=Feed.EVE, records=group, sensor="bench-s1")
        msg_id = f"bench-s1:gen:{group[0].position}-{group[-1].position}"
        messages.append(OutMessage(config.subject_for("bench-s1"), msg_id, encode_batch(batch)))
    return messages


# --- one run ---------------------------------------------------------------------------------


@dataclass
class Result:
    """One drain: how many workers, events, seconds, and their peak memory."""

    workers: int
    events: int
    seconds: float
    stored: int
    quarantined: int
    peak_rss_mb: list[float]
    cpu_seconds: dict[str, float]  # during the drain: workers, postgres, nats-server
    backends: Counter[str] = field(default_factory=Counter)  # what worker backends did

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds


def run_once(args: argparse.Namespace, workers: int, lines: list[bytes]) -> Result:
    """Drain lines through `workers` worker processes into a fresh schema; return the result."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in args.database_url else "?"
    url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
    worker_url = f"{url}&application_name={schema}"
    token = uuid.uuid4().hex[:10]
    config = NatsConfig(
        url=args.nats_url,
        stream=f"VBENCH_{token}",
        subject=f"vbench.{token}.eve",
        consumer="workers",
        dead_letter_subject=f"vbench.{token}.dead",
        max_bytes=4 * 1024**3,
    )
    data_dir = Path(tempfile.mkdtemp(prefix="vardeild-bench-"))
    try:
        platform = build_platform(Settings(database_url=url, data_dir=data_dir), migrate=True)
        _register_members(platform)
        messages = pack(lines, config, args.lines_per_message)
        asyncio.run(_publish(config, messages))
        env = {k: v for k, v in os.environ.items() if not k.startswith("VARDEILD_")}
        env.update(
            VARDEILD_DATABASE_URL=worker_url,
            VARDEILD_DATA_DIR=str(data_dir),
            VARDEILD_NATS_URL=config.url,
            VARDEILD_NATS_STREAM=config.stream,
            VARDEILD_NATS_SUBJECT=config.subject,
            VARDEILD_NATS_CONSUMER=config.consumer,
            VARDEILD_NATS_DEAD_LETTER_SUBJECT=config.dead_letter_subject,
            VARDEILD_NATS_STREAM_MAX_BYTES=str(config.max_bytes),
        )
        children = [
            subprocess.Popen(  # noqa: S603 - our own interpreter, module and an int
                [
                    sys.executable,
                    "-m",
                    "vardeild.cli.main",
                    "worker",
                    "--report-every",
                    "3600",
                    "--concurrency",
                    str(args.concurrency),
                    "--batch",
                    str(args.batch),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        backends: Counter[str] = Counter()
        backend_pids: set[int] = set()
        try:
            with admin.connect() as watch:
                seconds, peaks, cpu = asyncio.run(
                    _time_drain(
                        config,
                        len(messages),
                        children,
                        lambda: _sample(watch, schema, backends, backend_pids),
                        backend_pids,
                    )
                )
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(60)
        with platform.session() as session:
            stored = session.scalar(select(func.count()).select_from(EventRow)) or 0
            quarantined = session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
        platform.engine.dispose()
        return Result(workers, len(lines), seconds, stored, quarantined, peaks, cpu, backends)
    finally:
        asyncio.run(_delete_streams(config))
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _register_members(platform: Any) -> None:
    with platform.session() as session:
        for n, network in enumerate(member_networks()):
            number = None
            base = 920_000_00 + n * 13
            while number is None:
                number = org_number_with_check_digit(f"{base:08d}")
                base += 1
            members.create_organisation(
                session,
                ADMIN,
                {
                    "name": f"Benchmedlem {n}",
                    "org_number": number,
                    "sector": "hospital_trust",
                    "criticality": "high",
                    "networks": [network],
                },
                clock=platform.clock,
                key_inspector=platform.key_inspector,
            )


async def _publish(config: NatsConfig, messages: list[OutMessage]) -> None:
    transport = await NatsTransport.connect(config)
    try:
        await transport.ensure_stream()
        for start in range(0, len(messages), 500):
            await transport.publish(messages[start : start + 500], timeout=30)
    finally:
        await transport.close()


def _sample(connection: Any, application: str, into: Counter[str], pids: set[int]) -> None:
    """Count what each worker backend is doing now (one sample each); note their pids."""
    rows = connection.execute(
        text(
            "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity "
            "WHERE application_name = :app"
        ),
        {"app": application},
    ).all()
    connection.rollback()
    for pid, state, wait_type, wait_event, query in rows:
        pids.add(pid)
        statement = " ".join((query or "").split())[:48]
        if state == "idle":
            into["idle between transactions (worker busy or waiting for NATS)"] += 1
        elif state and state.startswith("idle in transaction"):
            into["idle in transaction (worker's Python busy)"] += 1
        elif wait_type == "Lock":
            into[f"waiting for a {wait_event} lock in: {statement}"] += 1
        elif wait_type in ("IO", "LWLock") and wait_event and wait_event.startswith("WAL"):
            into[f"flushing the WAL ({wait_event}; commits): {statement}"] += 1
        elif wait_type is None:
            into[f"running: {statement}"] += 1
        else:
            into[f"waiting ({wait_type} {wait_event}): {statement}"] += 1


async def _time_drain(
    config: NatsConfig,
    total: int,
    children: list[subprocess.Popen[bytes]],
    sample: Any = None,
    backend_pids: set[int] | None = None,
) -> tuple[float, list[float], dict[str, float]]:
    """Return the seconds from the first acknowledged batch to an empty queue, each worker's
    peak memory, and the CPU seconds used meanwhile."""
    transport = await NatsTransport.connect(config)
    try:
        started: float | None = None
        waited = 0.0
        before: dict[int, tuple[str, float]] = {}
        peaks = [0.0] * len(children)
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            state = await transport.queue_state()
            now = time.monotonic()
            for index, child in enumerate(children):
                if child.poll() is not None:
                    raise RuntimeError(f"a worker exited early with {child.returncode}")
                peaks[index] = max(peaks[index], _peak_rss_mb(child.pid))
            if started is None and state.messages < total:
                started, before = now, _cpu_snapshot()
                waited = _runqueue_wait(children)
            if started is not None and sample is not None:
                sample()
            if state.messages == 0 and state.ack_pending == 0:
                assert started is not None
                used = _cpu_used(before, _cpu_snapshot(), children, backend_pids or set())
                used["workers waiting for a core"] = _runqueue_wait(children) - waited
                return now - started, peaks, used
            await asyncio.sleep(0.05)
        raise RuntimeError("the workers did not drain the stream within an hour")
    finally:
        await transport.close()


def _cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Return each process's name and the CPU seconds it has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    snapshot = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        snapshot[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return snapshot


def _runqueue_wait(children: list[subprocess.Popen[bytes]]) -> float:
    """Return the seconds the workers' threads have spent runnable but waiting for a core (the
    scheduler's run queue; /proc/PID/task/*/schedstat): on a shared machine, the time the
    load from elsewhere took from them."""
    waited = 0
    for child in children:
        for task in Path(f"/proc/{child.pid}/task").glob("*/schedstat"):
            try:
                waited += int(task.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return waited / 1e9


def _cpu_used(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    children: list[subprocess.Popen[bytes]],
    backend_pids: set[int],
) -> dict[str, float]:
    """Return the CPU seconds the workers, PostgreSQL (every process, other users' too), the
    workers' own PostgreSQL backends (backend_pids) and the NATS server used between the
    snapshots (processes alive in both)."""
    workers = {child.pid for child in children}
    used = {"workers": 0.0, "postgres": 0.0, "their backends": 0.0, "nats-server": 0.0}
    for pid, (name, seconds) in after.items():
        if pid not in before:
            continue
        delta = seconds - before[pid][1]
        if pid in workers:
            used["workers"] += delta
        elif name in used:
            used[name] += delta
        if pid in backend_pids:
            used["their backends"] += delta
    return used


def _describe_backends(backends: Counter[str], top: int = 6) -> str:
    """Return the commonest things the worker backends were seen doing, as shares."""
    total = sum(backends.values()) or 1
    lines = [f"{100 * n / total:5.1f} %  {what}" for what, n in backends.most_common(top)]
    return "    worker backends (pg_stat_activity samples):\n" + "\n".join(
        f"      {line}" for line in lines
    )


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _delete_streams(config: NatsConfig) -> None:
    transport = await NatsTransport.connect(config)
    try:
        await transport.delete_streams()
    finally:
        await transport.close()


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--lines-per-message", type=int, default=100)
    parser.add_argument("--mix", choices=("realistic", "alerts"), default="realistic")
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (1 then 2 workers)")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="`vardeild worker --concurrency` of each worker"
    )
    parser.add_argument(
        "--batch", type=int, default=10, help="`vardeild worker --batch`: messages per commit"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("VARDEILD_BENCH_DATABASE_URL")
        or os.environ.get("VARDEILD_TEST_DATABASE_URL"),
        help="a PostgreSQL database to make throwaway schemas in "
        "(default: $VARDEILD_BENCH_DATABASE_URL or $VARDEILD_TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--nats-url", default=os.environ.get("VARDEILD_TEST_NATS_URL", "nats://127.0.0.1:4222")
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("needs a PostgreSQL --database-url (SQLite takes one writer at a time)")

    lines = generate(args.events, args.mix, args.seed)
    print(
        f"{args.events:,} EVE lines ({args.mix} mix, {sum(map(len, lines)) / len(lines):.0f} B "
        f"avg), {args.lines_per_message} per message, worker --batch {args.batch} "
        f"--concurrency {args.concurrency}; "
        f"PostgreSQL; {os.cpu_count()} CPU cores "
        "shared by NATS, PostgreSQL and the workers"
    )
    # One worker, then two, then one again...: pairs taken close together, so that load from
    # elsewhere on a shared machine weighs on both halves of a ratio alike.
    pairs: list[tuple[Result, Result]] = []
    for run in range(args.runs):
        load = os.getloadavg()[0]
        one, two = run_once(args, 1, lines), run_once(args, 2, lines)
        pairs.append((one, two))
        print(f"run {run + 1} (load average {load:.2f} before):")
        for result in (one, two):
            busy = ", ".join(
                f"{name} {cpu / result.seconds:.2f}" for name, cpu in result.cpu_seconds.items()
            )
            print(
                f"  {result.workers} worker{'s' if result.workers > 1 else ' '}: "
                f"{result.rate:>9,.0f} events/s ({result.seconds:.1f} s; {result.stored:,} "
                f"events stored, {result.quarantined} quarantined; peak RSS per worker "
                f"{', '.join(f'{mb:.0f}' for mb in result.peak_rss_mb)} MB; cores busy: {busy})"
            )
            # Less sensitive to load from elsewhere than the rate: the workers' own CPU time.
            cpu = result.cpu_seconds
            print(
                f"    CPU per 1,000 events: workers {1e6 * cpu['workers'] / result.events:.0f} ms,"
                f" their backends {1e6 * cpu['their backends'] / result.events:.0f} ms"
            )
            print(_describe_backends(result.backends))
        print(f"  ratio 2/1: {two.rate / one.rate:.2f}")
    one_rate = statistics.median(one.rate for one, _ in pairs)
    two_rate = statistics.median(two.rate for _, two in pairs)
    ratio = statistics.median(two.rate / one.rate for one, two in pairs)
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(
        f"median of {args.runs}: 1 worker {one_rate:,.0f} events/s, 2 workers {two_rate:,.0f} "
        f"events/s, ratio 2/1 {ratio:.2f} ({verdict} the target of {TARGET_RATIO})"
    )


if __name__ == "__main__":
    main()
