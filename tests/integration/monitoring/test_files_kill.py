"""Kill -9 at any moment, restart, and every event is stored exactly once.

`vardeild ingest eve FILE` runs as a subprocess over a few hundred thousand EVE lines for
member addresses; the test SIGKILLs it at random (seeded) moments, restarts it each time, and
in the end compares the database with the truth computed from the file: one event per distinct
line, alert counts per key as the lines say, and no record read twice (the duplicate counter
stays at zero, which only holds if each read position was committed with its data).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.cli import migrated_platform
from support.kills import kill_and_finish, stored_events
from support.pipeline import T0, add_member, alerts, count_events, counters
from vardeild.monitoring.alerts import alert_key
from vardeild.monitoring.tables import EventRow
from vardeild.platform import Platform

LINES = 200_000
KILLS = 6
ATTACKERS = [f"203.0.113.{i}" for i in range(1, 41)]
SIDS = [2001219, 2010935, 2019401, 2024897]


def generate(path: Path, rng: random.Random) -> Counter[tuple[int, str, str, int]]:
    """Write the EVE file and return the true alert counts per (member index, identifier,
    external party, window start)."""
    truth: Counter[tuple[int, str, str, int]] = Counter()
    with path.open("wb") as handle:
        for n in range(LINES):
            at = T0 + timedelta(milliseconds=37 * n)
            src, sid, member = rng.choice(ATTACKERS), rng.choice(SIDS), n % 2
            record = {
                "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
                "flow_id": 10**12 + n,
                "event_type": "alert",
                "src_ip": src,
                "src_port": 1024 + n % 60000,
                "dest_ip": f"10.{member + 1}.{n % 250}.{1 + n % 200}",
                "dest_port": 443,
                "proto": "TCP",
                "alert": {
                    "action": "allowed",
                    "gid": 1,
                    "signature_id": sid,
                    "rev": 3,
                    "signature": f"ET TEST {sid}",
                    "category": "Attempted Information Leak",
                    "severity": 2,
                },
            }
            handle.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            window = int((at - T0).total_seconds()) // 3600 * 3600 + int(T0.timestamp())
            truth[(member, f"sid:1:{sid}", src, window)] += 1
    return truth


@pytest.fixture
def database(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as platform:
        yield platform


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    database: Platform, fresh_database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261128)
    members = [add_member(database, "10.1.0.0/16"), add_member(database, "10.2.0.0/16")]
    eve = tmp_path / "eve.json"
    truth = generate(eve, rng)
    env = {
        **os.environ,
        "VARDEILD_DATABASE_URL": fresh_database_url,
        "VARDEILD_DATA_DIR": str(tmp_path / "data"),
        # Many batches, so that kills land between and inside them (the default is 50,000).
        "VARDEILD_INGEST_BATCH_RECORDS": "5000",
    }
    env.pop("VARDEILD_CONFIG", None)
    command = [sys.executable, "-m", "vardeild.cli.main", "ingest", "eve", str(eve), "--json"]
    kill_and_finish(
        command, env, stored=lambda: stored_events(database), rng=rng, kills=KILLS, max_pause=1.5
    )

    with database.session() as session:
        assert count_events(session) == LINES
        distinct = session.scalar(select(func.count(func.distinct(EventRow.fingerprint))))
        assert distinct == LINES
        assert counters(session) == {"stored": LINES}  # nothing was ever read twice
        found = {a.alert_key: a.count for a in alerts(session)}
    expected = {
        alert_key(members[member], identifier, party, window): count
        for (member, identifier, party, window), count in truth.items()
    }
    assert found == expected


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_follower_stops_cleanly_on_a_signal(
    database: Platform, fresh_database_url: str, tmp_path: Path, signum: int
) -> None:
    add_member(database, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    eve.write_bytes(b"".join(_line(n) + b"\n" for n in range(50)))
    env = {
        **os.environ,
        "VARDEILD_DATABASE_URL": fresh_database_url,
        "VARDEILD_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("VARDEILD_CONFIG", None)
    command = [sys.executable, "-m", "vardeild.cli.main", "ingest", "eve", str(eve)]
    process = subprocess.Popen(
        [*command, "--follow", "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while stored_events(database) < 50:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the follower stored nothing in 60 s"
        time.sleep(0.05)
    with eve.open("ab") as handle:  # more arrives while it follows
        handle.write(b"".join(_line(n) + b"\n" for n in range(50, 60)))
    while stored_events(database) < 60:
        assert time.monotonic() < deadline, "the follower did not pick up appended lines"
        time.sleep(0.05)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["events_stored"] == 60
    again = subprocess.run([*command, "--json"], env=env, capture_output=True, timeout=120)
    assert json.loads(again.stdout)["records"] == 0  # the position was committed


def _line(n: int) -> bytes:
    return json.dumps(
        {
            "timestamp": (T0 + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
            "event_type": "alert",
            "src_ip": "203.0.113.5",
            "src_port": 1024 + n,
            "dest_ip": "10.1.0.5",
            "dest_port": 22,
            "proto": "TCP",
            "alert": {"gid": 1, "signature_id": 1, "signature": "T", "severity": 2},
        }
    ).encode()
