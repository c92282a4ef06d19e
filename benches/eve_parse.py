"""Bench the EVE parser: lines per second, parse only, on one core, and memory per event.

    .venv/bin/python benches/eve_parse.py [--lines N] [--seed N] [--input eve.json]
                                          [--runs 3] [--json]

Without --input it generates Suricata 7/8-shaped EVE in memory (nothing is written to disk): an
"alerts" set of ~1 KB ET-style alerts (rule metadata, http or tls section, flow, community id)
and a "mixed" set shaped like a sensor's day (flow 38 %, dns 25 % in v2 and v3 layouts, http
14 %, tls 12 % with JA3/JA4, alert 5 %, fileinfo 4 %, anomaly 2 %, a stats record every 20,000
lines). With --input (for example the FEVER anchor's /tmp/anchors/fever-bench-work/eve.json) it
reads that file (or its first --lines lines) instead and reports it as one set. For each set it
prints lines per CPU second (best and median of --runs passes over lines already in memory, so
reading is not timed; the wall-clock rate beside it), lines/s per event type, how many lines
were quarantined, the rate of the pipeline's EVE screen (parsers/eve_screen.py, which counts
protocol lines without a full parse) and the share of lines it settles itself, the rates of
stdlib json and of msgspec's decode alone on the same lines, and
the memory an event takes when kept (tracemalloc over 20,000 lines). The target is 300,000
alert lines/s.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import gc
import hashlib
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.members.attribution import AttributionIndex
from vardeild.monitoring.ingest import RawRecord
from vardeild.monitoring.model import ParseError
from vardeild.monitoring.parsers.eve import EveParser
from vardeild.monitoring.parsers.eve_screen import EveScreen
from vardeild.monitoring.parsers.eve_types import RECORD_DECODER

TARGET_ALERT_LINES = 300_000
DEFAULT_LINES = 200_000
MEMORY_SAMPLE = 20_000
MIX = {"flow": 38, "dns": 25, "http": 14, "tls": 12, "alert": 5, "fileinfo": 4, "anomaly": 2}
SIGNATURES = [
    (2027865, "ET INFO Observed DNS Query to .cloud TLD", "Potentially Bad Traffic", 2, None),
    (2045001, "ET MALWARE Win32/Lumma Stealer Related CnC Domain in DNS Lookup",
     "Domain Observed Used for C2 Detected", 1, "Lumma"),
    (2030358, "ET EXPLOIT Citrix ADC Arbitrary Code Execution Attempt (CVE-2019-19781)",
     "Attempted Administrator Privilege Gain", 1, None),
    (2013028, "ET POLICY curl User-Agent Outbound", "Attempted Information Leak", 2, None),
    (2210045, "SURICATA STREAM Packet with invalid ack", "Generic Protocol Command Decode", 3,
     None),
    (2019401, "ET SCAN Suspicious inbound to MSSQL port 1433", "Potentially Bad Traffic", 2,
     None),
    (2035595, "ET MALWARE Cobalt Strike Beacon Observed", "A Network Trojan was detected", 1,
     "CobaltStrike"),
]  # fmt: skip
OUTSIDE_PREFIXES = [13, 20, 23, 34, 35, 52, 77, 80, 93, 104, 142, 151, 172, 185, 195, 213]
WORDS = ["helse", "sykehus", "journal", "portal", "api", "cdn", "static", "login", "auth", "sso"]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Microsoft-CryptoAPI/10.0",
    "curl/8.5.0",
]


class Generator:
    """Builds EVE lines as Suricata 7/8 writes them, from a seeded random source."""

    def __init__(self, seed: int) -> None:
        rng = self.rng = random.Random(seed)
        self.start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        self.flow_id = 1_000_000_000_000
        # Address pools sized like the FEVER anchor's generator: 3,000 hosts inside the
        # sector, 20,000 outside.
        self.inside = [
            f"10.{rng.randrange(4)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            for _ in range(3_000)
        ]
        self.outside = [
            f"{rng.choice(OUTSIDE_PREFIXES)}.{rng.randrange(256)}.{rng.randrange(256)}."
            f"{rng.randrange(1, 255)}"
            for _ in range(20_000)
        ]

    def _timestamp(self, n: int) -> str:
        moment = self.start + timedelta(microseconds=n * 1_300)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0100"

    def _host(self) -> str:
        rng = self.rng
        return ".".join(rng.sample(WORDS, rng.randint(1, 3))) + f"{rng.randrange(999)}.no"

    def _base(self, n: int, event_type: str, proto: str, port: int) -> dict[str, Any]:
        rng = self.rng
        self.flow_id += rng.randrange(1, 5_000)
        # Community ID is a SHA-1 of the 5-tuple; any 20 bytes look the same.
        digest = hashlib.sha1(str(self.flow_id).encode(), usedforsecurity=False).digest()
        return {
            "timestamp": self._timestamp(n),
            "flow_id": self.flow_id,
            "in_iface": "ens1f0",
            "event_type": event_type,
            "vlan": [rng.choice([10, 20, 61])],
            "src_ip": rng.choice(self.inside),
            "src_port": rng.randrange(1024, 65535),
            "dest_ip": rng.choice(self.outside),
            "dest_port": port,
            "proto": proto,
            "pkt_src": "wire/pcap",
            "community_id": "1:" + base64.b64encode(digest).decode(),
        }

    def _http(self) -> dict[str, Any]:
        rng = self.rng
        return {
            "hostname": self._host(),
            "url": f"/{rng.choice(WORDS)}/{rng.choice(WORDS)}.php?id={rng.randrange(10**6)}",
            "http_user_agent": rng.choice(AGENTS),
            "http_content_type": "text/html",
            "http_method": rng.choice(["GET", "POST"]),
            "protocol": "HTTP/1.1",
            "status": rng.choice([200, 302, 404]),
            "length": rng.randrange(100, 90_000),
        }

    def _tls(self) -> dict[str, Any]:
        rng = self.rng
        host = self._host()
        return {
            "subject": f"CN={host}",
            "issuerdn": "C=US, O=Let's Encrypt, CN=R11",
            "serial": ":".join(f"{rng.randrange(256):02X}" for _ in range(16)),
            "fingerprint": ":".join(f"{rng.randrange(256):02x}" for _ in range(20)),
            "sni": host,
            "version": "TLS 1.3",
            "notbefore": "2026-01-01T00:00:00",
            "notafter": "2026-04-01T00:00:00",
            "ja3": {"hash": f"{rng.getrandbits(128):032x}", "string": "771,4865-4866-4867"},
            "ja3s": {"hash": f"{rng.getrandbits(128):032x}", "string": "771,4865,43-51"},
            "ja4": f"t13d1516h2_8daaf6152771_{rng.getrandbits(48):012x}",
        }

    def _flow(self, n: int) -> dict[str, Any]:
        rng = self.rng
        return {
            "pkts_toserver": rng.randrange(1, 200),
            "pkts_toclient": rng.randrange(0, 400),
            "bytes_toserver": rng.randrange(60, 90_000),
            "bytes_toclient": rng.randrange(0, 900_000),
            "start": self._timestamp(max(n - 500, 0)),
        }

    def alert(self, n: int) -> dict[str, Any]:
        """Return an ET-style alert of about 1 KB."""
        rng = self.rng
        sid, signature, category, severity, family = rng.choice(SIGNATURES)
        is_tls = rng.random() < 0.25
        record = self._base(n, "alert", "TCP", 443 if is_tls else 80)
        metadata: dict[str, list[str]] = {
            "attack_target": ["Client_Endpoint"],
            "created_at": ["2024_03_11"],
            "deployment": ["Perimeter"],
            "signature_severity": [rng.choice(["Major", "Minor", "Informational"])],
            "updated_at": ["2025_11_02"],
        }
        if family:
            metadata["malware_family"] = [family]
        record["tx_id"] = 0
        record["alert"] = {
            "action": "allowed",
            "gid": 1,
            "signature_id": sid,
            "rev": rng.randrange(1, 9),
            "signature": signature,
            "category": category,
            "severity": severity,
            "metadata": metadata,
        }
        if is_tls:
            record["tls"] = self._tls()
            record["app_proto"] = "tls"
        else:
            record["http"] = self._http()
            record["app_proto"] = "http"
        record["direction"] = "to_server"
        record["flow"] = self._flow(n)
        return record

    def line(self, n: int, event_type: str) -> dict[str, Any]:
        """Return one EVE record of `event_type`."""
        rng = self.rng
        if event_type == "alert":
            return self.alert(n)
        if event_type == "flow":
            record = self._base(n, "flow", rng.choice(["TCP", "TCP", "UDP"]), 443)
            record["app_proto"] = rng.choice(["tls", "http", "dns", "failed"])
            record["flow"] = self._flow(n) | {
                "end": self._timestamp(n),
                "age": rng.randrange(120),
                "state": "closed",
                "reason": "timeout",
                "alerted": False,
            }
            record["tcp"] = {"tcp_flags": "1b", "syn": True, "fin": True, "ack": True}
            return record
        if event_type == "dns":
            record = self._base(n, "dns", "UDP", 53)
            host = self._host()
            address = f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.1"
            if rng.random() < 0.5:  # Suricata 8, v3
                record["dns"] = {
                    "version": 3,
                    "type": "response",
                    "tx_id": 0,
                    "id": rng.randrange(65536),
                    "flags": "8180",
                    "qr": True,
                    "rd": True,
                    "ra": True,
                    "opcode": 0,
                    "rcode": "NOERROR",
                    "queries": [{"rrname": host, "rrtype": "A"}],
                    "answers": [{"rrname": host, "rrtype": "A", "ttl": 300, "rdata": address}],
                }
            else:  # Suricata 7, v2
                record["dns"] = {
                    "version": 2,
                    "type": "answer",
                    "id": rng.randrange(65536),
                    "flags": "8180",
                    "qr": True,
                    "rd": True,
                    "ra": True,
                    "rrname": host,
                    "rrtype": "A",
                    "rcode": "NOERROR",
                    "answers": [{"rrname": host, "rrtype": "A", "ttl": 300, "rdata": address}],
                    "grouped": {"A": [address]},
                }
            return record
        if event_type == "http":
            record = self._base(n, "http", "TCP", 80)
            record["tx_id"] = 0
            record["http"] = self._http()
            return record
        if event_type == "tls":
            record = self._base(n, "tls", "TCP", 443)
            record["tls"] = self._tls()
            return record
        if event_type == "fileinfo":
            record = self._base(n, "fileinfo", "TCP", 80)
            record["http"] = self._http()
            record["app_proto"] = "http"
            record["fileinfo"] = {
                "filename": "/download/setup.exe",
                "magic": "PE32+ executable (GUI) x86-64, for MS Windows",
                "gaps": False,
                "state": "CLOSED",
                "md5": f"{rng.getrandbits(128):032x}",
                "sha1": f"{rng.getrandbits(160):040x}",
                "sha256": f"{rng.getrandbits(256):064x}",
                "stored": False,
                "size": rng.randrange(10**7),
                "tx_id": 0,
            }
            return record
        record = self._base(n, "anomaly", "TCP", 443)
        record["anomaly"] = {"type": "stream", "event": "stream.pkt_invalid_timestamp"}
        return record

    def stats(self, n: int) -> dict[str, Any]:
        """Return a stats record."""
        return {
            "timestamp": self._timestamp(n),
            "event_type": "stats",
            "stats": {
                "uptime": n // 100,
                "capture": {"kernel_packets": n * 40, "kernel_drops": n // 1000},
                "decoder": {"pkts": n * 40, "bytes": n * 40_000, "ipv4": n * 39},
                "detect": {"engines": [{"id": 0, "rules_loaded": 48_123}], "alert": n // 20},
            },
        }

    def lines(self, count: int, mixed: bool) -> list[bytes]:
        """Return `count` encoded lines: all alerts, or the mixed day."""
        kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]
        out = []
        for n in range(count):
            if not mixed:
                record = self.alert(n)
            elif n and n % 20_000 == 0:
                record = self.stats(n)
            else:
                record = self.line(n, self.rng.choice(kinds))
            out.append(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        return out


def parse_all(parser: EveParser, lines: Sequence[bytes]) -> tuple[float, float, int]:
    """Return the CPU and wall seconds taken to parse every line, and how many raised
    ParseError. CPU time is the figure for "one core": on a shared machine the wall clock also
    counts the time this process waited for a core."""
    observed = datetime.now(UTC)
    parse = parser.parse_line
    errors = 0
    cpu, wall = time.process_time(), time.perf_counter()
    for line in lines:
        try:
            parse(line, observed_at=observed)
        except ParseError:
            errors += 1
    return time.process_time() - cpu, time.perf_counter() - wall, errors


def baseline(decode: Callable[[bytes], Any], lines: Sequence[bytes], runs: int) -> int:
    """Return the best lines per CPU second of `decode` alone over `lines`."""
    best = 0.0
    for _ in range(runs):
        start = time.process_time()
        for line in lines:
            decode(line)
        best = max(best, len(lines) / max(time.process_time() - start, 1e-9))
    return round(best)


def screen_rate(lines: Sequence[bytes], runs: int) -> tuple[int, int, float]:
    """Return the best lines per CPU second of the pipeline's EVE screen (parsers/eve_screen.py)
    over the lines, a fresh screen each run (so its memos start empty), with the sector's
    private space as one member and one domain indicator; then its median, and the share of
    lines it counted itself (the rest go to the full parser)."""
    index = AttributionIndex.build([("10.0.0.0/8", 1)], [], [])
    matcher = IndicatorMatcher.build([(1, IndicatorType.DOMAIN, "evil.example")])
    records = [RawRecord(i, line.rstrip(b"\r\n")) for i, line in enumerate(lines)]
    rates, passed = [], 0
    for _ in range(runs):
        screen = EveScreen(
            index.owner_of_ip,
            matcher,
            store_unattributed=False,
            outcomes=("unattributed", "unmatched_protocol"),
        )
        start = time.process_time()
        passed = len(screen.screen(records, "bench", {}, {}))
        rates.append(len(records) / max(time.process_time() - start, 1e-9))
    counted = 1 - passed / len(records) if records else 0.0
    return round(max(rates)), round(statistics.median(rates)), round(counted, 4)


def event_type_of(line: bytes) -> str:
    """Return the event type of a line for grouping (json, outside the timed part)."""
    try:
        return str(json.loads(line).get("event_type"))
    except (ValueError, AttributeError):
        return "(unparseable)"


def memory(parser: EveParser, lines: Sequence[bytes]) -> tuple[float, float]:
    """Return the traced bytes each parsed event keeps alive, and the traced peak in MB while
    parsing and keeping the first MEMORY_SAMPLE lines (a batch the pipeline holds)."""
    sample = lines[:MEMORY_SAMPLE]
    observed = datetime.now(UTC)
    kept = []
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for line in sample:
        with contextlib.suppress(ParseError):
            kept.append(parser.parse_line(line, observed_at=observed))
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (after - before) / max(len(kept), 1), (peak - before) / 2**20


def measure(name: str, lines: Sequence[bytes], runs: int) -> dict[str, Any]:
    """Return the figures for one set of lines."""
    parser = EveParser(sensor="bench")
    rates, wall_rates, errors = [], [], 0
    for _ in range(runs):
        cpu, wall, errors = parse_all(parser, lines)
        rates.append(len(lines) / cpu)
        wall_rates.append(len(lines) / wall)
    groups: dict[str, list[bytes]] = collections.defaultdict(list)
    for line in lines:
        groups[event_type_of(line)].append(line)
    per_type = {}
    for event_type, group in sorted(groups.items(), key=lambda item: -len(item[1])):
        best = max(len(group) / max(parse_all(parser, group)[0], 1e-9) for _ in range(runs))
        per_type[event_type] = {"lines": len(group), "lines_per_s": round(best)}
    sample = lines[:MEMORY_SAMPLE]
    per_event, peak = memory(parser, lines)
    screen_best, screen_median, screened = screen_rate(lines, runs)
    return {
        "set": name,
        "lines": len(lines),
        "mean_line_bytes": round(sum(map(len, lines)) / len(lines)),
        "quarantined": errors,
        "lines_per_s_best": round(max(rates)),
        "lines_per_s_median": round(statistics.median(rates)),
        "wall_lines_per_s_median": round(statistics.median(wall_rates)),
        "per_event_type": per_type,
        # The same lines through decoders alone: where the parser's time goes, and a yardstick
        # against ../shared/LIMITS.md (stdlib json 0.19 M, msgspec typed 1.0 M lines/s).
        "json_loads_lines_per_s": baseline(json.loads, sample, runs),
        "msgspec_record_lines_per_s": baseline(RECORD_DECODER.decode, sample, runs),
        "screen_lines_per_s_best": screen_best,
        "screen_lines_per_s_median": screen_median,
        "screen_counted_share": screened,
        "bytes_per_kept_event": round(per_event),
        "traced_peak_mb_per_20k": round(peak, 1),
    }


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round((peak if sys.platform == "darwin" else peak * 1024) / 2**20, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Return the figures of one bench run."""
    sets: list[tuple[str, list[bytes]]]
    if args.input:
        with Path(args.input).open("rb") as handle:
            sets = [(args.input, handle.readlines()[: args.lines])]
    else:
        generator = Generator(args.seed)
        count = args.lines or DEFAULT_LINES
        sets = [
            ("alerts", generator.lines(count, mixed=False)),
            ("mixed", generator.lines(count, mixed=True)),
        ]
    gc.collect()
    results = [measure(name, lines, args.runs) for name, lines in sets]
    alerts = next((r for r in results if r["set"] == "alerts"), None)
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "seed": args.seed,
        "sets": results,
        "peak_rss_mb": _peak_rss_mb(),
        "target_alert_lines_per_s": TARGET_ALERT_LINES,
        "meets_target": None
        if alerts is None
        else alerts["lines_per_s_median"] >= TARGET_ALERT_LINES,
    }


def report(figures: dict[str, Any]) -> str:
    """Return the figures as lines a person reads, ending with the verdict."""
    out = [f"python {figures['python']} on {figures['machine']}, seed {figures['seed']}"]
    for s in figures["sets"]:
        out.append(
            f"{s['set']}: {s['lines']:,} lines of {s['mean_line_bytes']} B on average, "
            f"{s['lines_per_s_best']:,} lines/s best, {s['lines_per_s_median']:,} median "
            f"(per CPU second; {s['wall_lines_per_s_median']:,} by the wall clock), "
            f"{s['quarantined']:,} quarantined"
        )
        out.append(
            f"    screen (counts protocol lines without a full parse): "
            f"{s['screen_lines_per_s_best']:,} lines/s best, {s['screen_lines_per_s_median']:,} "
            f"median, {s['screen_counted_share']:.1%} of the lines counted without the parser"
        )
        out.append(
            f"    memory: {s['bytes_per_kept_event']:,} B per kept event, traced peak "
            f"{s['traced_peak_mb_per_20k']} MB while parsing and keeping {MEMORY_SAMPLE:,} lines"
        )
        out.append(
            f"    decoders alone on the same lines: stdlib json.loads "
            f"{s['json_loads_lines_per_s']:,}/s, msgspec into EveRecord "
            f"{s['msgspec_record_lines_per_s']:,}/s"
        )
        for event_type, t in s["per_event_type"].items():
            out.append(f"    {event_type:<12} {t['lines']:>9,} lines {t['lines_per_s']:>11,} /s")
    out.append(f"peak RSS {figures['peak_rss_mb']} MB (includes the lines held in memory)")
    if figures["meets_target"] is not None:
        verdict = "PASS" if figures["meets_target"] else "FAIL"
        median = figures["sets"][0]["lines_per_s_median"]
        out.append(
            f"VERDICT: {verdict}: median {median:,} alert lines/s "
            f"{'>=' if figures['meets_target'] else '<'} target {TARGET_ALERT_LINES:,}/s"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print its figures; return 0, or 1 if the alert target was missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--lines", type=int, help=f"lines per generated set ({DEFAULT_LINES:,}), or read"
    )
    parser.add_argument("--input", help="an eve.json to read instead of generating")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = run(args)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 1 if figures["meets_target"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
