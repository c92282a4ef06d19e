"""What the monitoring commands share: how they name a record and show one."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from vardeild.cli.context import MAX_ID
from vardeild.cli.output import stdout

EVERYTHING = 2**31 - 1  # the CLI lists everything that matches; it does not page
IdArgument = Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_ID, help="Its id.")]


def print_facts(record: dict[str, Any], *, exclude: set[str]) -> None:
    """Print a record's fields as a two-column grid (values as plain text, never markup)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for key, value in record.items():
        if key not in exclude:
            grid.add_row(Text(key), Text("" if value is None else str(value)))
    stdout().print(grid)
