"""The Shadowserver lane in C (_report_lane.c); see shadowserver_lane.py."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

def rows(
    records: list[bytes],
    header: bytes,
    spec: tuple[Any, ...],
    owners: tuple[
        Callable[[str], int | None], Callable[[str], int | None], Callable[[int], int | None]
    ],
    screen: object | None,
    store_unattributed: bool,
    window_seconds: int,
    text_times: bool,
    /,
) -> tuple[list[list[Any]], list[int], list[datetime], int] | None: ...
def fingerprint(prefix: bytes, row: bytes, /) -> str: ...
