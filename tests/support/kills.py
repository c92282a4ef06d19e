"""Killing a `vardeild ingest` reader with SIGKILL at random moments, as the file kill tests
do: each run is killed once it has committed something, and a last run finishes the file."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

from vardeild.platform import Platform


def kill_and_finish(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    stored: Callable[[], int],
    rng: random.Random,
    kills: int,
    max_pause: float,
) -> None:
    """Start command kills times, each killed with SIGKILL up to max_pause seconds after its
    first commit (stored() moved); then run it to its end. At least half the kills must land
    while the reader still had work, or the test proves nothing."""
    interrupted = 0
    for _ in range(kills):
        before = stored()
        process = subprocess.Popen(
            list(command), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # Wait for the first commit of this run, then kill at a random moment after it.
        deadline = time.monotonic() + 60
        while stored() == before and process.poll() is None:
            assert time.monotonic() < deadline, "the reader committed nothing in 60 s"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, max_pause))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            interrupted += 1
        process.wait(timeout=60)
        assert process.stderr is not None
        with process.stderr:
            assert process.returncode in (0, -signal.SIGKILL), process.stderr.read().decode()[
                -2000:
            ]
    assert interrupted >= kills // 2, "too few kills landed mid-file to prove anything"
    final = subprocess.run(list(command), env=dict(env), capture_output=True, timeout=600)
    assert final.returncode == 0, final.stderr.decode()[-2000:]


def stored_events(platform: Platform) -> int:
    """How many events are stored, read outside the engine's transactions: on SQLite those
    begin IMMEDIATE, and a poll that waits for the write lock of a reader committing batch
    after batch sees its commits late or not at all (the kills then land after the end)."""
    connection = platform.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM events")
        (count,) = cursor.fetchone()
        return int(count)
    finally:
        connection.close()
