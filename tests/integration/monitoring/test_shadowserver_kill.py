"""Kill -9 at any moment, restart, and every report row is stored exactly once — with the
pipeline's write-behind on, as `vardeild ingest shadowserver` runs it (a writer thread commits
batch N, with its checkpoint, while batch N+1 is parsed).

`vardeild ingest shadowserver FILE` runs as a subprocess over an Accessible-SMB report of
150,000 rows, two thirds of them on members' networks; the test SIGKILLs it at random (seeded)
moments, restarts it each time, and in the end compares the database with the truth computed
from the file: one event per member row, alert counts per key as the rows say, and every row
counted exactly once (stored or unattributed; no duplicates), which only holds if each
batch's checkpoint was committed with its data and in reading order.
"""

from __future__ import annotations

import os
import random
import sys
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

ROWS = 150_000
KILLS = 6
HEADER = (
    "timestamp,ip,port,hostname,tag,asn,geo,region,city,naics,sic,smb_implant,arch,key,"
    "smbv1_support,smb_major_number,smb_minor_number,smb_revision,smb_version_string"
)
IDENTIFIER = "accessible-smb"


def generate(path: Path, rng: random.Random) -> tuple[Counter[tuple[int, int]], int]:
    """Write the report; return the true alert counts per (member index, window start) and
    how many rows touch no member."""
    truth: Counter[tuple[int, int]] = Counter()
    outside = 0
    with path.open("w", encoding="ascii", newline="") as handle:
        handle.write(HEADER + "\n")
        for n in range(ROWS):
            at = T0 + timedelta(seconds=n)
            place = n % 3  # 0 and 1: a member's network; 2: nobody's
            ip = f"{(198, 198, 100)[place]}.{(18, 19, 64)[place]}.{n // 250 % 250}.{1 + n % 250}"
            version = rng.choice(("N,2,1,0,SMB 2.1", "Y,1,0,0,SMB 1.0"))
            handle.write(
                f"{at:%Y-%m-%d %H:%M:%S},{ip},445,host-{n}.example.net,smb,64512,NO,Region,City,"
                f"0,0,N,,,{version}\n"
            )
            if place == 2:
                outside += 1
            else:
                window = int((at - T0).total_seconds()) // 3600 * 3600 + int(T0.timestamp())
                truth[(place, window)] += 1
    return truth, outside


@pytest.fixture
def database(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as platform:
        yield platform


@pytest.mark.slow
def test_sigkill_during_a_report_loses_and_duplicates_nothing(
    database: Platform, fresh_database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261128)
    members = [add_member(database, "198.18.0.0/16"), add_member(database, "198.19.0.0/16")]
    report = tmp_path / "report.csv"
    truth, outside = generate(report, rng)
    env = {
        **os.environ,
        "VARDEILD_DATABASE_URL": fresh_database_url,
        "VARDEILD_DATA_DIR": str(tmp_path / "data"),
        # Many batches, so that kills land between and inside them (the default is 50,000).
        "VARDEILD_INGEST_BATCH_RECORDS": "5000",
    }
    env.pop("VARDEILD_CONFIG", None)
    command = [
        *(sys.executable, "-m", "vardeild.cli.main", "ingest", "shadowserver"),
        *(str(report), "--json"),
    ]
    kill_and_finish(
        command, env, stored=lambda: stored_events(database), rng=rng, kills=KILLS, max_pause=1.0
    )

    inside = ROWS - outside
    with database.session() as session:
        assert count_events(session) == inside
        distinct = session.scalar(select(func.count(func.distinct(EventRow.fingerprint))))
        assert distinct == inside
        # Every row counted once: nothing read twice, nothing skipped.
        assert counters(session) == {"stored": inside, "unattributed": outside}
        found = {a.alert_key: a.count for a in alerts(session)}
    expected = {
        alert_key(members[member], IDENTIFIER, "", window): count
        for (member, window), count in truth.items()
    }
    assert found == expected
