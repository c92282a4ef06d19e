"""Reading MISP events and MISP feeds. No I/O.

Events are loaded with `pymisp.MISPEvent` (the MISP project's own model, which works offline):
with or without the `Event` wrapper, a REST search answer (`{"response": [...]}`) as several
events. Every attribute flagged `to_ids` — of the event or of one of its objects — whose MISP
type names something a sensor sees becomes an indicator: its uuid is kept, its TLP is the
attribute's `tlp:*` tag, else the event's, else the default (raised to AMBER+STRICT when the
attribute or event is distributed to "your organisation only"); the other tags become tags,
the event's info and the attribute's comment the description. A `to_ids` attribute of a type
without an event field is kept as not matchable; attributes without `to_ids` are context
(links, comments, file names) and are counted as ignored.

A MISP feed is a `manifest.json` naming each event's uuid and timestamp, and one `<uuid>.json`
per event; `read_misp_manifest` returns the timestamps so a sync fetches only changed events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pymisp import MISPAttribute, MISPEvent

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
from vardeild.intel.model import (
    IndicatorRecord,
    IndicatorType,
    infer_indicator,
    normalise_indicator,
)

# MISP attribute type -> indicator type; None: an IP whose type (v4, v6, network) follows from
# the value. Composite types (`a|b`) name the part that is taken.
_TYPES: dict[str, IndicatorType | None] = {
    "ip-src": None,
    "ip-dst": None,
    "domain": IndicatorType.DOMAIN,
    "hostname": IndicatorType.DOMAIN,
    "url": IndicatorType.URL,
    "email": IndicatorType.EMAIL,
    "email-src": IndicatorType.EMAIL,
    "email-dst": IndicatorType.EMAIL,
    "md5": IndicatorType.MD5,
    "sha1": IndicatorType.SHA1,
    "sha256": IndicatorType.SHA256,
    "ja3-fingerprint-md5": IndicatorType.JA3,
    "ja4-fingerprint": IndicatorType.JA4,
    "x509-fingerprint-sha1": IndicatorType.X509_SHA1,
    "AS": IndicatorType.ASN,
}
_COMPOSITE: dict[str, tuple[int, IndicatorType | None]] = {
    "ip-src|port": (0, None),
    "ip-dst|port": (0, None),
    "hostname|port": (0, IndicatorType.DOMAIN),
    "filename|md5": (1, IndicatorType.MD5),
    "filename|sha1": (1, IndicatorType.SHA1),
    "filename|sha256": (1, IndicatorType.SHA256),
}
_ORGANISATION_ONLY = 0  # MISP distribution "Your organisation only"


def read_misp_event(data: bytes, *, defaults: ImportDefaults) -> ParsedFeed:
    """Return the indicators of MISP event JSON (one event, with or without the `Event`
    wrapper, or a REST answer of several); refuse JSON that holds no event."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refused(f"not JSON: {exc}")
    events, reason = _events(document)
    if reason is not None:
        return refused(reason)
    parsed = ParsedFeed()
    for number, event in enumerate(events, start=1):
        _event(event, number, defaults, parsed)
    return parsed


def read_misp_manifest(data: bytes) -> dict[str, int]:
    """Return {event uuid: timestamp} of a MISP feed's manifest.json; raise ValueError."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"manifest.json is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("manifest.json is not an object of event uuids")
    found: dict[str, int] = {}
    for uuid, entry in document.items():
        stamp = entry.get("timestamp") if isinstance(entry, dict) else None
        try:
            found[str(uuid)] = int(stamp) if stamp is not None else 0
        except (TypeError, ValueError):
            raise ValueError(f"manifest.json: event {uuid} has no numeric timestamp") from None
    return found


def _events(document: Any) -> tuple[list[dict[str, Any]], str | None]:
    """Return the event objects of the document, or why it holds none."""
    if isinstance(document, dict) and isinstance(document.get("response"), list):
        items = [item for item in document["response"] if isinstance(item, dict)]
        return [item.get("Event", item) for item in items], None
    if isinstance(document, dict) and isinstance(document.get("Event"), dict):
        return [document["Event"]], None
    event_keys = ("Attribute", "Object", "attribute_count")
    if (
        isinstance(document, dict)
        and "info" in document
        and "uuid" in document
        and any(key in document for key in event_keys)
    ):
        return [document], None
    if isinstance(document, dict) and "event_id" in document and "value" in document:
        return [], "a single MISP attribute, not an event (export the event it belongs to)"
    if isinstance(document, list) and document and isinstance(document[0], dict):
        if "info" in document[0] and "Attribute" not in document[0]:
            return [], "a MISP event index (search result): it lists events without attributes"
        if "SharingGroup" in document[0]:
            return [], "MISP sharing groups, not an event"
    return [], "not a MISP event: no 'Event' object, no event with info and uuid"


def _event(
    document: dict[str, Any], number: int, defaults: ImportDefaults, parsed: ParsedFeed
) -> None:
    """Add the records of one event."""
    event = MISPEvent()
    try:
        event.from_dict(**document)
    except Exception as exc:  # pymisp raises its own and built-in types for bad events
        parsed.note(f"event {number}", "", f"is not a valid MISP event: {exc}", number)
        return
    event_tlp, event_tags = _tags(event.tags)
    event_distribution = _distribution(getattr(event, "distribution", None))
    info = str(getattr(event, "info", "") or "")
    attributes: list[tuple[MISPAttribute, str]] = [(a, "") for a in event.attributes]
    for misp_object in event.objects:
        attributes += [(a, str(misp_object.name)) for a in misp_object.attributes]
    for position, (attribute, object_name) in enumerate(attributes, start=1):
        parsed.objects += 1
        if getattr(attribute, "deleted", False) or not getattr(attribute, "to_ids", False):
            parsed.ignored += 1
            continue
        tlp, tags = _tags(attribute.tags)
        tlp = tlp or event_tlp or defaults.tlp
        distribution = _distribution(getattr(attribute, "distribution", None))
        if distribution == 5:  # "inherit event"
            distribution = event_distribution
        if distribution == _ORGANISATION_ONLY and tlp.rank < Tlp.AMBER_STRICT.rank:
            tlp = Tlp.AMBER_STRICT
        uuid = object_id(str(getattr(attribute, "uuid", "") or ""), f"event {number} #{position}")
        kind = str(attribute.type)
        value = str(attribute.value)
        description = lenient_description(info, str(getattr(attribute, "comment", "") or ""))
        try:
            pairs = _indicators(kind, value)
        except ValueError as exc:
            parsed.keep(
                UnmatchableRecord(
                    uuid,
                    "misp-attribute",
                    bounded_text(f"{kind}: {value}"),
                    str(exc),
                    bounded_raw(attribute.to_dict()),
                )
            )
            continue
        for indicator_type, canonical in pairs:
            parsed.records.append(
                IndicatorRecord(
                    line=position,
                    type=indicator_type,
                    value=canonical,
                    tlp=tlp,
                    confidence=defaults.confidence,
                    valid_until=defaults.valid_until,
                    tags=lenient_tags(
                        [*event_tags, *tags, *([object_name] if object_name else [])]
                    ),
                    description=description,
                    stix_id=uuid,
                    first_seen=_first_seen(attribute),
                )
            )


def _indicators(kind: str, value: str) -> list[tuple[IndicatorType, str]]:
    """Return the indicators a MISP attribute stands for; raise ValueError saying why none."""
    if kind == "domain|ip":
        domain, _, address = value.partition("|")
        return [_one(IndicatorType.DOMAIN, domain), _one(None, address)]
    if kind in _COMPOSITE:
        index, target = _COMPOSITE[kind]
        parts = value.split("|")
        if len(parts) != 2:
            raise ValueError(f"MISP type {kind} holds {value!r}, not two parts joined by '|'")
        return [_one(target, parts[index])]
    if kind not in _TYPES:
        raise ValueError(f"MISP type {kind} has no event field to match")
    return [_one(_TYPES[kind], value)]


def _one(kind: IndicatorType | None, value: str) -> tuple[IndicatorType, str]:
    if kind is None:
        inferred, canonical = infer_indicator(value)
        if inferred not in (IndicatorType.IPV4, IndicatorType.IPV6, IndicatorType.CIDR):
            raise ValueError(f"{value!r} is not an IP address or network")
        return inferred, canonical
    return kind, normalise_indicator(kind, value)


def _tags(tags: Any) -> tuple[Tlp | None, list[str]]:
    """Return the most restrictive `tlp:*` tag (None if none) and the other tag names."""
    tlp: Tlp | None = None
    names: list[str] = []
    for tag in tags or []:
        name = str(getattr(tag, "name", "") or "")
        if name.lower().startswith("tlp:"):
            try:
                label = Tlp.parse(name)
            except ValueError:
                names.append(name)
                continue
            if tlp is None or label.rank > tlp.rank:
                tlp = label
        elif name:
            names.append(name)
    return tlp, names


def _distribution(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first_seen(attribute: MISPAttribute) -> datetime | None:
    moment = getattr(attribute, "first_seen", None)
    if isinstance(moment, datetime):
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
