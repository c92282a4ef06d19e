"""The event field reference, generated from the model: docs/events.md is `events_reference()`
verbatim (`python -m vardeild.monitoring.reference > docs/events.md`; a test keeps it true)."""

from __future__ import annotations

import types
from datetime import datetime
from enum import Enum
from typing import Any, Union, get_args, get_origin

import msgspec

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import FIELDS, Event, EventKind, Severity


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        names = [_type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(names)
    if origin is not None:
        args = ", ".join(_type_name(a) for a in get_args(annotation))
        return f"{origin.__name__} of {args}" if args else origin.__name__
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "text (one of below)" if annotation is EventKind else "number 0-4"
    if annotation is datetime:
        return "time (UTC, ISO 8601)"
    plain: dict[Any, str] = {str: "text", int: "number", bool: "true/false", Any: "any"}
    return plain.get(annotation) or str(getattr(annotation, "__name__", annotation))


def events_reference() -> str:
    """Return the Markdown reference of every event field (docs/events.md is this, verbatim)."""
    lines = [
        "# Event fields",
        "",
        "<!-- Generated: python -m vardeild.monitoring.reference > docs/events.md "
        "(a test keeps it true) -->",
        "",
        "Every source (Suricata EVE, Shadowserver reports) is parsed into one event model. Field",
        "names follow IntelMQ's data format wherever it has one, so that events travel to other",
        "CSIRT tools: the dotted name is the one to use outside Vardeild; the attribute is how",
        "the JSON (the API's `event`) spells it. Fields without a value are left out of the JSON.",
        "The events table keeps the fields it has columns for in those columns and the rest as",
        "JSON (`events.data`). See [monitoring.md](monitoring.md) for what is stored and when.",
        "",
        "| dotted name | attribute | type | required | meaning |",
        "|---|---|---|---|---|",
    ]
    for field in msgspec.structs.fields(Event):
        dotted, meaning = FIELDS[field.name]
        required = "yes" if field.required else ""
        lines.append(
            f"| `{dotted}` | `{field.name}` | {_type_name(field.type)} | {required} | {meaning} |"
        )
    lines += ["", "## `event.kind`", "", "| value | meaning |", "|---|---|"]
    meanings = {
        EventKind.ALERT: "a sensor's signature fired (EVE alert)",
        EventKind.ANOMALY: "a sensor saw malformed or unexpected protocol data (EVE anomaly)",
        EventKind.DROP: "a sensor in IPS mode dropped a packet (EVE drop)",
        EventKind.PROTOCOL: "a protocol record (dns, http, tls, flow, ...), kept as evidence "
        "only when it matched an indicator",
        EventKind.REPORT: "a row of an external report (Shadowserver)",
    }
    lines += [f"| `{kind.value}` | {meanings[kind]} |" for kind in EventKind]
    lines += ["", "## Severity (`extra.severity`)", "", "| value | name |", "|---|---|"]
    lines += [f"| {int(level)} | {level.name.lower()} |" for level in Severity]
    lines += [
        "",
        "## Classification (RSIT)",
        "",
        "`classification.taxonomy` and `classification.type` come from the Reference Security",
        "Incident Taxonomy as IntelMQ uses it; each type belongs to exactly one taxonomy.",
        "",
        "| taxonomy | types |",
        "|---|---|",
    ]
    lines += [
        f"| `{name}` | {', '.join(f'`{t}`' for t in kinds)} |" for name, kinds in TAXONOMY.items()
    ]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(events_reference(), end="")
