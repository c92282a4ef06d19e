"""The monitoring documentation generated from code stays true."""

from __future__ import annotations

from pathlib import Path

import msgspec

from vardeild.monitoring.model import FIELDS, Event
from vardeild.monitoring.reference import events_reference

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_events_reference_is_current() -> None:
    assert (DOCS / "events.md").read_text(encoding="utf-8") == events_reference(), (
        "docs/events.md is stale: run `python -m vardeild.monitoring.reference > docs/events.md`"
    )


def test_every_event_field_is_in_the_reference() -> None:
    reference = events_reference()
    for field in msgspec.structs.fields(Event):
        dotted, _ = FIELDS[field.name]
        assert f"| `{dotted}` | `{field.name}` |" in reference


def test_monitoring_guide_names_every_monitoring_command() -> None:
    guide = (DOCS / "monitoring.md").read_text(encoding="utf-8")
    for command in (
        "ingest eve",
        "ingest shadowserver",
        "quarantine list",
        "quarantine show",
        "quarantine replay",
        "quarantine discard",
        "alerts list",
        "alerts show",
        "suppress add",
        "suppress list",
        "suppress remove",
    ):
        assert f"vardeild {command}" in guide, command
