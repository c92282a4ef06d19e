"""TLP 2.0 labels: their spelling, order and the forms people write them in."""

from __future__ import annotations

import pytest

from vardeild.core.tlp import Tlp


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("AMBER", Tlp.AMBER),
        ("amber", Tlp.AMBER),
        (" TLP:RED ", Tlp.RED),
        ("tlp:amber+strict", Tlp.AMBER_STRICT),
        ("CLEAR", Tlp.CLEAR),
        ("WHITE", Tlp.CLEAR),  # TLP 1.0's name for CLEAR
        ("TLP:GREEN", Tlp.GREEN),
    ],
)
def test_parse_reads_the_usual_spellings(text: str, label: Tlp) -> None:
    assert Tlp.parse(text) is label


@pytest.mark.parametrize("text", ["", "AMBER STRICT", "purple", "TLP:", "AMBER+"])
def test_parse_refuses_anything_else_naming_the_choices(text: str) -> None:
    with pytest.raises(ValueError, match=r"AMBER\+STRICT"):
        Tlp.parse(text)


def test_labels_are_written_as_first_writes_them_and_ordered_by_restriction() -> None:
    assert [label.value for label in Tlp] == ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    assert [label.rank for label in Tlp] == [0, 1, 2, 3, 4]
