"""The EVE screen's loop in C (_eve_glance.c); see eve_screen.EveScreen."""

from collections.abc import Callable, Mapping
from typing import Any

from vardeild.monitoring.ingest import RawRecord

def screen(
    records: list[RawRecord],
    sensor: str | None,
    owners: Mapping[str, Any],
    names: Mapping[str, Any],
    hosts: Mapping[str, Any],
    digest: Callable[[str], bool] | None,
    seconds: set[str],
    zones: set[str],
    timestamp: Callable[[str], bool],
    full: object,
    count_unattributed: bool,
    /,
) -> tuple[list[RawRecord], list[tuple[str | None, int, int]]]: ...
def glance(line: bytes, /) -> dict[str, Any] | None: ...
