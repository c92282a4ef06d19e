"""The error-to-exit-code mapping every command shares, and that every command's help is
there and documented in docs/cli.md."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from vardeild.cli.errors import ReportingGroup
from vardeild.cli.main import app
from vardeild.core.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)

REPO = Path(__file__).resolve().parents[3]

ERRORS: dict[str, tuple[Exception, int, str]] = {
    "invalid": (
        ValidationFailed(
            [FieldProblem("organisation 'A'", "sector", "is required"), FieldProblem("b", "", "x")]
        ),
        2,
        "error: 2 problems in the input; nothing was changed\n"
        "  organisation 'A': sector: is required\n  b: x\n",
    ),
    "missing": (NotFound("organisation 7 not found"), 3, "error: organisation 7 not found\n"),
    "conflict": (
        Conflict("it is approved, not pending"),
        4,
        "error: it is approved, not pending\n",
    ),
    "denied": (
        PermissionDenied("role member_user may not edit"),
        5,
        "error: permission denied: role member_user may not edit\n",
    ),
}


def _raising_app() -> typer.Typer:
    demo = typer.Typer(cls=ReportingGroup)

    @demo.callback()
    def root() -> None:
        """A root, so that the commands below are subcommands, as in `vardeild`."""

    for name, (error, _, _) in ERRORS.items():
        demo.command(name)(_raiser(error))
    return demo


def _raiser(error: Exception) -> Callable[[], None]:
    def command() -> None:
        """Fail on purpose."""
        raise error

    return command


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_map_to_exit_codes_and_messages_on_stderr(name: str) -> None:
    _, code, message = ERRORS[name]
    result = CliRunner().invoke(_raising_app(), [name], env={"COLUMNS": "200"})
    assert result.exit_code == code
    assert result.stderr == message
    assert result.stdout == ""


def _commands(
    group: TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in group.commands.items():
        here = (*path, name)
        yield here, command
        if isinstance(command, TyperGroup):
            yield from _commands(command, here)


def _root() -> TyperGroup:
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    return root


ROOT = _root()
ALL_COMMANDS = sorted(path for path, _ in _commands(ROOT))


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


def test_every_command_and_option_has_a_help_text() -> None:
    for path, command in _commands(ROOT):
        assert command.help, f"`vardeild {' '.join(path)}` has no help text"
        for param in command.params:
            if isinstance(param, typer.core.TyperOption | typer.core.TyperArgument):
                assert getattr(param, "help", None), f"{' '.join(path)} {param.name}: no help"


def test_every_command_is_documented_in_docs_cli_md() -> None:
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for path in ALL_COMMANDS:
        heading = re.compile(rf"^#+ `vardeild {re.escape(' '.join(path))}[ `]", re.MULTILINE)
        assert heading.search(docs), f"docs/cli.md has no section for `vardeild {' '.join(path)}`"
