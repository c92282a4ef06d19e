"""Work a serving process does on its own, beside answering requests: a task run every so
many seconds in a thread of its own, such as the check for sensors that have fallen silent.

A failing run is logged and the next one runs at its time: a database that is away for a
moment must not end the checks for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from vardeild.core.clock import Clock
from vardeild.monitoring.sensor_model import SilentSensor
from vardeild.monitoring.sensors import check_silent_sensors

log = logging.getLogger(__name__)

SessionScope = Callable[[], AbstractContextManager[Session]]


class PeriodicTask:
    """Runs `run` at once and then every `interval` seconds in a daemon thread, until
    stopped; `runs` counts the runs that completed (failed ones included)."""

    def __init__(self, name: str, run: Callable[[], object], interval: float) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.name = name
        self.interval = interval
        self._run = run
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Condition()
        self.runs = 0
        self.failures = 0

    def start(self) -> PeriodicTask:
        """Start the thread; return self."""
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._run()
            except Exception:  # logged, and tried again at the next interval
                log.exception("%s failed; trying again in %s s", self.name, self.interval)
                with self._lock:
                    self.failures += 1
            with self._lock:
                self.runs += 1
                self._lock.notify_all()
            self._stop.wait(self.interval)

    def wait_for_runs(self, count: int, timeout: float) -> bool:
        """Return True once `count` runs have completed, False if timeout seconds pass first."""
        with self._lock:
            return self._lock.wait_for(lambda: self.runs >= count, timeout)

    def request_stop(self) -> None:
        """Ask the thread to stop after the run in progress; do not wait."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop after the run in progress, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Return True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()


def silence_check(
    session_scope: SessionScope,
    clock: Clock,
    *,
    on_found: Callable[[list[SilentSensor]], None] | None = None,
) -> Callable[[], list[SilentSensor]]:
    """Return a function that runs one silence check in its own transaction and logs each
    sensor newly found silent (its alert is raised by the check)."""

    def run() -> list[SilentSensor]:
        with session_scope() as session:
            found = check_silent_sensors(session, clock)
        for silent in found:
            log.warning(
                "sensor %s has fallen silent: not heard from since %s (sensor alert %s)",
                silent.name,
                silent.last_seen_at.isoformat(timespec="seconds"),
                silent.alert_id,
            )
        if on_found is not None and found:
            on_found(found)
        return found

    return run


def stop_all(tasks: Iterable[PeriodicTask], timeout: float = 10.0) -> None:
    """Stop every task (each asked first, then each waited for)."""
    held = list(tasks)
    for task in held:
        task.request_stop()
    for task in held:
        task.stop(timeout)
