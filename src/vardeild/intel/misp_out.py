"""Shared indicators as a MISP feed (manifest.json, one `<uuid>.json` per event, hashes.csv)
and as MISP event JSON.

How indicators group into events: one event per source, TLP label and day (UTC) of the
indicator's first sighting by the CERT, within the audience the feed is made for. An indicator
never moves between events (its source, label and first day do not change; a changed label
moves it, as it should: the event's marking is its label), so a MISP instance pulling the feed
every hour sees each event grow and change in place instead of new events for the same
indicators. Event and attribute uuids are UUIDv5 of the audience and those keys under the
CERT's namespace: the same in every export, and different between audiences, because MISP
keeps one copy of a uuid and the public and the members' feed hold different events.

Events carry the TLP as the `tlp:` taxonomy tag MISP and its sharing groups understand
(`tlp:clear`, `tlp:green`, `tlp:amber`, `tlp:amber+strict`), and `distribution` 0 (this
community only): what the recipient's MISP does with them is its TLP to follow.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.sharing import Audience, SharedIndicator
from vardeild.intel.stix_out import NAMESPACE

# type -> (MISP attribute type, category, to_ids). JA3S and JA4 have no MISP type of their own:
# they travel as text, not for detection, named in the comment.
_TYPES: dict[IndicatorType, tuple[str, str, bool]] = {
    IndicatorType.IPV4: ("ip-dst", "Network activity", True),
    IndicatorType.IPV6: ("ip-dst", "Network activity", True),
    IndicatorType.CIDR: ("ip-dst", "Network activity", True),
    IndicatorType.DOMAIN: ("domain", "Network activity", True),
    IndicatorType.URL: ("url", "Network activity", True),
    IndicatorType.EMAIL: ("email", "Network activity", True),
    IndicatorType.MD5: ("md5", "Payload delivery", True),
    IndicatorType.SHA1: ("sha1", "Payload delivery", True),
    IndicatorType.SHA256: ("sha256", "Payload delivery", True),
    IndicatorType.JA3: ("ja3-fingerprint-md5", "Network activity", True),
    IndicatorType.JA3S: ("text", "Network activity", False),
    IndicatorType.JA4: ("text", "Network activity", False),
    IndicatorType.TLS_SNI: ("hostname", "Network activity", True),
    IndicatorType.HTTP_HOST: ("hostname", "Network activity", True),
    IndicatorType.ASN: ("AS", "Network activity", False),
}
_TLP_COLOURS = {
    Tlp.CLEAR: "#ffffff",
    Tlp.GREEN: "#33ff00",
    Tlp.AMBER: "#ffc000",
    Tlp.AMBER_STRICT: "#ffc000",
}


@dataclass(frozen=True)
class MispFeed:
    """A MISP feed's files: name -> content."""

    files: dict[str, bytes]
    events: int
    attributes: int


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(part) for part in parts)))


def _epoch(indicator: SharedIndicator) -> str:
    return str(int(indicator.updated_at.timestamp()))


def _tlp_tag(tlp: Tlp) -> dict[str, Any]:
    return {"name": f"tlp:{tlp.value.lower()}", "colour": _TLP_COLOURS[tlp], "exportable": True}


def attribute(indicator: SharedIndicator, audience: Audience) -> dict[str, Any]:
    """Return the MISP attribute of a shared indicator in the audience's feed."""
    kind, category, to_ids = _TYPES[indicator.type]
    comment = indicator.description
    if kind == "text":
        comment = f"{indicator.type.value.upper()} fingerprint. {comment}".strip()
    value = indicator.value
    if indicator.type is IndicatorType.ASN:
        value = value.removeprefix("AS")
    attr: dict[str, Any] = {
        "uuid": _uuid(
            "misp-attribute", audience, indicator.type.value, indicator.value, indicator.source
        ),
        "type": kind,
        "category": category,
        "to_ids": to_ids,
        "value": value,
        "comment": comment[:65535],
        "timestamp": _epoch(indicator),
        "distribution": "5",  # inherit the event's
        "disable_correlation": False,
        "first_seen": indicator.first_seen.isoformat(),
        "last_seen": indicator.last_seen.isoformat(),
        "Tag": [{"name": tag, "colour": "#0088cc", "exportable": True} for tag in indicator.tags],
    }
    return attr


def event_key(indicator: SharedIndicator) -> tuple[str, Tlp, date]:
    """Return the event an indicator belongs to: its source, TLP and first day (UTC)."""
    return indicator.source, indicator.tlp, indicator.first_seen.date()


def misp_events(
    indicators: Iterable[SharedIndicator], *, audience: Audience, cert_name: str
) -> list[dict[str, Any]]:
    """Return the MISP events (`{"Event": {...}}`) of the shared indicators, in event order.
    Raise ValueError for a TLP:RED indicator, which never leaves the CERT."""
    groups: dict[tuple[str, Tlp, date], list[SharedIndicator]] = {}
    for indicator in indicators:
        if indicator.tlp is Tlp.RED:
            raise ValueError(f"indicator {indicator.id} is TLP:RED and is never shared")
        groups.setdefault(event_key(indicator), []).append(indicator)
    org = {"name": cert_name, "uuid": _uuid("misp-org", cert_name)}
    events = []
    for (source, tlp, day), members in sorted(groups.items(), key=lambda kv: kv[0]):
        members.sort(key=lambda i: (i.type.value, i.value))
        events.append(
            {
                "Event": {
                    "uuid": _uuid("misp-event", audience, source, tlp.value, day.isoformat()),
                    "info": f"{cert_name}: {source} indicators first seen {day} (TLP:{tlp.value})",
                    "date": day.isoformat(),
                    "timestamp": max(_epoch(i) for i in members),
                    "publish_timestamp": max(_epoch(i) for i in members),
                    "published": True,
                    "analysis": "2",
                    "threat_level_id": "4",
                    "distribution": "0",
                    "Orgc": org,
                    "Tag": [_tlp_tag(tlp)],
                    "Attribute": [attribute(i, audience) for i in members],
                }
            }
        )
    return events


def misp_feed(
    indicators: Iterable[SharedIndicator], *, audience: Audience, cert_name: str
) -> MispFeed:
    """Return the MISP feed of the shared indicators: manifest.json describing every event,
    `<uuid>.json` per event, and hashes.csv (MD5 of each attribute value, event uuid)."""
    events = misp_events(indicators, audience=audience, cert_name=cert_name)
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {}
    hashes: list[str] = []
    attributes = 0
    for wrapped in events:
        event = wrapped["Event"]
        files[f"{event['uuid']}.json"] = _json(wrapped)
        manifest[event["uuid"]] = {
            key: event[key]
            for key in ("info", "date", "analysis", "threat_level_id", "timestamp", "Orgc", "Tag")
        }
        for attr in event["Attribute"]:
            digest = hashlib.md5(attr["value"].encode(), usedforsecurity=False).hexdigest()
            hashes.append(f"{digest},{event['uuid']}")
            attributes += 1
    files["manifest.json"] = _json(manifest)
    files["hashes.csv"] = ("\n".join(hashes) + "\n").encode() if hashes else b""
    return MispFeed(files=files, events=len(events), attributes=attributes)


def _json(value: Any) -> bytes:
    # No indent: with one, json falls back from its C encoder to Python, five times slower.
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
