"""Shared helpers for the pipeline benches (eve_pipeline.py, shadowserver.py): the machine's
state, wall and CPU time, peak memory, fresh databases, child processes that report JSON, and
the runners of the peers in ../shared/anchors (FEVER, IntelMQ).

Each measurement runs in a child process of its own (`run_child`), so that its peak RSS is
the pipeline's and not the generator's or another measurement's, and the parent only
orchestrates. Nothing here is timed against a threshold in tests: benches print figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ANCHORS = REPO.parent / "shared" / "anchors"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "vardeild-bench"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1/vardeild_test"
INTELMQ_VENV = Path(tempfile.gettempdir()) / "anchors-run" / "intelmq-venv"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- commands ----------------------------------------------------------------------------------


def run_command(
    command: Sequence[str], *, check: bool = True, **options: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command of ours (its program found on PATH), its output captured as text."""
    program = shutil.which(command[0]) or command[0]
    options.setdefault("capture_output", True)
    return subprocess.run(  # noqa: S603 (fixed commands of this bench, no shell)
        [program, *command[1:]], check=check, text=True, **options
    )


# --- the machine -------------------------------------------------------------------------------


def cpu_busy_share(seconds: float = 1.0) -> float:
    """Return the share of all CPUs busy over the next `seconds` (from /proc/stat), 0-1; -1
    where /proc is missing. Taken before a measurement, it says how noisy the box was."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return -1.0
    total = total1 - total0
    return round(1 - (idle1 - idle0) / total, 3) if total else 0.0


def machine_state(*, sample_seconds: float = 1.0) -> dict[str, Any]:
    """Return what a reader needs to judge the figures: CPUs, load, memory, versions, the
    commit measured, and how busy the CPUs were just before."""
    model = ""
    try:
        with open("/proc/cpuinfo") as info:
            model = next((ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), "")
    except OSError:
        pass
    available = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpu_busy_before": cpu_busy_share(sample_seconds),
        "mem_available_mb": available,
        "python": platform.python_version(),
        "commit": git_commit(),
    }


def git_commit() -> str:
    """Return the repository's HEAD commit, with '+dirty' when the work tree has changes."""
    try:
        head = run_command(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).stdout
        dirty = run_command(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"]
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head.strip()}+dirty" if dirty else head.strip()


# --- time and memory ---------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round((peak if sys.platform == "darwin" else peak * 1024) / 2**20, 1)


def current_rss_mb() -> float:
    """Return this process's resident set size now in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def process_cpu_seconds(pid: int) -> float | None:
    """Return user + system CPU seconds another process has used, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def children_cpu_seconds() -> float:
    """Return user + system CPU seconds of every child process waited for so far (and of
    theirs): the difference around a command is that command's CPU, all processes summed."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ProcessWatcher(threading.Thread):
    """Follows the CPU time of the processes whose command line holds all of `needles`
    (found by scanning /proc every `interval` seconds while it runs); `cpu_seconds` is their
    last reading summed: a process's CPU time up to the last poll before it ended."""

    def __init__(self, needles: Sequence[str], interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.needles = tuple(needles)
        self.interval = interval
        self.seen: dict[int, float] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Poll until stopped."""
        while not self._stop_event.is_set():
            if not self.seen:
                self._find()
            for pid in list(self.seen):
                cpu = process_cpu_seconds(pid)
                if cpu is not None:
                    self.seen[pid] = cpu
            self._stop_event.wait(self.interval)

    def _find(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    words = cmdline.read().decode(errors="replace")
            except OSError:
                continue
            if all(needle in words for needle in self.needles):
                self.seen[int(entry.name)] = 0.0

    def stop(self) -> float:
        """Stop polling and return the CPU seconds seen."""
        self._stop_event.set()
        self.join()
        return round(sum(self.seen.values()), 2)


@dataclass
class Span:
    """Wall and CPU seconds of a timed section (CPU: this process, all its threads)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Span]:
    """Time the block: the yielded Span holds its wall and CPU seconds once it is left."""
    span = Span()
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield span
    finally:
        span.wall = time.perf_counter() - wall
        span.cpu = time.process_time() - cpu


def median(values: Sequence[float]) -> float:
    """Return the median, 0 for no values."""
    return float(statistics.median(values)) if values else 0.0


def ratio(numerator: float, denominator: float) -> float | None:
    """Return numerator / denominator rounded to 3 places, None if the denominator is 0."""
    return round(numerator / denominator, 3) if denominator else None


def rate(count: int, seconds: float) -> float:
    """Return count per second (0 for no time)."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


# --- databases ---------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    """Return the SQLAlchemy URL of a SQLite file, removing any database left there (and its
    WAL files), so that the database is fresh."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def new_postgres_schema(url: str, prefix: str) -> tuple[str, str]:
    """Create a fresh schema in the database at url; return its name and a URL whose
    connections use it (search_path)."""
    from sqlalchemy import text

    from vardeild.db.engine import create_db_engine

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    separator = "&" if "?" in url else "?"
    return schema, f"{url}{separator}options=-csearch_path%3D{schema}"


def drop_postgres_schema(url: str, schema: str) -> None:
    """Drop a schema made by new_postgres_schema, with everything in it."""
    from sqlalchemy import text

    from vardeild.db.engine import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def backend_pid_tracker(engine: Any) -> list[int]:
    """Return a list that collects the server process id of every PostgreSQL connection the
    engine opens from now on, so that the server's CPU time for them can be read."""
    from sqlalchemy import event

    pids: list[int] = []
    if engine.dialect.name != "postgresql":
        return pids

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        pids.append(int(dbapi_connection.info.backend_pid))

    event.listen(engine, "connect", on_connect)
    return pids


def platform_for(url: str, data_dir: Path, *, migrate: bool) -> Any:
    """Return a Vardeild platform on url (built as the CLI builds it)."""
    from vardeild.app import build_platform
    from vardeild.settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(database_url=url, data_dir=data_dir)
    return build_platform(settings, migrate=migrate)


def import_registry(platform: Any, records: Sequence[dict[str, Any]], source: str) -> Any:
    """Import organisations in the registry's interchange form (JSON) through registry_io, as
    `vardeild members import` does; return the plan."""
    from vardeild.access.model import Principal, Role
    from vardeild.members.registry_io import RegistryFormat, apply_import

    admin = Principal(actor="bench@cert.test", role=Role.CERT_ADMIN)
    data = json.dumps(list(records)).encode()
    with platform.session() as session:
        return apply_import(
            session,
            admin,
            data,
            RegistryFormat.JSON,
            source=source,
            clock=platform.clock,
            key_inspector=None,
            dry_run=False,
            max_bytes=max(len(data) + 1, 50 * 2**20),
        )


# --- child processes ---------------------------------------------------------------------------


def run_child(argv: Sequence[str], *, timeout: float = 7200) -> dict[str, Any]:
    """Run `python argv...` and return the JSON object its stdout ends with; raise
    RuntimeError with its stderr if it fails."""
    command = [sys.executable, *argv]
    done = run_command(command, check=False, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr[-4000:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{' '.join(command)} printed nothing:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --- the benches' shared command line and rounds ------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every pipeline bench takes, and the hidden ones its children get."""
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--repeat", type=int, default=1, help="rounds (medians are compared)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--anchors", type=Path, default=ANCHORS)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schemas")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    # The parent runs itself with these for each measurement.
    parser.add_argument("--phase", choices=("setup", "ingest"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--work-input", help=argparse.SUPPRESS)


def databases_of(args: argparse.Namespace) -> list[str]:
    """Return the databases --database names."""
    return ["sqlite", "postgresql"] if args.database == "both" else [args.database]


def child_phase(
    script: str, args: argparse.Namespace, phase: str, url: str, data_dir: Path, *extra: str
) -> dict[str, Any]:
    """Run script's phase (setup or ingest) in a child process on url; return its JSON."""
    argv = [str(Path(script).resolve()), "--phase", phase, "--url", url]
    argv += ["--data-dir", str(data_dir), "--work-input", str(args.input_dir), *extra]
    return run_child(argv)


def database_round(
    args: argparse.Namespace,
    database: str,
    round_no: int,
    *,
    name: str,
    schema_prefix: str,
    child: Callable[[str, str, Path], dict[str, Any]],
    on_setup: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """One measurement on a fresh database (a SQLite file under --work/name-database, or a new
    PostgreSQL schema named schema_prefix_..., dropped afterwards unless --keep): child(phase, url,
    data_dir) runs setup, then ingest; return both results with the round's names."""
    data_dir = Path(args.work) / f"{name}-{database}"
    schema = None
    if database == "sqlite":
        url = sqlite_url(data_dir / "bench.db")
    else:
        schema, url = new_postgres_schema(args.postgres_url, schema_prefix)
    try:
        prepared = child("setup", url, data_dir)
        if on_setup is not None:
            on_setup(prepared)
        result = child("ingest", url, data_dir)
        say(
            f"round {round_no}: {database}: {result['events_per_s']:,.0f} events/s "
            f"({result['wall_s']} s wall, {result['cpu_s']} s CPU)"
        )
    finally:
        if schema is not None and not args.keep:
            drop_postgres_schema(args.postgres_url, schema)
    return {"database": database, "round": round_no, "schema": schema, **prepared, **result}


def bench_main(
    args: argparse.Namespace,
    *,
    setup: Callable[[argparse.Namespace], dict[str, Any]],
    ingest: Callable[[argparse.Namespace], dict[str, Any]],
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    passed: Callable[[dict[str, Any]], bool],
) -> int:
    """A bench's main: a child's phase prints its JSON; the parent runs every round, prints
    the figures and returns 0, or 1 if a target was missed."""
    if args.phase == "setup":
        print(json.dumps(setup(args)))
        return 0
    if args.phase == "ingest":
        print(json.dumps(ingest(args)))
        return 0
    figures = run(args)
    emit(figures, args.json, report)
    return 0 if passed(figures) else 1


def say(message: str) -> None:
    """Tell progress on stderr (stdout carries the figures)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(figures: dict[str, Any], as_json: bool, report: Callable[[dict[str, Any]], str]) -> None:
    """Print the figures: as JSON, or as lines a person reads."""
    print(json.dumps(figures, indent=2) if as_json else report(figures))


# --- the peers ---------------------------------------------------------------------------------


def fever_version() -> str:
    """Return the installed FEVER package's version ('' if unknown)."""
    try:
        return run_command(["dpkg-query", "-W", "-f=${Version}", "fever"], check=False).stdout
    except OSError:
        return ""


def prepare_fever_input(
    work: Path, *, lines: int, iocs: int, hit_rate: float, fp: float, anchors: Path
) -> dict[str, Any]:
    """Generate (or reuse) the FEVER anchor's input in work: eve.json, iocs.txt,
    ip_blacklist.txt and the Bloom filter, exactly as anchors/fever/run.sh makes them; return
    what was made and how long it took."""
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "input.json"
    wanted = {"lines": lines, "iocs": iocs, "hit_rate": hit_rate, "fp": fp}
    names = ("eve.json", "iocs.txt", "ip_blacklist.txt", "iocs.bloom")
    if stamp.exists() and all((work / n).exists() for n in names):
        made = json.loads(stamp.read_text())
        if made.get("params") == wanted:
            made["reused"] = True
            return dict(made)
    if shutil.which("fever") is None or shutil.which("bloom") is None:
        raise RuntimeError("fever and bloom are not installed: run anchors/fever/run.sh once")
    started = time.perf_counter()
    generated = run_command(
        [
            "python3",
            str(anchors / "fever" / "gen_eve.py"),
            "--lines",
            str(lines),
            "--iocs",
            str(iocs),
            "--hit-rate",
            str(hit_rate),
            "--out-eve",
            str(work / "eve.json"),
            "--out-iocs",
            str(work / "iocs.txt"),
            "--out-ipbl",
            str(work / "ip_blacklist.txt"),
        ]
    )
    bloom = work / "iocs.bloom"
    bloom.unlink(missing_ok=True)
    run_command(["bloom", "create", "-p", str(fp), "-n", str(iocs), str(bloom)])
    with (work / "iocs.txt").open("rb") as iocs_file:
        run_command(["bloom", "insert", str(bloom)], stdin=iocs_file)
    made = {
        "params": wanted,
        "generator": generated.stdout.strip(),
        "seconds": round(time.perf_counter() - started, 1),
        "eve_bytes": (work / "eve.json").stat().st_size,
        "reused": False,
    }
    stamp.write_text(json.dumps(made))
    return made


FEVER_MODES: dict[str, Callable[[Path], list[str]]] = {
    "all": lambda work: ["--forward-all", "--bloom", str(work / "iocs.bloom")],
    "alerts": lambda work: ["--bloom", str(work / "iocs.bloom")],
    "nobloom": lambda work: [],
    "bloom+ipbl": lambda work: [
        "--bloom",
        str(work / "iocs.bloom"),
        "--ip-blacklist",
        str(work / "ip_blacklist.txt"),
    ],
}


def run_fever(work: Path, mode: str, *, anchors: Path, run: int) -> dict[str, Any]:
    """Run the FEVER anchor's driver (anchors/fever/fever_bench.py) once on work's eve.json in
    a mode of run.sh (all, alerts, nobloom, bloom+ipbl); return its JSON result."""
    results = work / "results"
    results.mkdir(parents=True, exist_ok=True)
    out = results / f"fever_{mode}_run{run}.json"
    out.unlink(missing_ok=True)
    run_dir = work / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    command = [
        "python3",
        str(anchors / "fever" / "fever_bench.py"),
        "--eve",
        str(work / "eve.json"),
        "--iocs",
        str(work / "iocs.txt"),
        "--work",
        str(run_dir),
        *FEVER_MODES[mode](work),
        "--result",
        str(out),
    ]
    before = children_cpu_seconds()
    watcher = ProcessWatcher(["fever\0run\0", str(run_dir)])
    watcher.start()
    try:
        done = run_command(command, check=False)
    finally:
        fever_cpu = watcher.stop()
    cpu = children_cpu_seconds() - before
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"FEVER ({mode}) failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result.pop("sample_bloom_alerts", None)
    # Every process of the run: fever itself, and the driver that counts the input, writes it
    # to fever's socket and reads what fever forwards (an upper bound of fever's own CPU).
    result["run_cpu_s"] = round(cpu, 2)
    result["fever_cpu_s"] = fever_cpu  # the fever process alone, polled every 0.1 s
    return result


def run_intelmq(
    work: Path,
    *,
    rows: int,
    members: int,
    anchors: Path,
    venv: Path,
    redis_port: int,
) -> dict[str, Any]:
    """Run the IntelMQ anchor (anchors/intelmq/run.sh, pipeline mode) in work: it generates
    report.csv and members.json there and times IntelMQ on them; return its JSON result."""
    work.mkdir(parents=True, exist_ok=True)
    results = work / "results"
    env = dict(
        os.environ,
        ROWS=str(rows),
        MEMBERS=str(members),
        MODES="pipeline",
        VENV=str(venv),
        WORK=str(work),
        RESULTS=str(results),
        REDIS_PORT=str(redis_port),
    )
    out = results / f"intelmq_pipeline_{rows}rows_{members}members.json"
    out.unlink(missing_ok=True)
    done = run_command(["bash", str(anchors / "intelmq" / "run.sh")], env=env, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"IntelMQ failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result.pop("sample_output_event", None)
    env_txt = results / "env.txt"
    result["env"] = (
        "; ".join(env_txt.read_text().split("\n")).strip("; ") if env_txt.exists() else ""
    )
    return result
