"""The MISP feed out: pymisp (a library nobody here wrote) loads every event file; the
manifest and hashes.csv agree with the events; grouping and uuids are stable."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from pymisp import MISPEvent

from support.shared_indicators import NOW, ONE_OF_EACH, one_of_each, shared
from vardeild.core.tlp import Tlp
from vardeild.intel.misp_out import misp_events, misp_feed
from vardeild.intel.model import IndicatorType
from vardeild.intel.sharing import Audience

MEMBERS = Audience.all_members()


def test_pymisp_loads_every_event_and_the_manifest_agrees(tmp_path: Path) -> None:
    indicators = [
        *one_of_each(Tlp.GREEN),
        shared(IndicatorType.DOMAIN, "clear.example.no", id=100, tlp=Tlp.CLEAR),
        shared(IndicatorType.IPV4, "192.0.2.9", id=101, first_seen=NOW - timedelta(days=1)),
    ]
    feed = misp_feed(indicators, audience=MEMBERS, cert_name="HelseCERT")
    assert feed.events == 3  # GREEN today, CLEAR today, GREEN yesterday
    assert feed.attributes == len(indicators)
    manifest = json.loads(feed.files["manifest.json"])
    events = {name for name in feed.files if name not in ("manifest.json", "hashes.csv")}
    assert events == {f"{uuid}.json" for uuid in manifest}
    loaded_values = set()
    for name in events:
        (tmp_path / name).write_bytes(feed.files[name])
        event = MISPEvent()
        event.load_file(str(tmp_path / name))
        uuid = name.removesuffix(".json")
        assert event.uuid == uuid
        assert event.info == manifest[uuid]["info"]
        assert [t.name for t in event.tags] == [t["name"] for t in manifest[uuid]["Tag"]]
        loaded_values |= {(a.value, uuid) for a in event.attributes}
    rows = list(csv.reader(io.StringIO(feed.files["hashes.csv"].decode())))
    assert {(digest, uuid) for digest, uuid in rows} == {
        (hashlib.md5(value.encode(), usedforsecurity=False).hexdigest(), uuid)
        for value, uuid in loaded_values
    }


def test_tlp_tags_and_types() -> None:
    [wrapped] = misp_events(
        one_of_each(Tlp.AMBER_STRICT), audience=Audience.member(1), cert_name="C"
    )
    event = wrapped["Event"]
    assert [t["name"] for t in event["Tag"]] == ["tlp:amber+strict"]
    types = {a["value"]: a["type"] for a in event["Attribute"]}
    assert types[ONE_OF_EACH[IndicatorType.JA3]] == "ja3-fingerprint-md5"
    assert types[ONE_OF_EACH[IndicatorType.CIDR]] == "ip-dst"
    assert types["64500"] == "AS"
    assert types[ONE_OF_EACH[IndicatorType.JA4]] == "text"


def test_uuids_are_stable_and_differ_between_audiences() -> None:
    indicators = one_of_each()
    first = misp_events(indicators, audience=MEMBERS, cert_name="C")
    again = misp_events(list(reversed(indicators)), audience=MEMBERS, cert_name="C")
    assert first == again
    other = misp_events(indicators, audience=Audience.member(3), cert_name="C")
    assert first[0]["Event"]["uuid"] != other[0]["Event"]["uuid"]
    mine = {a["uuid"] for a in first[0]["Event"]["Attribute"]}
    theirs = {a["uuid"] for a in other[0]["Event"]["Attribute"]}
    assert not mine & theirs


def test_red_is_refused() -> None:
    with pytest.raises(ValueError, match="TLP:RED"):
        misp_feed(
            [shared(IndicatorType.DOMAIN, "r.example.no", tlp=Tlp.RED)],
            audience=MEMBERS,
            cert_name="C",
        )


def test_an_empty_feed_is_a_manifest_and_no_hashes() -> None:
    feed = misp_feed([], audience=MEMBERS, cert_name="C")
    assert feed.files == {"manifest.json": b"{}", "hashes.csv": b""}
