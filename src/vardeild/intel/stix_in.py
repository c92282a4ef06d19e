"""Reading STIX 2.1 (and 2.0) content: bundles, single objects, and TAXII envelopes. No I/O.

Each `indicator` object is checked by the `stix2` library (`stix2.parse`, custom properties
allowed) and its pattern reduced by `intel.stix_patterns`; an indicator whose pattern reduces
becomes one indicator record per value, keeping its STIX id, marking (TLP), validity,
confidence, labels and indicator types (as tags), name and description. An indicator that does
not reduce, is revoked, or is not valid STIX is kept as not matchable with the reason. Other
objects (reports, malware, identities, relationships, observed data) are counted as ignored:
they carry context, not something a sensor can see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stix2
from stix2.v21 import TLP_AMBER, TLP_GREEN, TLP_RED, TLP_WHITE

from vardeild.core.tlp import Tlp
from vardeild.intel.imports import (
    ImportDefaults,
    ParsedFeed,
    UnmatchableRecord,
    bounded_raw,
    bounded_text,
    lenient_description,
    lenient_tags,
    object_id,
    refused,
)
from vardeild.intel.model import IndicatorRecord
from vardeild.intel.stix_patterns import PatternNotReducible, reduce_pattern

# TLP 1.0 marking definitions are the STIX 2.1 specification's own (section 7.2.1.4), taken from
# the stix2 library; TLP 2.0 ones are those of the FIRST/OASIS TLP 2.0 extension
# (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d).
TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKINGS: dict[str, Tlp] = {
    str(TLP_WHITE.id): Tlp.CLEAR,
    str(TLP_GREEN.id): Tlp.GREEN,
    str(TLP_AMBER.id): Tlp.AMBER,
    str(TLP_RED.id): Tlp.RED,
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": Tlp.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": Tlp.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": Tlp.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": Tlp.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": Tlp.RED,
}


def read_stix(data: bytes, *, defaults: ImportDefaults, now: datetime | None = None) -> ParsedFeed:
    """Return the indicators of a STIX bundle, a single STIX object, a list of objects or a
    TAXII 2.1 envelope (`{"objects": [...]}`); refuse JSON that is none of them."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refused(f"not JSON: {exc}")
    return read_stix_objects(document, defaults=defaults, now=now)


def read_stix_objects(
    document: Any, *, defaults: ImportDefaults, now: datetime | None = None
) -> ParsedFeed:
    """Return the indicators of already decoded STIX JSON (see read_stix)."""
    objects, version, reason = _objects(document)
    if reason is not None:
        return refused(reason)
    parsed = ParsedFeed()
    markings = _bundle_markings(objects)
    for position, item in enumerate(objects, start=1):
        parsed.objects += 1
        if not isinstance(item, dict):
            parsed.note(f"object {position}", "", "is not a JSON object", position)
            continue
        if item.get("type") != "indicator":
            parsed.ignored += 1
            continue
        _indicator(item, position, version, markings, defaults, parsed)
    return parsed


def _objects(document: Any) -> tuple[list[Any], str, str | None]:
    """Return the objects of the document, its STIX version, and why it is refused (or None)."""
    if isinstance(document, list):
        if all(isinstance(item, dict) and "type" in item for item in document):
            return document, "2.1", None
        return [], "", "a JSON list that is not a list of STIX objects"
    if not isinstance(document, dict):
        return [], "", "not a STIX bundle or object (JSON of another kind)"
    if "$schema" in document:
        return [], "", "a JSON Schema document, not STIX content"
    kind = document.get("type")
    if kind == "bundle":
        objects = document.get("objects", [])
        if not isinstance(objects, list):
            return [], "", "a bundle whose 'objects' is not a list"
        version = str(document.get("spec_version") or "2.1")
        return objects, version, None
    if isinstance(kind, str) and "id" in document:
        version = "2.0" if "spec_version" not in document else str(document["spec_version"])
        return [document], version, None
    if kind is None and isinstance(document.get("objects"), list):
        return document["objects"], "2.1", None  # a TAXII 2.1 envelope
    return [], "", "not a STIX bundle or object: it has no 'type'"


def _bundle_markings(objects: list[Any]) -> dict[str, Tlp]:
    """Return the TLP of each TLP marking definition the bundle defines itself."""
    found: dict[str, Tlp] = {}
    for item in objects:
        if not isinstance(item, dict) or item.get("type") != "marking-definition":
            continue
        label: str | None = None
        definition = item.get("definition")
        if item.get("definition_type") == "tlp" and isinstance(definition, dict):
            label = str(definition.get("tlp", ""))
        extension = (item.get("extensions") or {}).get(TLP_EXTENSION_ID)
        if isinstance(extension, dict) and extension.get("tlp_2_0"):
            label = str(extension["tlp_2_0"])
        name = str(item.get("name", ""))
        if label is None and name.upper().startswith("TLP:"):
            label = name
        if label:
            try:
                found[str(item.get("id"))] = Tlp.parse(label)
            except ValueError:
                continue
    return found


def _tlp(item: dict[str, Any], markings: dict[str, Tlp], default: Tlp) -> Tlp:
    """Return the most restrictive TLP the object is marked with, else the default."""
    labels = [
        TLP_MARKINGS.get(str(ref)) or markings.get(str(ref))
        for ref in item.get("object_marking_refs") or []
    ]
    known = [label for label in labels if label is not None]
    return max(known, key=lambda label: label.rank) if known else default


def _indicator(
    item: dict[str, Any],
    position: int,
    version: str,
    markings: dict[str, Tlp],
    defaults: ImportDefaults,
    parsed: ParsedFeed,
) -> None:
    """Add the records of one indicator object, or keep it as not matchable."""
    stix_id = object_id(str(item.get("id", "")), f"object {position}")
    pattern = str(item.get("pattern", ""))

    def keep(reason: str) -> None:
        parsed.keep(
            UnmatchableRecord(
                stix_id, "stix-pattern", bounded_text(pattern), reason, bounded_raw(item)
            )
        )

    try:
        stix2.parse(item, allow_custom=True, version=str(item.get("spec_version") or version))
    except Exception as exc:  # stix2 raises a dozen exception types for invalid content
        keep(f"not a valid STIX indicator: {bounded_text(str(exc), 300)}")
        return
    if item.get("revoked") is True:
        keep("revoked by its producer")
        return
    pattern_type = str(item.get("pattern_type", "stix"))
    if pattern_type != "stix":
        keep(f"pattern_type {pattern_type!r} is not a STIX pattern")
        return
    try:
        values = reduce_pattern(pattern)
    except PatternNotReducible as exc:
        keep(str(exc))
        return
    valid_until = defaults.valid_until
    if item.get("valid_until"):
        valid_until = _time(str(item["valid_until"]))
    confidence = item.get("confidence")
    if not isinstance(confidence, int) or not 0 <= confidence <= 100:
        confidence = defaults.confidence
    tags = lenient_tags([*item.get("indicator_types", []), *item.get("labels", [])])
    description = lenient_description(str(item.get("name", "")), str(item.get("description", "")))
    tlp = _tlp(item, markings, defaults.tlp)
    for kind, value in values:
        parsed.records.append(
            IndicatorRecord(
                line=position,
                type=kind,
                value=value,
                tlp=tlp,
                confidence=confidence,
                valid_until=valid_until,
                tags=tags,
                description=description,
                stix_id=stix_id,
            )
        )


def _time(text: str) -> datetime:
    """Return a STIX timestamp in UTC (stix2 has checked its form)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
