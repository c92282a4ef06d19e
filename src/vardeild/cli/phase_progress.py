"""Progress bars for long loads and imports that report in phases (`phase, done, total`), on
stderr and only on a terminal: the intel and vulndb commands draw them alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

PhaseProgress = Callable[[str, int, int], None]  # (phase, done, total)

# Above this size an intel load shows progress on a terminal; smaller ones finish before it would.
LARGE_LOAD_BYTES = 256 * 1024


@contextmanager
def phase_bars(label: str = "", *, enabled: bool = True) -> Iterator[PhaseProgress | None]:
    """Yield a callback drawing one bar per phase on stderr (each named `label: phase`, or the
    phase alone without a label) when enabled and stderr is a terminal, else None."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def advance(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                name = f"{label}: {phase}" if label else phase
                tasks[phase] = progress.add_task(name, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield advance


def progress_bars(label: str, size: int) -> AbstractContextManager[PhaseProgress | None]:
    """Phase bars for an intel load of size bytes: only for a large one."""
    return phase_bars(label, enabled=size >= LARGE_LOAD_BYTES)
