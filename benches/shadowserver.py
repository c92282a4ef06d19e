"""Bench the Shadowserver pipeline beside IntelMQ: report.csv -> parse -> attribute -> stored
events and alerts, on SQLite and PostgreSQL, and IntelMQ on the same report in the same run.

    .venv/bin/python benches/shadowserver.py [--rows 100000] [--members 100]
        [--database sqlite|postgresql|both] [--postgres-url URL] [--skip-intelmq]
        [--repeat 1] [--work /tmp/vardeild-bench] [--json]

The input is the IntelMQ anchor's (../shared/anchors/intelmq): `run.sh` (MODES=pipeline, the
anchor's venv, a work directory and redis port of this bench's) generates report.csv, an
"Accessible SMB" report of --rows rows (70 % of them inside the members' 198.18.0.0/15 blocks,
the rest in 100.64.0.0/10), and members.json (--members organisations with 1-3 /24s, an AS
number and an abuse address each), then times IntelMQ's pipeline on them: file collector ->
Shadowserver parser -> sieve expert tagging each event with its member by network -> file
output, each bot its own process, queues in redis. With --skip-intelmq the same generator
(anchors/intelmq/gen_data.py, the same seed) only writes the input.

Vardeild's side, for each database and round, in fresh child processes:
- setup (not timed into the figure): a fresh database (SQLite file; PostgreSQL: a new schema),
  migrated; members.json converted to the registry's interchange form (name, networks, AS
  number, the abuse address as a contact) and imported through members.registry_io, as
  `vardeild members import` does.
- ingest (timed): `build_pipeline` as the CLI builds it, one empty batch so that the
  attribution index is built (timed apart: "warm-up"), then
  `monitoring.files.ingest_shadowserver_files` over report.csv with the CLI's batching (50,000
  rows or one second per transaction; the first batches 5,000 rows, doubling), to the last
  commit: every row parsed (the report type
  told by its header, as for a file named report.csv), attributed, rows that touch a member
  stored and folded into alerts, the others counted.

The semantics differ: IntelMQ's figure covers parsing, tagging and writing JSON lines to a file
through redis queues between processes; Vardeild's covers parsing, attribution (exact
longest-prefix match, both sides), alert folding and a database commit per batch.

Target (issue 3): at least 200 times IntelMQ's events per second, measured in the same run.
The verdict compares medians over --repeat rounds with IntelMQ's headline figure (rows over
the time from starting its collector to the last line written).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import (
    INTELMQ_VENV,
    add_common_arguments,
    backend_pid_tracker,
    bench_main,
    child_phase,
    current_rss_mb,
    database_round,
    databases_of,
    import_registry,
    machine_state,
    median,
    peak_rss_mb,
    platform_for,
    process_cpu_seconds,
    rate,
    ratio,
    run_command,
    run_intelmq,
    say,
    timed,
)

TARGET_RATIO = 200
REDIS_PORT = 6397  # not run.sh's default 6389, so that another run of the anchor does not clash


def registry_records(members: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the anchor's members.json in the registry's interchange form."""
    return [
        {
            "name": member["name"],
            "short_name": member["id"],
            "sector": "other",
            "membership": {"state": "active"},
            "services": ["monitoring", "vulnerability_overview"],
            "networks": list(member["cidrs"]),
            "asns": [member["asn"]],
            "contacts": [
                {"name": "Abuse desk", "email": member["contact"], "roles": ["abuse", "security"]}
            ],
        }
        for member in members
    ]


def generate_input(args: argparse.Namespace) -> None:
    """Write report.csv and members.json with the anchor's generator, without running IntelMQ
    (for --skip-intelmq); reuse them when present for the same sizes."""
    work: Path = args.input_dir
    stamp = work / "input.json"
    wanted = {"rows": args.rows, "members": args.members}
    if (
        stamp.exists()
        and json.loads(stamp.read_text()) == wanted
        and (work / "report.csv").exists()
        and (work / "members.json").exists()
    ):
        return
    work.mkdir(parents=True, exist_ok=True)
    python = str(Path(args.intelmq_venv) / "bin" / "python")
    package = run_command(
        [python, "-c", "import intelmq, os; print(os.path.dirname(intelmq.__file__))"]
    ).stdout.strip()
    sample = Path(package) / "tests/bots/parsers/shadowserver/testdata/test_smb.csv"
    run_command(
        [
            python,
            str(args.anchors / "intelmq" / "gen_data.py"),
            "--sample",
            str(sample),
            "--rows",
            str(args.rows),
            "--members",
            str(args.members),
            "--out-csv",
            str(work / "report.csv"),
            "--out-sieve",
            str(work / "constituency.sieve"),
            "--out-members",
            str(work / "members.json"),
        ]
    )
    stamp.write_text(json.dumps(wanted))


# --- children ----------------------------------------------------------------------------------


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Child: migrate a fresh database and import the anchor's members."""
    work = Path(args.work_input)
    with timed() as migrate:
        platform = platform_for(args.url, Path(args.data_dir), migrate=True)
    records = registry_records(json.loads((work / "members.json").read_text()))
    with timed() as registry:
        plan = import_registry(platform, records, source="members.json")
    platform.engine.dispose()
    return {
        "migrate_s": round(migrate.wall, 2),
        "organisations": len(plan.created),
        "networks": sum(len(r["networks"]) for r in records),
        "registry_import_s": round(registry.wall, 2),
    }


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """Child: time report -> pipeline -> stored events, as `vardeild ingest shadowserver`."""
    from sqlalchemy import func, select

    from vardeild.app import build_pipeline
    from vardeild.monitoring.files import ingest_shadowserver_files
    from vardeild.monitoring.ingest import Checkpoint, Feed, RawBatch
    from vardeild.monitoring.store import get_checkpoint
    from vardeild.monitoring.tables import AlertRow, EventRow, QuarantineRow

    report = Path(args.work_input) / "report.csv"
    platform = platform_for(args.url, Path(args.data_dir), migrate=False)
    backends = backend_pid_tracker(platform.engine)
    pipeline = build_pipeline(platform)

    def checkpoint_of(source: str) -> Checkpoint | None:
        with platform.session() as session:
            return get_checkpoint(session, source)

    with timed() as warm:
        pipeline.ingest(RawBatch(source="bench:warm-up", feed=Feed.SHADOWSERVER, records=[]))
    rss_ready = current_rss_mb()
    server_before = sum(process_cpu_seconds(pid) or 0.0 for pid in backends)
    main_before = time.thread_time()
    with timed() as span:
        totals = ingest_shadowserver_files(pipeline, [report], checkpoint_of=checkpoint_of)
    # The reading thread's own CPU: parsing, attribution, rows. The rest of the process's CPU
    # is the pipeline's writer thread (write-behind) and the driver.
    main_cpu = time.thread_time() - main_before
    server_after = sum(process_cpu_seconds(pid) or 0.0 for pid in set(backends))
    peak = peak_rss_mb()
    with platform.session() as session:
        stored = session.scalar(select(func.count()).select_from(EventRow)) or 0
        alerts = session.scalar(select(func.count()).select_from(AlertRow)) or 0
        quarantined = session.scalar(select(func.count()).select_from(QuarantineRow)) or 0
        identifiers = dict(
            session.execute(
                select(EventRow.classification_identifier, func.count()).group_by(
                    EventRow.classification_identifier
                )
            ).all()
        )
    platform.engine.dispose()
    server_cpu = server_after - server_before if backends else None
    return {
        "rows": totals.records,
        "batches": totals.batches,
        "wall_s": round(span.wall, 3),
        "cpu_s": round(span.cpu, 3),
        "reader_thread_cpu_s": round(main_cpu, 3),
        "db_server_cpu_s": None if server_cpu is None else round(server_cpu, 3),
        "events_per_s": rate(totals.records, span.wall),
        "events_per_cpu_s": rate(totals.records, span.cpu),
        "events_per_cpu_s_with_server": rate(totals.records, span.cpu + (server_cpu or 0.0)),
        "warmup_s": round(warm.wall, 3),
        "rss_ready_mb": rss_ready,
        "peak_rss_mb": peak,
        "events_stored": totals.events_stored,
        "events_unattributed": totals.events_unattributed,
        "events_duplicate": totals.events_duplicate,
        "quarantined": totals.quarantined,
        "alert_updates": totals.alerts_touched,
        "member_share": (
            round(1 - totals.events_unattributed / totals.records, 4) if totals.records else 0.0
        ),
        "stored_rows": {"events": stored, "alerts": alerts, "quarantine": quarantined},
        "classification_identifiers": {str(k): int(v) for k, v in identifiers.items()},
    }


# --- the run -----------------------------------------------------------------------------------


def vardeild_round(args: argparse.Namespace, database: str, round_no: int) -> dict[str, Any]:
    """Set up a fresh database, then time the pipeline on it in a new process."""

    def child(phase: str, url: str, data_dir: Path) -> dict[str, Any]:
        return child_phase(__file__, args, phase, url, data_dir)

    return database_round(
        args,
        database,
        round_no,
        name="vardeild-shadowserver",
        schema_prefix="bench_ss",
        child=child,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every round and return the figures."""
    databases = databases_of(args)
    args.input_dir = Path(args.work) / f"intelmq-{args.rows}rows-{args.members}members"
    machine = machine_state()
    intelmq: list[dict[str, Any]] = []
    rounds: list[dict[str, Any]] = []
    for round_no in range(1, args.repeat + 1):
        if args.skip_intelmq:
            generate_input(args)
        else:
            say(f"round {round_no}: IntelMQ ({args.rows:,} rows, {args.members} members)")
            result = run_intelmq(
                args.input_dir,
                rows=args.rows,
                members=args.members,
                anchors=args.anchors,
                venv=Path(args.intelmq_venv),
                redis_port=args.redis_port,
            )
            say(f"round {round_no}: IntelMQ: {result['events_per_s']:,.0f} events/s")
            intelmq.append({"round": round_no, **result})
        for database in databases:
            rounds.append(vardeild_round(args, database, round_no))
    peer = median([r["events_per_s"] for r in intelmq])
    peer_running = median([r["events_per_s_excl_startup"] for r in intelmq])
    summary: dict[str, Any] = {}
    for database in databases:
        mine = [r for r in rounds if r["database"] == database]
        events_per_s = median([r["events_per_s"] for r in mine])
        times = ratio(events_per_s, peer)
        summary[database] = {
            "events_per_s": events_per_s,
            "events_per_s_runs": [r["events_per_s"] for r in mine],
            "events_per_cpu_s": median([r["events_per_cpu_s"] for r in mine]),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
            "ratio_to_intelmq": times,
            "ratio_to_intelmq_excl_startup": ratio(events_per_s, peer_running),
            "meets_target": None if times is None else times >= TARGET_RATIO,
        }
    return {
        "machine": machine,
        "input": {"rows": args.rows, "members": args.members, "dir": str(args.input_dir)},
        "intelmq": intelmq,
        "intelmq_events_per_s": peer,
        "intelmq_events_per_s_excl_startup": peer_running,
        "vardeild": rounds,
        "summary": summary,
        "target_ratio": TARGET_RATIO,
    }


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads, ending with the verdicts."""
    m, i = figures["machine"], figures["input"]
    out = [
        f"machine: {m['cpus']} CPUs ({m['cpu_model']}), load {m['loadavg']}, "
        f"{m['cpu_busy_before']:.0%} busy before the run, python {m['python']}, "
        f"commit {m['commit']}",
        f"input: {i['rows']:,} report rows, {i['members']} members, in {i['dir']}",
    ]
    for r in figures["intelmq"]:
        out.append(
            f"IntelMQ round {r['round']}: {r['events_per_s']:>10,.0f} events/s "
            f"({r['wall_s']:.1f} s; {r['events_per_s_excl_startup']:,.0f}/s after its first "
            f"event), {r['output_lines']:,} lines out, {r['constituency_hits']} ({r['env']})"
        )
    for r in figures["vardeild"]:
        server = (
            f" + {r['db_server_cpu_s']:.1f} s server CPU"
            if r["db_server_cpu_s"] is not None
            else ""
        )
        out += [
            f"Vardeild {r['database']:<10} round {r['round']}: {r['events_per_s']:>10,.0f} "
            f"events/s wall ({r['wall_s']:.2f} s), {r['events_per_cpu_s']:,.0f} per CPU second "
            f"({r['cpu_s']:.1f} s CPU{server}; {r['reader_thread_cpu_s']:.1f} s of it on the "
            f"reading thread, the rest on the writer); warm-up {r['warmup_s']:.2f} s; peak RSS "
            f"{r['peak_rss_mb']:,.0f} MB",
            f"    stored {r['events_stored']:,} events into {r['stored_rows']['alerts']:,} "
            f"alerts; {r['events_unattributed']:,} unattributed (counted), "
            f"{r['quarantined']:,} quarantined; {r['member_share']:.1%} touch a member; "
            f"identifiers {r['classification_identifiers']}",
        ]
    verdicts = []
    for database, s in figures["summary"].items():
        times = s["ratio_to_intelmq"]
        if times is None:
            out.append(f"{database}: median {s['events_per_s']:,.0f} events/s (IntelMQ not run)")
            verdicts.append(f"{database}: no verdict (IntelMQ not run)")
            continue
        out.append(
            f"{database}: median {s['events_per_s']:,.0f} events/s = {times:,.0f}× IntelMQ "
            f"({s['ratio_to_intelmq_excl_startup']:,.0f}× its rate after its first event)"
        )
        verdicts.append(
            f"{database} {'PASS' if s['meets_target'] else 'FAIL'} "
            f"({times:,.0f}× {'>=' if s['meets_target'] else '<'} {TARGET_RATIO}×)"
        )
    out.append("VERDICT: " + "; ".join(verdicts))
    return "\n".join(out)


def passed(figures: dict[str, Any]) -> bool:
    """Return False if a database missed the target (no verdict without IntelMQ)."""
    return all(s["meets_target"] is not False for s in figures["summary"].values())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--skip-intelmq", action="store_true")
    parser.add_argument("--intelmq-venv", type=Path, default=INTELMQ_VENV)
    parser.add_argument("--redis-port", type=int, default=REDIS_PORT)
    add_common_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its figures; return 0, or 1 if the target was missed."""
    args = parse_args(argv)
    return bench_main(args, setup=setup, ingest=ingest, run=run, report=report, passed=passed)


if __name__ == "__main__":
    sys.exit(main())
