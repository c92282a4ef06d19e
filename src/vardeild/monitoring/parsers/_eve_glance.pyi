"""The EVE screen's loop in C (_eve_glance.c); see eve_screen.EveScreen."""

from collections.abc import Callable, Collection, Mapping
from typing import Any

from vardeild.monitoring.ingest import RawRecord

class Memos:
    """One screen's answers, kept where the C loop reads them without the GIL."""

    def know_digests(self, values: Collection[str], /) -> None: ...

def screen(
    memos: Memos,
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
def screen_blocks(
    memos: Memos,
    blocks: list[tuple[int, bytes]],
    make: Callable[[int, bytes], RawRecord],
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
) -> tuple[list[RawRecord], list[tuple[str | None, int, int]], int]: ...
def count_lines(data: bytes, end: int, /) -> int: ...
