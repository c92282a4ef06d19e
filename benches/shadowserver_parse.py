"""Bench the Shadowserver parser alone: CSV rows to Events per second, and peak memory.

    .venv/bin/python benches/shadowserver_parse.py [--rows 1000000] [--input FILE] [--runs 3]
                                                  [--seed 42] [--json]

The input is the IntelMQ anchor's (../shared/anchors/intelmq): an "Accessible SMB" report,
shaped like Shadowserver's scan_smb rows in IntelMQ's test sample, with varied addresses (70 %
inside 198.18.0.0/15 member blocks, the rest in 100.64.0.0/10), hostnames, AS numbers and
timestamps, and 30 % of hosts speaking SMBv1. `--input` parses a file instead, such as the
anchor's own /tmp/anchors/intelmq-bench-work/report.csv; without it the file is generated into a
temporary directory and deleted afterwards. The figure is parse-only, on one core: reading the
file, csv.reader, the column plan, building each Event. The target is 150,000 rows/s. It also
times the way the pipeline parses (the file reader's records through the compiled fast path,
`ShadowserverParser.parse_records`, reading included) and, for context, bare `csv.reader` over
the same file (LIMITS.md: ~700 k rows/s). The garbage collector is tuned as the pipeline tunes it
(`pipeline.tune_gc`); with the default thresholds, holding a batch's events costs ~30 %.

Rates are rows per second of this process's CPU time (`time.process_time`), the median of the
runs: on a shared machine, wall-clock time also counts the time other processes held the core.
The wall-clock rate is printed beside it.
"""

from __future__ import annotations

import argparse
import csv
import io
import ipaddress
import json
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from vardeild.monitoring.files import csv_records
from vardeild.monitoring.model import ParseError
from vardeild.monitoring.parsers.shadowserver import ShadowserverParser
from vardeild.monitoring.pipeline import tune_gc

TARGET_ROWS_PER_SECOND = 150_000
MEMBER_SHARE = 0.7
SMBV1_SHARE = 0.3
# The columns of an "Accessible SMB" report as IntelMQ's sample (and so the anchor) has them.
HEADER = (
    "timestamp", "ip", "port", "hostname", "tag", "asn", "geo", "region", "city", "naics", "sic",
    "smb_implant", "arch", "key", "smbv1_support", "smb_major_number", "smb_minor_number",
    "smb_revision", "smb_version_string",
)  # fmt: skip


def write_report(path: Path, rows: int, seed: int) -> None:
    """Write an Accessible-SMB report of `rows` rows, deterministic for a seed."""
    rng = random.Random(seed)
    blocks = list(ipaddress.IPv4Network("198.18.0.0/15").subnets(new_prefix=24))[:200]
    outside = int(ipaddress.ip_address("100.64.0.0"))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        for n in range(rows):
            if rng.random() < MEMBER_SHARE:
                index = rng.randrange(len(blocks))
                address = str(blocks[index].network_address + rng.randrange(1, 255))
                asn = 64512 + index // 2
            else:
                address = str(ipaddress.ip_address(outside + rng.randrange(1, (1 << 22) - 1)))
                asn = 65000 + rng.randrange(500)
            second = n % 86400
            smb1 = rng.random() < SMBV1_SHARE
            writer.writerow(
                (
                    f"2024-03-01 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}",
                    address, 445, f"host-{address.replace('.', '-')}.example.net", "smb", asn,
                    "NO", "Region", "City", 0, 0, "N", "", "", "Y" if smb1 else "N",
                    1 if smb1 else 2, 0 if smb1 else 1, 0, "SMB 1.0" if smb1 else "SMB 2.1",
                )
            )  # fmt: skip


def time_parser(path: Path) -> tuple[float, float, int, int]:
    """Return (CPU seconds, wall seconds, events, errors) for parsing the whole file once."""
    parser = ShadowserverParser()
    events = errors = 0
    observed_at = datetime.now(UTC)
    cpu, wall = time.process_time(), time.perf_counter()
    with path.open("rb") as stream:
        for _, outcome in parser.iter_file(stream, filename=path.name, observed_at=observed_at):
            if isinstance(outcome, ParseError):
                errors += 1
            else:
                events += 1
    return time.process_time() - cpu, time.perf_counter() - wall, events, errors


def time_fast_path(path: Path, batch: int = 10_000) -> tuple[float, int]:
    """Return (CPU seconds, events) for the pipeline's way: the file reader's records (header
    and one row each) through `parse_records`, the compiled fast path, in batches of `batch`
    (the CLI's); a batch it declines is parsed by `iter_file`, as `BatchProcessor` does."""
    parser = ShadowserverParser()
    observed_at = datetime.now(UTC)
    events = 0
    cpu = time.process_time()
    with path.open("rb") as stream:
        rows = csv_records(stream)
        header = next(rows, (1, b"\n"))[1]
        records = [header + row for _, row in rows if row.strip()]
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        done = parser.parse_records(chunk, filename=path.name, observed_at=observed_at)
        if done is None:
            document = io.BytesIO(header + b"".join(r[len(header) :] for r in chunk))
            done = [
                o
                for _, o in parser.iter_file(document, filename=path.name, observed_at=observed_at)
                if not isinstance(o, ParseError)
            ]
        events += len(done)
    return time.process_time() - cpu, events


def time_csv_reader(path: Path) -> tuple[float, int]:
    """Return (CPU seconds, rows) for bare csv.reader over the file: the floor."""
    cpu = time.process_time()
    with path.open(newline="", encoding="utf-8") as stream:
        rows = sum(1 for _ in csv.reader(stream)) - 1
    return time.process_time() - cpu, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--input", type=Path, help="parse this report instead of generating one")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    tune_gc()  # the collector as the pipeline runs it: a batch's events stay alive together

    with tempfile.TemporaryDirectory(prefix="vardeild-bench-") as scratch:
        path = args.input
        if path is None:
            path = Path(scratch) / "report.csv"
            write_report(path, args.rows, args.seed)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        runs = [time_parser(path) for _ in range(args.runs)]
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fast = [time_fast_path(path) for _ in range(args.runs)]
        floor = [time_csv_reader(path) for _ in range(args.runs)]
        size = path.stat().st_size

    seconds = statistics.median(run[0] for run in runs)
    wall = statistics.median(run[1] for run in runs)
    events, errors = runs[0][2], runs[0][3]
    rows = events + errors
    rate = rows / seconds
    result = {
        "input": str(args.input or f"generated ({args.rows:,} rows, seed {args.seed})"),
        "bytes": size,
        "rows": rows,
        "events": events,
        "errors": errors,
        "cpu_seconds_median": round(seconds, 3),
        "rows_per_second": round(rate),
        "rows_per_wall_second": round(rows / wall),
        "target_rows_per_second": TARGET_ROWS_PER_SECOND,
        "fast_path_rows_per_second": round(rows / statistics.median(f[0] for f in fast)),
        "fast_path_events": fast[0][1],
        "csv_reader_rows_per_second": round(floor[0][1] / statistics.median(f[0] for f in floor)),
        "peak_rss_mb": round(rss_after / 1024, 1),
        "rss_growth_while_parsing_mb": round((rss_after - rss_before) / 1024, 1),
        "python": platform.python_version(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"input: {result['input']}, {size / 1e6:.1f} MB")
        print(f"parsed {events:,} events and {errors:,} errors, median of {args.runs} runs")
        print(
            f"shadowserver parse: {rate:,.0f} rows/s of CPU time (target "
            f"{TARGET_ROWS_PER_SECOND:,}; {result['rows_per_wall_second']:,} per wall-clock "
            f"second; bare csv.reader {result['csv_reader_rows_per_second']:,} rows/s)"
        )
        print(
            f"the pipeline's fast path (reader records, parse_records in 10,000-row batches, "
            f"reading included): {result['fast_path_rows_per_second']:,} rows/s of CPU time"
        )
        print(
            f"peak RSS {result['peak_rss_mb']} MB, grown while parsing "
            f"{result['rss_growth_while_parsing_mb']} MB"
        )
    return 0 if rate >= TARGET_ROWS_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
