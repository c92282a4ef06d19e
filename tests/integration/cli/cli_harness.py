"""Running `vardeild` in-process, as the CLI tests do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from vardeild.app import build_platform
from vardeild.cli.main import app
from vardeild.platform import Platform
from vardeild.settings import Settings


@dataclass
class Cli:
    """Runs `vardeild ARGS` and checks the exit code; `json` parses what --json prints."""

    runner: CliRunner
    env: dict[str, str | None]
    data_dir: Path
    database_url: str

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
