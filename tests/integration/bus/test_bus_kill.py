"""The JetStream kill test: `vardeild sensors ship` puts a few hundred thousand EVE lines on the
stream while two `vardeild worker` processes store them; workers (and once the shipper) are
SIGKILLed at seeded random moments and restarted. At the end every line is stored exactly once
as an event, every alert counts what the lines say, nothing is left in the queue and nothing
went to the dead letters.

Why this holds: a worker acks a batch only after the pipeline's commit, so a kill before the
ack gets the batch redelivered (after the ack wait, 3 s here) and the pipeline skips it if its
batch key — the message id — was committed; the shipper publishes from its spool under ids
fixed when the lines were packed, so a resend after its kill is dropped by JetStream.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.eve_stream import alert_stream, register_members, stored
from vardeild.app import build_platform
from vardeild.bus.nats import NatsConfig, NatsTransport, QueueState
from vardeild.monitoring.tables import EventRow
from vardeild.platform import Platform
from vardeild.settings import Settings

SEED = 20261128
LINES = int(os.environ.get("VARDEILD_KILL_TEST_LINES", "200000"))
LINES_PER_MESSAGE = 500  # fewer, larger batches: the pipeline's cost per batch is the bulk
WORKER_KILLS = 6
ACK_WAIT = 3.0  # seconds before a killed worker's batches go to another
DEADLINE = 150.0  # for the whole exchange
FIRST_SHARE = 0.4  # of the lines in the file when the shipper starts; the rest come in parts
NETWORKS = [f"10.92.{n}.0/24" for n in range(1, 21)]


@dataclass
class Child:
    """A `vardeild` child process, started again after each kill."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        """Start (or restart) the process."""
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vardeild.cli.main", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL it and reap it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def running(self) -> bool:
        """Whether it is alive."""
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM it and return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Return once the current run's log shows text (at most timeout seconds)."""
        deadline = time.monotonic() + timeout
        marker = f"--- start {self.starts}\n"
        while time.monotonic() < deadline:
            log = self.log.read_text(errors="replace")
            if text in log[log.rfind(marker) :]:
                return
            assert self.running(), f"{self.name} died:\n{self.tail()}"
            time.sleep(0.02)
        raise AssertionError(f"{self.name} never logged {text!r}:\n{self.tail()}")

    def tail(self) -> str:
        """The end of its log, for failure messages."""
        return self.log.read_text(errors="replace")[-4000:]


def _env(settings: Settings, config: NatsConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDEILD_")}
    env.update(
        VARDEILD_DATABASE_URL=str(settings.database_url),
        VARDEILD_DATA_DIR=str(settings.data_dir),
        VARDEILD_NATS_URL=config.url,
        VARDEILD_NATS_STREAM=config.stream,
        VARDEILD_NATS_SUBJECT=config.subject,
        VARDEILD_NATS_CONSUMER=config.consumer,
        VARDEILD_NATS_DEAD_LETTER_SUBJECT=config.dead_letter_subject,
        VARDEILD_NATS_ACK_WAIT=str(config.ack_wait),
        VARDEILD_NATS_STREAM_MAX_BYTES=str(config.max_bytes),
    )
    return env


def _wait_for_work(config: NatsConfig, shipper: Child, started: float) -> None:
    """Wait until the stream holds messages not yet delivered or not yet acknowledged."""
    while True:
        state = asyncio.run(_queue_state(config))
        if state.messages > 0 or state.ack_pending > 0:
            return
        assert shipper.running(), shipper.tail()
        assert time.monotonic() - started < DEADLINE, "the new part never reached the stream"
        time.sleep(0.005)


async def _queue_state(config: NatsConfig) -> QueueState:
    transport = await NatsTransport.connect(config)
    try:
        return await transport.queue_state()
    finally:
        await transport.close()


async def _ensure_stream(config: NatsConfig) -> None:
    transport = await NatsTransport.connect(config)
    try:
        await transport.ensure_stream()
    finally:
        await transport.close()


def _events_stored(platform: Platform) -> int:
    with platform.session() as session:
        return int(session.scalar(select(func.count()).select_from(EventRow)) or 0)


def _chunks(lines: list[bytes], first_share: float, parts: int) -> list[bytes]:
    """Split lines into a first chunk of first_share of them and `parts` equal others."""
    first = int(len(lines) * first_share)
    rest = lines[first:]
    size = -(-len(rest) // parts)
    pieces = [lines[:first], *(rest[n * size : (n + 1) * size] for n in range(parts))]
    return [b"".join(line + b"\n" for line in piece) for piece in pieces]


@pytest.mark.slow
def test_every_event_is_stored_exactly_once_through_kills(
    fresh_database_url: str, nats_config: NatsConfig, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    config = replace(nats_config, ack_wait=ACK_WAIT)
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data")
    platform = build_platform(settings, migrate=True)
    try:
        _exchange_with_kills(platform, settings, config, rng, tmp_path)
    finally:
        platform.engine.dispose()


def _exchange_with_kills(
    platform: Platform,
    settings: Settings,
    config: NatsConfig,
    rng: random.Random,
    tmp_path: Path,
) -> None:
    owners = dict(zip(NETWORKS, register_members(platform, NETWORKS), strict=True))
    stream = alert_stream(LINES, owners, seed=SEED)
    # The sensor's file grows while the workers are killed: a part of it is appended just
    # before each kill, so every kill lands while there is work however fast this machine
    # stores (the shipper follows the file like `tail -F`).
    first, *later = _chunks(stream.lines, FIRST_SHARE, WORKER_KILLS)
    eve = tmp_path / "eve.json"
    eve.write_bytes(first)
    asyncio.run(_ensure_stream(config))

    env = _env(settings, config)
    workers = [
        Child(f"worker-{n}", ["worker", "--report-every", "2"], env, tmp_path / f"worker-{n}.log")
        for n in (1, 2)
    ]
    shipper = Child(
        "shipper",
        [
            "sensors",
            "ship",
            str(eve),
            "--sensor",
            "kill-s1",
            "--lines",
            str(LINES_PER_MESSAGE),
            "--spool",
            str(tmp_path / "spool"),
        ],
        env,
        tmp_path / "shipper.log",
    )
    victims = [rng.randrange(len(workers)) for _ in range(WORKER_KILLS)]
    pauses = [rng.uniform(0.02, 0.3) for _ in range(WORKER_KILLS)]
    started = time.monotonic()
    try:
        for worker in workers:
            worker.start()
        shipper.start()
        # The shipper dies once it has had some messages acknowledged, and resumes from its spool.
        while not (tmp_path / "spool" / "acked.json").exists():
            assert shipper.running(), shipper.tail()
            assert time.monotonic() - started < DEADLINE, shipper.tail()
            time.sleep(0.005)
        shipper.kill()
        shipper.start()
        # Each worker kill lands at a seeded random moment after the victim began consuming.
        killed_with_work_left = 0
        for victim, pause, chunk in zip(victims, pauses, later, strict=True):
            workers[victim].wait_for("consuming")
            with eve.open("ab") as sensor_file:
                sensor_file.write(chunk)
            # The kill lands a random moment after the new part reached the stream: two fast
            # workers can store a part within the shipper's poll and a fixed pause, and a kill
            # on an empty queue proves nothing.
            _wait_for_work(config, shipper, started)
            time.sleep(pause / 3)
            # Work left: messages not yet delivered, or delivered and not yet acknowledged
            # (those a killed worker held, which is what this test is about).
            state = asyncio.run(_queue_state(config))
            killed_with_work_left += int(state.messages > 0 or state.ack_pending > 0)
            workers[victim].kill()
            workers[victim].start()
        assert killed_with_work_left >= WORKER_KILLS - 1, "kills must land while there is work"

        # Every line read, published, stored and acknowledged; then everyone stops cleanly.
        while True:
            state = asyncio.run(_queue_state(config))
            if state.messages == 0 and state.ack_pending == 0 and _events_stored(platform) == LINES:
                break
            assert time.monotonic() - started < DEADLINE, f"the queue never drained: {state}"
            assert shipper.running(), shipper.tail()
            time.sleep(0.2)
        for child in (shipper, *workers):
            code = child.stop()
            assert code == 0, child.tail()  # SIGTERM: finish, ack, exit cleanly
        assert "Shipped" in shipper.tail()
        for worker in workers:
            assert "Stopped:" in worker.tail()
    finally:
        for child in (*workers, shipper):
            if child.running():
                child.kill()

    assert state.dead_letters == 0
    held = stored(platform)
    assert held.events == LINES, "every line stored, none twice"
    assert held.distinct_fingerprints == LINES
    assert held.alert_counts == stream.truth
    assert held.quarantined == 0
