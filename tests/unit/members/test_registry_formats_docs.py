"""docs/registry-format.md stays true: every value and column is there, its examples read."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from vardeild.core.errors import FieldProblem
from vardeild.members import model
from vardeild.members.registry_csv import COLUMNS
from vardeild.members.registry_formats import MAX_DEPTH, RegistryFormat, read_records

DOC = Path(__file__).resolve().parents[3] / "docs" / "registry-format.md"
ENUMS: list[type[StrEnum]] = [
    model.Sector,
    model.Criticality,
    model.MembershipState,
    model.ProgrammeService,
    model.ContactRole,
    model.Language,
    model.Exposure,
]


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ENUMS, ids=lambda kind: kind.__name__)
def test_every_allowed_value_is_documented(doc: str, kind: type[StrEnum]) -> None:
    missing = [m.value for m in kind if f"`{m.value}`" not in doc]
    assert not missing, f"docs/registry-format.md does not list {kind.__name__} {missing}"


def test_every_csv_column_is_documented_in_order(doc: str) -> None:
    rows = re.findall(r"^\| `(\w+)` \| (?!text|list|object)", doc, flags=re.MULTILINE)
    assert tuple(rows) == COLUMNS


def test_the_documented_limits_are_the_code_s(doc: str) -> None:
    for limit in (model.NAME_MAX, model.SHORT_NAME_MAX, model.DESCRIPTION_MAX, model.PHONE_MAX):
        assert f"at most {limit} characters" in doc
    assert f"at most {model.NOTES_MAX:,} characters" in doc
    assert f"({MAX_DEPTH} levels)" in doc


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_the_examples_are_valid_files(doc: str, fmt: RegistryFormat) -> None:
    blocks = re.findall(rf"^```{fmt.value}\n(.*?)^```", doc, flags=re.MULTILINE | re.DOTALL)
    assert blocks, f"no {fmt.value} example"
    for block in blocks:
        problems: list[FieldProblem] = []
        records = read_records(block.encode(), fmt, source=f"example.{fmt.value}")
        for label, mapping in records:
            model.parse_organisation(mapping, label, problems=problems)
        assert records
        assert not problems, [str(p) for p in problems]
