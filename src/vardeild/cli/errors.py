"""One place that turns the errors every layer raises into a message on stderr and an exit code:

| error | exit |
|---|---|
| ValidationFailed (every problem listed as `record: field: message`), invalid settings | 2 |
| NotFound | 3 |
| Conflict | 4 |
| PermissionDenied | 5 |
| the database cannot be reached or is not initialised, any other CLI failure | 1 |

Typer's own usage errors (an unknown option, a bad choice) also exit with 2.
"""

from __future__ import annotations

from typing import Any

import pydantic
from sqlalchemy.exc import DBAPIError
from typer.core import TyperGroup

from vardeild.cli.output import (
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_INVALID,
    EXIT_NOT_FOUND,
    EXIT_PERMISSION,
    CliFailure,
    report_error,
)
from vardeild.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class ReportingGroup(TyperGroup):
    """The root command group: runs the subcommand and reports Vardeild's errors."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map a raised error to its message and exit code."""
        try:
            return super().invoke(ctx)
        except ValidationFailed as exc:
            count = len(exc.problems)
            head = f"{count} problem{'s' if count != 1 else ''} in the input; nothing was changed"
            report_error([head, *(str(p) for p in exc.problems)], EXIT_INVALID)
        except NotFound as exc:
            report_error([str(exc) or "not found"], EXIT_NOT_FOUND)
        except Conflict as exc:
            report_error([str(exc) or "conflict"], EXIT_CONFLICT)
        except PermissionDenied as exc:
            report_error([f"permission denied: {exc}"], EXIT_PERMISSION)
        except pydantic.ValidationError as exc:
            problems = [
                f"settings: {'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            ]
            report_error(["invalid settings", *problems], EXIT_INVALID)
        except CliFailure as exc:
            report_error([exc.message], exc.code)
        except DBAPIError as exc:
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            report_error([f"database error: {detail}"], EXIT_FAILURE)
