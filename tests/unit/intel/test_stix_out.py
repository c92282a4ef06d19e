"""STIX 2.1 out: every type's pattern, the official TLP 2.0 markings, deterministic ids, and
stix2-validator (a validator nobody here wrote) finding no error."""

from __future__ import annotations

import pytest
from stix2validator import ValidationOptions, validate_instance

from support.shared_indicators import NOW, ONE_OF_EACH, one_of_each, shared
from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.stix_out import (
    TLP_EXTENSION_ID,
    TLP_MARKING_IDS,
    identity_id,
    indicator_object,
    marking_definition,
    pattern,
    stix_bundle,
    timestamp,
)


def _errors(instance: dict) -> list[str]:
    result = validate_instance(instance, ValidationOptions(version="2.1"))
    return [str(error) for error in result.errors]


@pytest.mark.parametrize("tlp", [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT])
def test_a_bundle_of_every_type_passes_the_validator(tlp: Tlp) -> None:
    made = stix_bundle(one_of_each(tlp), cert_name="HelseCERT")
    assert _errors(made) == []
    kinds = [obj["type"] for obj in made["objects"]]
    assert kinds == ["identity", "marking-definition"] + ["indicator"] * len(ONE_OF_EACH)
    assert {obj["object_marking_refs"][0] for obj in made["objects"][2:]} == {TLP_MARKING_IDS[tlp]}


def test_the_marking_definitions_are_the_official_ones() -> None:
    # Ids and names as published by OASIS (cti-stix-common-objects, tlp-2.0).
    assert TLP_EXTENSION_ID == "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
    assert TLP_MARKING_IDS[Tlp.CLEAR] == "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
    assert TLP_MARKING_IDS[Tlp.GREEN] == "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
    assert TLP_MARKING_IDS[Tlp.AMBER] == "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    assert (
        TLP_MARKING_IDS[Tlp.AMBER_STRICT]
        == "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
    )
    assert TLP_MARKING_IDS[Tlp.RED] == "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    amber_strict = marking_definition(Tlp.AMBER_STRICT)
    assert amber_strict["name"] == "TLP:AMBER+STRICT"
    assert amber_strict["extensions"][TLP_EXTENSION_ID] == {
        "extension_type": "property-extension",
        "tlp_2_0": "amber+strict",
    }
    assert _errors(marking_definition(Tlp.CLEAR)) == []


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (IndicatorType.IPV4, "192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"),
        (IndicatorType.CIDR, "2001:db8::/32", "[ipv6-addr:value ISSUBSET '2001:db8::/32']"),
        (IndicatorType.DOMAIN, "o'brien.no", "[domain-name:value = 'o\\'brien.no']"),
        (IndicatorType.URL, "http://x.no/a\\b", "[url:value = 'http://x.no/a\\\\b']"),
        (IndicatorType.SHA256, "ab" * 32, f"[file:hashes.'SHA-256' = '{'ab' * 32}']"),
        (IndicatorType.ASN, "AS64500", "[autonomous-system:number = 64500]"),
    ],
)
def test_patterns(kind: IndicatorType, value: str, expected: str) -> None:
    assert pattern(kind, value) == expected


def test_ids_are_deterministic_and_an_imported_id_is_kept() -> None:
    one = indicator_object(shared(IndicatorType.DOMAIN, "a.example.no"), cert_name="C")
    again = indicator_object(shared(IndicatorType.DOMAIN, "a.example.no", id=9), cert_name="C")
    other_source = indicator_object(
        shared(IndicatorType.DOMAIN, "a.example.no", source="other"), cert_name="C"
    )
    assert one["id"] == again["id"] != other_source["id"]
    assert one["created_by_ref"] == identity_id("C")
    imported = "indicator--0f0f8a8e-7c39-4e6b-9a55-5c2f1d3b6a71"
    theirs = indicator_object(
        shared(IndicatorType.DOMAIN, "a.example.no", stix_id=imported), cert_name="C"
    )
    assert theirs["id"] == imported
    assert "created_by_ref" not in theirs  # served as theirs, not claimed
    assert stix_bundle([], cert_name="C") == stix_bundle([], cert_name="C")


def test_red_is_refused() -> None:
    with pytest.raises(ValueError, match="TLP:RED"):
        indicator_object(shared(IndicatorType.DOMAIN, "r.example.no", tlp=Tlp.RED), cert_name="C")


def test_timestamps_are_utc_milliseconds() -> None:
    assert timestamp(NOW.replace(microsecond=123456)) == "2026-11-28T12:00:00.123Z"
