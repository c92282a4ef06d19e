"""Kill -9 for the HTTP way in: `vardeild serve` is SIGKILLed at seeded random moments while a
sensor posts batches of EVE lines, each under its Idempotency-Key and sent again until it is
answered; after restarts, every event is stored exactly once.

The server answers only after the pipeline's commit and the pipeline skips a batch key it has
committed, so neither a kill before the commit (the batch is sent again) nor one between the
commit and the answer (the resend is skipped) may lose or double anything. The test checks the
stored events, the alerts' counts, the quarantine, the batch keys and the sensor's hourly
counts against what was sent.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from support.factories import CERT_ADMIN, org_data
from support.sensors import eve_alert, free_port, register_sensor
from vardeild.app import build_platform
from vardeild.members import service as members
from vardeild.monitoring.sensor_tables import SensorEventCountRow
from vardeild.monitoring.tables import AlertRow, EventRow, IngestBatchRow, QuarantineRow
from vardeild.platform import Platform
from vardeild.settings import Settings

SEED = 20261128
BATCHES = 240
LINES = 10  # alert lines per batch
BAD_EVERY = 12  # every 12th batch also carries a line that cannot be parsed
KILLS = 5
SIGNATURES = (2001219, 2010935, 2024897)
NETWORKS = ("10.81.1.0/24", "10.81.2.0/24", "10.81.3.0/24")
DEADLINE = 300.0  # a hang guard for the whole exchange (restarts are slow on a busy machine)
INGEST = "/api/v1/ingest/eve"


@dataclass
class Server:
    """`vardeild serve` as a child process on a fixed port, started and killed at will."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        """Start the server and return once it answers its health check (at most 30 s)."""
        self.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vardeild.cli.main", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                status, _ = request(self.port, "GET", "/healthz", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("the server did not come up in 30 s:\n" + self.tail())

    def kill(self) -> None:
        """SIGKILL the server and wait for it to be gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server, politely if it will, else by force."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def tail(self) -> str:
        """Return the end of the server's log, for failure messages."""
        return self.log.read_text(errors="replace")[-3000:]


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> tuple[int, bytes]:
    """Make one HTTP request on a new connection; return status and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@dataclass
class Sender:
    """The sensor: posts each batch until it is answered 200, then the next.

    For the batches in `lose_answer` it sends the request, signals `sent`, waits for `resume`
    and then drops the connection unread, as a sensor whose request timed out would: the test
    kills the server in between, once the batch is committed, so the answer is lost for sure.
    """

    port: int
    secret: str
    batches: list[tuple[str, bytes]]
    lose_answer: frozenset[int] = frozenset()
    done: int = 0
    failures: int = 0
    skipped: int = 0
    error: str | None = None
    sent: threading.Event = field(default_factory=threading.Event)
    resume: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Send every batch, retrying through kills, within DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        try:
            for number, (key, body) in enumerate(self.batches):
                first = True
                while True:
                    if time.monotonic() > deadline:
                        self.error = f"out of time after {self.done} batches"
                        return
                    headers = {
                        "Authorization": f"Bearer {self.secret}",
                        "Content-Type": "application/x-ndjson",
                        "Idempotency-Key": key,
                    }
                    if first and number in self.lose_answer:
                        first = False
                        self._send_and_drop(body, headers)
                        continue
                    try:
                        status, answer = request(
                            self.port, "POST", INGEST, body=body, headers=headers
                        )
                    # Refused, reset or cut off by a kill (mid-answer: IncompleteRead).
                    except (OSError, http.client.HTTPException):
                        self.failures += 1
                        time.sleep(0.02)
                        continue
                    if status == 200:
                        self.skipped += bool(json.loads(answer)["skipped_batch"])
                        self.done += 1
                        break
                    if status == 429:  # over the sensor's rate: wait as told, send again
                        self.failures += 1
                        time.sleep(0.1)
                        continue
                    if status < 500:
                        self.error = f"batch {key}: {status} {answer[:300]!r}"
                        return
                    self.failures += 1
                    time.sleep(0.02)
        finally:
            self.finished.set()

    def _send_and_drop(self, body: bytes, headers: dict[str, str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", INGEST, body=body, headers=headers)
            self.sent.set()
            if not self.resume.wait(30):
                self.error = "never resumed"
        except OSError:
            pass
        finally:
            connection.close()
            self.failures += 1
            self.sent.clear()
            self.resume.clear()


def _batches(rng: random.Random) -> tuple[list[tuple[str, bytes]], Counter[tuple[int, str]]]:
    """Return the batches to send and the truth: events per (network index, identifier)."""
    truth: Counter[tuple[int, str]] = Counter()
    batches = []
    n = 0
    for number in range(BATCHES):
        lines = []
        for _ in range(LINES):
            net = rng.randrange(len(NETWORKS))
            sid = rng.choice(SIGNATURES)
            host = NETWORKS[net].replace("0/24", str(rng.randrange(1, 255)))
            lines.append(eve_alert(n, dest_ip=host, signature_id=sid, signature=f"sig {sid}"))
            truth[(net, f"sid:1:{sid}")] += 1
            n += 1
        if number % BAD_EVERY == 0:
            lines.insert(rng.randrange(len(lines)), b'{"event_type": "alert", "truncated')
        batches.append((f"batch-{number:04d}", b"\n".join(lines) + b"\n"))
    return batches, truth


def _wait_committed(platform: Platform, key: str) -> None:
    """Return once the server has committed the batch key (at most 20 s)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with platform.session() as session:
            found = session.scalar(select(IngestBatchRow.id).where(IngestBatchRow.batch_key == key))
        if found is not None:
            return
        time.sleep(0.005)
    raise AssertionError(f"batch {key} was never committed")


@pytest.mark.slow
def test_every_event_is_stored_exactly_once_through_kills(
    fresh_database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    settings = Settings(database_url=fresh_database_url, data_dir=tmp_path / "data")
    platform = build_platform(settings, migrate=True)
    with platform.session() as session:
        owners = [
            int(
                members.create_organisation(
                    session,
                    CERT_ADMIN,
                    org_data(networks=[network]),
                    clock=platform.clock,
                    key_inspector=platform.key_inspector,
                )["id"]
            )
            for network in NETWORKS
        ]
        sensor = register_sensor(session, platform.clock, "kill-test-ids")
    batches, truth = _batches(rng)

    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDEILD_")}
    env.update(VARDEILD_DATABASE_URL=fresh_database_url, VARDEILD_DATA_DIR=str(settings.data_dir))
    env["VARDEILD_INGEST_RATE_PER_SECOND"] = "0"  # kills are under test here, not rate limits
    server = Server(port=free_port(), env=env, log=tmp_path / "serve.log")
    # Most kills land at a random moment of a request's life; two land after a batch was
    # committed and before its answer was read, the case the batch keys are there for.
    kills = sorted(rng.sample(range(5, BATCHES - 5), KILLS))
    after_commit = frozenset(rng.sample(kills, 2))
    sender = Sender(
        port=server.port, secret=sensor.secret, batches=batches, lose_answer=after_commit
    )
    server.start()
    thread = threading.Thread(target=sender.run, daemon=True)
    thread.start()
    try:
        for point in kills:
            if point in after_commit:
                assert sender.sent.wait(DEADLINE), "the sender never sent the batch to lose"
                _wait_committed(platform, batches[point][0])
            else:
                while sender.done < point and not sender.finished.is_set():
                    time.sleep(0.002)
                time.sleep(rng.uniform(0, 0.03))  # anywhere in the next request's life
            server.kill()
            server.start()
            sender.resume.set()
        assert sender.finished.wait(DEADLINE + 5), "the sender hung"
    finally:
        server.stop()
        sender.resume.set()
        thread.join(timeout=5)
    assert sender.error is None, sender.error + "\n" + server.tail()
    assert sender.done == BATCHES
    assert sender.failures >= KILLS, "every kill must have cost the sender an attempt"
    assert sender.skipped >= len(after_commit), "a batch committed before a kill was resent"

    with platform.session() as session:
        events = session.scalar(select(func.count()).select_from(EventRow))
        fingerprints = session.scalar(select(func.count(func.distinct(EventRow.fingerprint))))
        stored: dict[tuple[int, str], Any] = {
            (member, identifier): total
            for member, identifier, total in session.execute(
                select(
                    AlertRow.member_id,
                    AlertRow.classification_identifier,
                    func.sum(AlertRow.count),
                ).group_by(AlertRow.member_id, AlertRow.classification_identifier)
            )
        }
        held = session.scalar(select(func.count()).select_from(QuarantineRow))
        keys = session.scalar(select(func.count()).select_from(IngestBatchRow))
        counted = session.scalar(
            select(func.sum(SensorEventCountRow.count)).where(
                SensorEventCountRow.sensor_id == sensor.id
            )
        )
    platform.engine.dispose()
    bad = len(range(0, BATCHES, BAD_EVERY))
    assert events == fingerprints == BATCHES * LINES
    assert {k: int(v) for k, v in stored.items()} == {
        (owners[net], identifier): n for (net, identifier), n in truth.items()
    }
    assert held == bad
    assert keys == BATCHES
    assert counted == BATCHES * LINES + bad
