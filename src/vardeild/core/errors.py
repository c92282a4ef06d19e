"""The errors every layer raises and every adapter knows how to show.

Each error names what it is about (the record and, where there is one, the field) so that a
person reading it knows what to fix; adapters map them to exit codes and HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class VardeildError(Exception):
    """Base of all errors raised on purpose by Vardeild."""


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of one record: where it is, and what to do about it."""

    record: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.record}: {self.field}" if self.field else self.record
        return f"{where}: {self.message}"


@dataclass
class ValidationFailed(VardeildError):
    """Input that cannot be accepted; carries every problem found, not just the first."""

    problems: list[FieldProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.summary())

    @classmethod
    def one(cls, record: str, field_name: str, message: str) -> ValidationFailed:
        """Return a ValidationFailed carrying a single problem."""
        return cls([FieldProblem(record, field_name, message)])

    def summary(self) -> str:
        """Return all problems as lines of text."""
        return "\n".join(str(p) for p in self.problems)

    def __str__(self) -> str:
        return self.summary()


class NotFound(VardeildError):
    """The record does not exist (or the caller may not know that it exists)."""


class Conflict(VardeildError):
    """The change would break a uniqueness or state rule (a duplicate, a wrong transition)."""


class PermissionDenied(VardeildError):
    """The caller is known but may not do this."""


def collect(problems: Iterable[FieldProblem]) -> None:
    """Raise ValidationFailed if there are any problems, else return."""
    found = list(problems)
    if found:
        raise ValidationFailed(found)
