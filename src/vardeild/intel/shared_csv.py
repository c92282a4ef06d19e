"""Indicators as CSV, as they leave the CERT through the member API and `vardeild intel export`:
one writer, so both ways out give members the same columns and the same formula guard."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from vardeild.core.spreadsheet import guard_formula

CSV_COLUMNS = (
    "type",
    "value",
    "tlp",
    "confidence",
    "source",
    "first_seen",
    "last_seen",
    "valid_until",
    "tags",
    "description",
    "updated_at",
)


def shared_csv(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Return rows (`SharedIndicator.to_dict()`) as UTF-8 CSV with CRLF line ends, tags joined
    by ';', and every cell a spreadsheet would run as a formula (= + - @ ...) guarded."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    for row in rows:
        cells = {**row, "tags": ";".join(row["tags"])}
        writer.writerow(
            {k: guard_formula(v) if isinstance(v, str) else v for k, v in cells.items()}
        )
    return out.getvalue().encode("utf-8")
