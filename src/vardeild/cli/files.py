"""Reading the files operators hand the CLI (one organisation, a patch, a change request):
JSON or YAML, with a problem naming the file and the place when it cannot be read."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from vardeild.core.errors import ValidationFailed

STDIN = Path("-")


def read_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """Return the file's bytes ('-' reads stdin); at most limit + 1 bytes when limit is given,
    so that an oversized file is refused by whoever checks its size without being read whole."""
    size = -1 if limit is None else limit + 1
    if path == STDIN:
        return sys.stdin.buffer.read(size)
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise ValidationFailed.one(str(path), "", f"cannot be read: {exc.strerror}") from exc


def read_document(path: Path) -> Any:
    """Return the JSON or YAML document in the file (by extension; JSON is tried first for
    other names). Raises ValidationFailed naming the file and the line of a syntax error."""
    raw = read_bytes(path)
    source = "stdin" if path == STDIN else str(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.one(
            source, f"byte {exc.start}", "is not UTF-8 text; save the file as UTF-8"
        ) from exc
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix not in {".yaml", ".yml"} and text.lstrip()[:1] in ("[", "{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed.one(
                source, f"line {exc.lineno} column {exc.colno}", f"is not valid JSON: {exc.msg}"
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed.one(source, where, f"is not valid YAML: {problem}") from exc


def read_mapping(path: Path, what: str) -> dict[str, Any]:
    """Return the file's document, which must be one object (what names it in the error)."""
    document = read_document(path)
    if not isinstance(document, dict):
        kind = "nothing" if document is None else f"a {type(document).__name__}"
        raise ValidationFailed.one(
            "stdin" if path == STDIN else str(path), "", f"must hold {what}, not {kind}"
        )
    return document
