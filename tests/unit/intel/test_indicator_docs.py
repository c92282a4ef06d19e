"""docs/indicators.md stays true: its type table is the model's, every CSV column and TLP label
is described."""

from __future__ import annotations

from pathlib import Path

from vardeild.core.tlp import Tlp
from vardeild.intel.loaders import CSV_COLUMNS
from vardeild.intel.model import types_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "indicators.md"


def test_the_type_table_is_generated_from_the_model() -> None:
    assert types_table() in DOC.read_text(encoding="utf-8"), (
        "docs/indicators.md is stale: paste vardeild.intel.model.types_table() into it"
    )


def test_every_csv_column_and_tlp_label_is_described() -> None:
    text = DOC.read_text(encoding="utf-8")
    for column in CSV_COLUMNS:
        assert f"| `{column}` |" in text, column
    for label in Tlp:
        assert f"`{label.value}`" in text, label
