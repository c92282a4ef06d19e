"""`vardeild init`, `serve`, `settings`, `--version` and `--config`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from typer.testing import CliRunner

from support.cli import Cli
from vardeild import __version__
from vardeild.cli.main import app


def test_init_creates_the_database_and_is_idempotent(cli: Cli) -> None:
    first = cli("init")
    assert "Database created" in first.stdout
    again = cli("init", "--json")
    answer = json.loads(again.stdout)
    assert answer["revision"] is not None
    assert answer["previous_revision"] == answer["revision"]
    assert "already up to date" in cli("init").stdout


def test_commands_refuse_an_uninitialised_database_with_a_hint(cli: Cli) -> None:
    result = cli("members", "list", code=1)
    assert "vardeild init" in result.stderr
    assert result.stdout == ""


def test_settings_prints_effective_values_with_passwords_masked(tmp_path: Path) -> None:
    env = {
        "VARDEILD_DATABASE_URL": "postgresql+psycopg://vardeild:s3cret@db.invalid/vardeild",
        "VARDEILD_DATA_DIR": str(tmp_path),
        "VARDEILD_PORT": "8123",
        "VARDEILD_CONFIG": None,
    }
    result = CliRunner().invoke(app, ["settings", "--json"], env=env)
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["port"] == 8123
    assert "s3cret" not in result.stdout
    assert values["database_url"] == "postgresql+psycopg://vardeild:***@db.invalid/vardeild"
    table = CliRunner().invoke(app, ["settings"], env={**env, "COLUMNS": "200"})
    assert "Port `vardeild serve` uses." in table.stdout


def test_config_option_reads_a_toml_file_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "vardeild.toml"
    config.write_text('port = 8500\nhost = "0.0.0.0"\n', encoding="utf-8")
    env = {"VARDEILD_DATA_DIR": str(tmp_path), "VARDEILD_HOST": "127.0.0.2"}
    result = CliRunner().invoke(app, ["--config", str(config), "settings", "--json"], env=env)
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["port"] == 8500
    assert values["host"] == "127.0.0.2"


def test_invalid_settings_and_missing_config_file_are_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["settings"], env={"VARDEILD_PORT": "not-a-port"})
    assert bad.exit_code == 2
    assert "settings: port" in bad.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(broken), "settings"])
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr
    # Wide, so that the error box does not fold or cut the path (the width would otherwise
    # depend on whatever terminal, or none, the test run has).
    missing = runner.invoke(
        app, ["--config", str(tmp_path / "nope.toml"), "settings"], env={"COLUMNS": "300"}
    )
    assert missing.exit_code == 2
    assert "nope.toml" in missing.output


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"vardeild {__version__}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_migrates_and_answers_on_the_port_given(cli: Cli, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VARDEILD_")},
        "VARDEILD_DATABASE_URL": cli.database_url,
        "VARDEILD_DATA_DIR": str(cli.data_dir),
    }
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "vardeild.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    answer = json.loads(r.read())
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        assert answer is not None, (tmp_path / "serve.log").read_text(errors="replace")
        assert answer["status"] == "ok"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()
    # serve ran the migrations: the CLI now finds an initialised database.
    assert cli("members", "list", "--json").stdout.strip() == "[]"
