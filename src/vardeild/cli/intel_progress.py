"""Progress bars for long intel loads and imports, on stderr and only on a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from vardeild.intel.service import LoadProgress

# Above this size a load shows progress on a terminal; smaller ones finish before it would.
LARGE_LOAD_BYTES = 256 * 1024


@contextmanager
def progress_bars(label: str, size: int) -> Iterator[LoadProgress | None]:
    """Yield a progress callback drawing bars on stderr for a large load on a terminal, else
    None."""
    console = Console(stderr=True)
    if size < LARGE_LOAD_BYTES or not console.is_terminal:
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
                tasks[phase] = progress.add_task(f"{label}: {phase}", total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield advance
