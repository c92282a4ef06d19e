"""CSV cells a spreadsheet will not run: a cell starting with = + - @ (or a tab or carriage
return, which some spreadsheets skip before one) is a formula to Excel and LibreOffice, and a
formula in an export can fetch or run things on the reader's machine (CSV injection). Every
CSV Vardeild writes goes through `guard_formula`."""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_GUARDED = re.compile(r"^'+[=+\-@\t\r]")


def guard_formula(cell: str) -> str:
    """Return the cell with a leading apostrophe where a spreadsheet would run it as a formula.

    A cell that already starts with apostrophes before such a character gets one more, so that
    `unguard_formula` gives back exactly what was written.
    """
    if cell.startswith(_FORMULA_START) or _FORMULA_GUARDED.match(cell):
        return "'" + cell
    return cell


def unguard_formula(cell: str) -> str:
    """Return the cell without the apostrophe `guard_formula` added (one, and only there)."""
    return cell[1:] if _FORMULA_GUARDED.match(cell) else cell
