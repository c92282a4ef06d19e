"""The CLI under test: `vardeild` invoked in-process through Typer's runner against a fresh
database of the backend under test (the CLI commits for real), with its own data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.cli_harness import Cli
from vardeild.platform import Platform


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path) -> Cli:
    """The CLI on a new, empty database of the backend under test."""
    data_dir = tmp_path / "data"
    env: dict[str, str | None] = {
        "VARDEILD_DATABASE_URL": fresh_database_url,
        "VARDEILD_DATA_DIR": str(data_dir),
        "VARDEILD_CONFIG": None,
        "COLUMNS": "200",  # wide enough that tables do not fold names
    }
    return Cli(CliRunner(), env, data_dir, fresh_database_url)


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
