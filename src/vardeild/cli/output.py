"""How the CLI speaks: Rich tables for people, JSON on stdout for scripts, and errors on stderr
with an exit code per kind of error, so a script can tell them apart.

Values from the registry go into Rich as `Text`, never as markup: a name holding square brackets
must print as written, not restyle the terminal.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

EXIT_FAILURE = 1
EXIT_INVALID = 2  # ValidationFailed, and (from Typer) a wrong option
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_PERMISSION = 5

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON to stdout instead of a table."),
]


class CliFailure(Exception):
    """A failure the CLI reports as one line on stderr with an exit code (default 1)."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def stdout() -> Console:
    """Return a console on the current stdout (made per call, so tests' captures apply)."""
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    """Return a console on the current stderr."""
    return Console(stderr=True, highlight=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Write data to stdout as indented JSON (dates as ISO 8601, enums as their values),
    unstyled, for scripts and `jq`."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n")
    sys.stdout.flush()


def cell(value: Any) -> Text:
    """Return a table cell for value: empty for None, lists joined with commas, never markup."""
    if value is None:
        return Text("")
    if isinstance(value, Text):
        return value
    if isinstance(value, list | tuple):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, enum.Enum):
        return Text(str(value.value))
    if isinstance(value, datetime):
        return Text(value.isoformat(timespec="seconds"))
    return Text(str(value))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """Return a Rich table with the given column headers and rows."""
    result = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(cell(value) for value in row))
    return result


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table to stdout."""
    stdout().print(table(title, columns, rows))


def say(message: str, *, style: str | None = None) -> None:
    """Print one message to stdout as plain text (no markup)."""
    stdout().print(Text(message, style=style or ""), soft_wrap=True)


def report_error(lines: Sequence[str], code: int) -> NoReturn:
    """Print an error (first line, then indented details) to stderr and exit with code."""
    console = stderr()
    # Not wrapped: scripts and people grep these lines.
    console.print(Text(f"error: {lines[0]}", style="bold red"), soft_wrap=True)
    for line in lines[1:]:
        console.print(Text(f"  {line}"), soft_wrap=True)
    raise typer.Exit(code)


def when(value: datetime | None) -> str:
    """Return a timestamp as people read it in a table: UTC, to the second."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.utcoffset() is not None else "")
