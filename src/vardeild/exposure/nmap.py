"""Running the real nmap with service detection over targets that `scope` has already checked.

The command line is built here and only here, from canonical CIDR targets and a validated port
list, so a test can assert exactly what nmap is handed. nmap writes XML to stdout (`-oX -`);
`--stats-every` makes it add `<taskprogress>` elements as it goes, which are passed on as
progress. `--max-rate` bounds packets per second so that a scan never floods a member's link.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from vardeild.exposure.model import ParsedScan, Source
from vardeild.exposure.nmap_xml import parse_nmap_xml

_PORTS = re.compile(r"^(?:[TU]:)?\d{1,5}(?:-\d{1,5})?(?:,(?:[TU]:)?\d{1,5}(?:-\d{1,5})?)*$")
_PROGRESS = re.compile(rb'<taskprogress task="([^"]*)"[^>]*percent="([0-9.]+)"')
_CIDR = re.compile(r"^[0-9a-fA-F:.]+/\d{1,3}$")

Progress = Callable[[str, float], None]


class ScanFailed(RuntimeError):
    """nmap could not run, or ended with an error; says what it printed."""


@dataclass(frozen=True)
class ScanOptions:
    """How a scan runs: which ports, how fast, how long at most."""

    ports: str = "21,22,23,25,53,80,110,143,443,445,993,995,1433,3306,3389,5432,5900,8080,8443"
    max_rate: int = 100  # packets per second, nmap --max-rate
    host_timeout_seconds: int = 900
    version_intensity: int = 7
    nmap: str = "nmap"


def check_ports(ports: str) -> str:
    """Return the port list if it is nmap syntax of numbers and ranges; ValueError otherwise."""
    value = ports.replace(" ", "")
    if not _PORTS.match(value):
        raise ValueError(f"{ports!r} is not a port list such as 22,80,443 or 1-1024")
    for number in re.findall(r"\d+", value):
        if not 0 < int(number) < 65536:
            raise ValueError(f"port {number} is outside 1-65535")
    return value


def build_command(targets: list[str], options: ScanOptions) -> list[str]:
    """Return nmap's argv for targets (canonical CIDR, already checked against the scope)."""
    for target in targets:
        if not _CIDR.match(target):
            # Only scope.resolve_targets' output belongs here; anything else is a bug.
            raise ValueError(f"{target!r} is not a canonical CIDR target")
    if not targets:
        raise ValueError("no targets")
    if options.max_rate <= 0:
        raise ValueError("max_rate must be positive")
    return [
        options.nmap,
        "-sV",
        "--version-intensity",
        str(options.version_intensity),
        "-n",  # no reverse DNS: nothing leaves for resolvers about members' addresses
        "-Pn",
        "--max-rate",
        str(options.max_rate),
        "--host-timeout",
        f"{options.host_timeout_seconds}s",
        "--stats-every",
        "2s",
        # TLS certificate and protocol/cipher facts, and page titles: the inventory's fields.
        "--script",
        "ssl-cert,ssl-enum-ciphers,http-title",
        "-p",
        check_ports(options.ports),
        "-oX",
        "-",
        *(["-6"] if any(":" in t for t in targets) else []),
        *targets,
    ]


def run_nmap(command: list[str], *, progress: Progress | None = None, timeout: float) -> bytes:
    """Run nmap and return its XML; ScanFailed if it cannot start, fails, or runs past timeout."""
    if shutil.which(command[0]) is None:
        raise ScanFailed(f"{command[0]} is not installed (apt-get install nmap)")
    # stderr goes to a file, not a pipe: nmap's warnings must never block it while we read
    # its XML from stdout.
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(  # noqa: S603 - argv built by build_command, no shell
            command, stdout=subprocess.PIPE, stderr=errors
        ) as process,
    ):
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        chunks: list[bytes] = []
        try:
            assert process.stdout is not None
            for line in process.stdout:
                chunks.append(line)
                found = _PROGRESS.search(line)
                if found and progress is not None:
                    progress(found.group(1).decode(), float(found.group(2)))
            code = process.wait()
        finally:
            timer.cancel()
        errors.seek(0)
        stderr = errors.read()[-2000:]
    if code != 0:
        why = "killed after the time limit" if code < 0 else f"exit status {code}"
        raise ScanFailed(f"nmap failed ({why}): {stderr.decode(errors='replace')[-500:]}")
    return b"".join(chunks)


def scan(
    targets: list[str],
    options: ScanOptions,
    *,
    progress: Progress | None = None,
    timeout: float = 3600.0,
) -> tuple[list[str], ParsedScan]:
    """Scan targets with real nmap; return the command run and what it saw."""
    command = build_command(targets, options)
    output = run_nmap(command, progress=progress, timeout=timeout)
    parsed = parse_nmap_xml(output, f"scan {' '.join(targets)}", source=Source.SCAN)
    parsed.scanned_ports = options.ports
    parsed.covered = list(targets)
    return command, parsed


def in_window(window: str, now: datetime) -> bool:
    """Return True if now's local time is inside window ('HH:MM-HH:MM', may cross midnight;
    empty means always)."""
    if not window.strip():
        return True
    start_text, _, end_text = window.partition("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    moment = now.time().replace(tzinfo=None)
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end
