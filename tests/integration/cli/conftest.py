"""The CLI under test: `vardeild` invoked in-process through Typer's runner against a fresh
database of the backend under test (the CLI commits for real), with its own data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli
from vardeild.platform import Platform


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path) -> Cli:
    """The CLI on a new, empty database of the backend under test."""
    return Cli(fresh_database_url, tmp_path / "data")


@pytest.fixture
def demo_cli(cli: Cli) -> Cli:
    """The CLI on a database seeded with the demo constituency."""
    cli("demo", "--no-serve")
    return cli


@pytest.fixture
def platform_of(cli: Cli) -> Iterator[Platform]:
    """A platform on the CLI's database, disposed after the test."""
    built = cli.platform()
    yield built
    built.engine.dispose()
