"""Checks on free text that every record's text fields share."""

from __future__ import annotations

_CONTROL = {chr(c) for c in range(32)} - {"\n", "\t"} | {"\x7f"}


def clean_text(value: str, *, max_length: int, multiline: bool = False) -> str:
    """Return value stripped; raise ValueError if too long, or holding NUL/control characters.

    NUL is refused everywhere because PostgreSQL rejects it in text columns; other control
    characters are refused because they hide content from the people who read records.
    """
    text = value.strip()
    if len(text) > max_length:
        raise ValueError(f"is {len(text)} characters long; at most {max_length} are allowed")
    bad = _CONTROL if multiline else _CONTROL | {"\n", "\t"}
    if any(ch in bad for ch in text):
        raise ValueError("holds control characters; remove them")
    return text
