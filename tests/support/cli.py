"""Running `vardeild` in-process against a database of the backend under test, as the CLI
tests of every domain do: the CLI commits for real, so tests give it a fresh database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from vardeild.app import build_platform
from vardeild.cli.main import app
from vardeild.platform import Platform
from vardeild.settings import Settings


@dataclass
class Cli:
    """Runs `vardeild ARGS` on one database and data directory and checks the exit code;
    `json` parses what `--json` prints. `env` is the environment the CLI runs with (no
    settings file, wide tables); a test may add to it."""

    database_url: str
    data_dir: Path
    runner: CliRunner = field(default_factory=CliRunner)
    env: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            "VARDEILD_DATABASE_URL": self.database_url,
            "VARDEILD_DATA_DIR": str(self.data_dir),
            "VARDEILD_CONFIG": None,
            "COLUMNS": "200",  # wide enough that tables do not fold names
            **self.env,
        }

    def __call__(self, *args: str, code: int = 0, input: str | None = None) -> Result:
        result = self.runner.invoke(app, list(args), env=self.env, input=input)
        assert result.exit_code == code, (
            f"`vardeild {' '.join(args)}` exited {result.exit_code}, expected {code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"exception: {result.exception!r}"
        )
        if code == 0:
            # A command that succeeds must not have died of an unexpected exception.
            assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    def json(self, *args: str) -> Any:
        """Return the parsed JSON that `vardeild ARGS --json` prints."""
        return json.loads(self(*args, "--json").stdout)

    def platform(self) -> Platform:
        """Return a platform on the same database, to check what the CLI stored."""
        return build_platform(Settings(database_url=self.database_url, data_dir=self.data_dir))


@contextmanager
def migrated_platform(database_url: str, data_dir: Path) -> Iterator[Platform]:
    """Yield a platform on database_url, created or upgraded first, to set up and check what
    the CLI stores; its connections are closed afterwards."""
    built = build_platform(Settings(database_url=database_url, data_dir=data_dir), migrate=True)
    try:
        yield built
    finally:
        built.engine.dispose()
