"""Shared indicators as STIX 2.1: indicator objects with patterns, the TLP 2.0 marking
definitions of the official extension, and the CERT's identity.

Ids are deterministic, so serving the same indicator again gives the same object: an indicator
imported from STIX keeps the id it came with; any other is `indicator--` + UUIDv5 of its type,
value and source under the CERT's namespace. `created` is when the CERT first stored it and
`modified` its last change, so a changed indicator is a new version of the same object.

The objects are written as plain dicts rather than through the `stix2` library: a TAXII page
or a feed export writes thousands of them, the library's property checks cost tens of
microseconds an object, and every object written here is checked by stix2-validator in the
tests instead.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.sharing import SharedIndicator

# The namespace of Vardeild's deterministic ids (UUIDv5), fixed once: changing it changes
# every id a partner has stored.
NAMESPACE = uuid.UUID("5d0a7b3e-2f4c-4c1e-9a57-0b6f3c2d8e41")

# The TLP 2.0 marking definitions of the STIX 2.1 extension published by OASIS in
# cti-stix-common-objects (extension-definition-specifications/tlp-2.0): their ids, names and
# creation time are fixed there, so that every producer marks with the same objects.
TLP_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP_MARKING_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP_MARKING_CREATED = "2022-10-01T00:00:00.000Z"
IDENTITY_CREATED = "2026-01-01T00:00:00.000Z"
MEDIA_TYPE = "application/stix+json;version=2.1"


@lru_cache(maxsize=4096)  # a feed's indicators share a few load times: format each once
def timestamp(moment: datetime) -> str:
    """Return a STIX timestamp: UTC, millisecond precision, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def marking_definition(tlp: Tlp) -> dict[str, Any]:
    """Return the official TLP 2.0 marking-definition object of the label."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_MARKING_IDS[tlp],
        "created": TLP_MARKING_CREATED,
        "name": f"TLP:{tlp.value}",
        "extensions": {
            TLP_EXTENSION_ID: {
                "extension_type": "property-extension",
                "tlp_2_0": tlp.value.lower(),
            }
        },
    }


@lru_cache(maxsize=16)
def identity_id(cert_name: str) -> str:
    """Return the id of the CERT's identity object: the same for the same name."""
    return f"identity--{uuid.uuid5(NAMESPACE, 'identity:' + cert_name)}"


def identity(cert_name: str) -> dict[str, Any]:
    """Return the CERT's identity object, the creator of the indicators it serves."""
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(cert_name),
        "created": IDENTITY_CREATED,
        "modified": IDENTITY_CREATED,
        "name": cert_name,
        "identity_class": "organization",
    }


def indicator_id(indicator: SharedIndicator) -> str:
    """Return the indicator's STIX id: the one it was imported under, else its UUIDv5."""
    if indicator.stix_id and indicator.stix_id.startswith("indicator--"):
        return indicator.stix_id
    name = f"indicator:{indicator.type.value}:{indicator.value}:{indicator.source}"
    return f"indicator--{uuid.uuid5(NAMESPACE, name)}"


def _literal(value: str) -> str:
    """Return a STIX pattern string literal: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# type -> the comparison's object path. JA3/JA3S/JA4 and TLS SNI have no STIX 2.1 object
# property of their own; they are written on custom `x-` extension properties of
# network-traffic, which STIX allows and consumers that do not know them ignore.
_PATHS: dict[IndicatorType, str] = {
    IndicatorType.IPV4: "ipv4-addr:value",
    IndicatorType.IPV6: "ipv6-addr:value",
    IndicatorType.DOMAIN: "domain-name:value",
    IndicatorType.URL: "url:value",
    IndicatorType.EMAIL: "email-addr:value",
    IndicatorType.MD5: "file:hashes.MD5",
    IndicatorType.SHA1: "file:hashes.'SHA-1'",
    IndicatorType.SHA256: "file:hashes.'SHA-256'",
    IndicatorType.JA3: "network-traffic:extensions.'x-tls-ext'.ja3",
    IndicatorType.JA3S: "network-traffic:extensions.'x-tls-ext'.ja3s",
    IndicatorType.JA4: "network-traffic:extensions.'x-tls-ext'.ja4",
    IndicatorType.TLS_SNI: "network-traffic:extensions.'x-tls-ext'.sni",
    IndicatorType.HTTP_HOST: "network-traffic:extensions.'http-request-ext'.request_header.Host",
}


def pattern(kind: IndicatorType, value: str) -> str:
    """Return the STIX 2.1 pattern matching the indicator's value."""
    if kind is IndicatorType.CIDR:
        path = "ipv6-addr:value" if ":" in value else "ipv4-addr:value"
        return f"[{path} ISSUBSET {_literal(value)}]"
    if kind is IndicatorType.ASN:
        return f"[autonomous-system:number = {int(value.removeprefix('AS'))}]"
    return f"[{_PATHS[kind]} = {_literal(value)}]"


def indicator_object(indicator: SharedIndicator, *, cert_name: str) -> dict[str, Any]:
    """Return the STIX 2.1 indicator object of a shared indicator, marked with its TLP.
    Raise ValueError for TLP:RED, which never leaves the CERT."""
    if indicator.tlp is Tlp.RED:
        raise ValueError(f"indicator {indicator.id} is TLP:RED and is never shared")
    stix_id = indicator_id(indicator)
    created = min(indicator.created_at, indicator.updated_at)
    valid_from = indicator.first_seen
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id,
        "created": timestamp(created),
        "modified": timestamp(indicator.updated_at),
        "name": f"{indicator.type.value}: {indicator.value}"[:250],
        "indicator_types": ["malicious-activity"],
        "pattern": pattern(indicator.type, indicator.value),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": timestamp(valid_from),
        "confidence": indicator.confidence,
        "object_marking_refs": [TLP_MARKING_IDS[indicator.tlp]],
    }
    if not indicator.stix_id:
        # An object imported under another producer's id is served as theirs, not claimed.
        obj["created_by_ref"] = identity_id(cert_name)
    if indicator.description:
        obj["description"] = indicator.description
    if indicator.tags:
        obj["labels"] = list(indicator.tags)
    if indicator.valid_until is not None and indicator.valid_until > valid_from:
        obj["valid_until"] = timestamp(indicator.valid_until)
    return obj


def bundle(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Return a bundle of the objects, its id derived from theirs (and their versions), so the
    same objects give the same bundle."""
    listed = list(objects)
    key = json.dumps([[o["id"], o.get("modified", "")] for o in listed], separators=(",", ":"))
    return {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid5(NAMESPACE, 'bundle:' + key)}",
        "objects": listed,
    }


def stix_bundle(indicators: Iterable[SharedIndicator], *, cert_name: str) -> dict[str, Any]:
    """Return a bundle of the CERT's identity, the marking definitions used and an indicator
    object per shared indicator."""
    objects = [indicator_object(indicator, cert_name=cert_name) for indicator in indicators]
    used = {ref for obj in objects for ref in obj["object_marking_refs"]}
    markings = [marking_definition(tlp) for tlp, ref in TLP_MARKING_IDS.items() if ref in used]
    return bundle([identity(cert_name), *markings, *objects])
