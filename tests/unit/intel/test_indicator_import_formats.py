"""The importers on small files written here: what STIX patterns reduce to and what is kept,
TLP markings (1.0 and 2.0 ids), MISP to_ids/tags/distribution, abuse.ch files as they arrive
(BOM, CRLF, banners, quoted cells, Excel dates), mapped CSV, and format detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vardeild.core.tlp import Tlp
from vardeild.intel.abusech import read_feodo, read_sslbl, read_urlhaus
from vardeild.intel.csv_mapping import parse_mapping, read_mapped_csv
from vardeild.intel.importers import detect_format
from vardeild.intel.imports import ImportDefaults, ImportFormat, parse_feed_time
from vardeild.intel.misp_in import read_misp_event
from vardeild.intel.model import IndicatorType
from vardeild.intel.stix_in import read_stix
from vardeild.intel.stix_patterns import PatternNotReducible, reduce_pattern

T = IndicatorType
D = ImportDefaults()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ipv4-addr:value = '192.0.2.1']", [(T.IPV4, "192.0.2.1")]),
        ("[ipv4-addr:value = '198.51.100.0/24']", [(T.CIDR, "198.51.100.0/24")]),
        ("[ipv6-addr:value = '2001:DB8::1']", [(T.IPV6, "2001:db8::1")]),
        ("[domain-name:value = 'Evil.Example.NO']", [(T.DOMAIN, "evil.example.no")]),
        ("[url:value = 'HTTP://Evil.no']", [(T.URL, "http://evil.no/")]),
        ("[email-addr:value = 'a@Evil.no']", [(T.EMAIL, "a@evil.no")]),
        ("[file:hashes.'SHA-256' = '" + "A" * 64 + "']", [(T.SHA256, "a" * 64)]),
        ("[file:hashes.MD5 = '" + "b" * 32 + "']", [(T.MD5, "b" * 32)]),
        ("[file:hashes.sha1 = '" + "c" * 40 + "']", [(T.SHA1, "c" * 40)]),
        (
            "[domain-name:value = 'a.no' OR ipv4-addr:value = '192.0.2.2']",
            [(T.DOMAIN, "a.no"), (T.IPV4, "192.0.2.2")],
        ),
        (
            "[url:value = 'http://a.no/x'] OR [url:value = 'http://b.no/y']",
            [(T.URL, "http://a.no/x"), (T.URL, "http://b.no/y")],
        ),
        (
            "[ipv4-addr:value IN ('192.0.2.3', '192.0.2.4')]",
            [(T.IPV4, "192.0.2.3"), (T.IPV4, "192.0.2.4")],
        ),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", [(T.CIDR, "10.0.0.0/8")]),
        ("[network-traffic:dst_ref.value = '192.0.2.5']", [(T.IPV4, "192.0.2.5")]),
    ],
)
def test_simple_patterns_reduce_to_values(pattern: str, expected: list[object]) -> None:
    assert reduce_pattern(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("[ipv4-addr:value = '192.0.2.1'] AND [domain-name:value = 'a.no']", "AND"),
        ("[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [url:value = 'http://a.no']", "FOLLOWEDBY"),
        ("[url:value = 'http://a.no'] WITHIN 5 SECONDS", "WITHIN"),
        ("[domain-name:value MATCHES '^evil']", "MATCHES"),
        ("[domain-name:value LIKE 'evil%']", "LIKE"),
        ("[domain-name:value != 'a.no']", "negated"),
        ("[email-message:subject = 'Invoice']", "email-message:subject"),
        ("[ipv4-addr:value = '999.1.1.1']", "not an IPv4 address"),
        ("[x509-certificate:issuer = 'CN=a' AND x509-certificate:serial_number = '1']", "AND"),
        ("ipv4-addr:value = '192.0.2.1'", "not a valid STIX 2.1 pattern"),
        ("[domain-name:value = 'a.no' OR email-message:subject = 'x']", "email-message:subject"),
    ],
)
def test_other_patterns_do_not_reduce_and_say_why(pattern: str, reason: str) -> None:
    with pytest.raises(PatternNotReducible, match=reason):
        reduce_pattern(pattern)


def _indicator(pattern: str, **extra: object) -> dict[str, object]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2025-01-01T00:00:00.000Z",
        "modified": "2025-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2025-01-01T00:00:00Z",
        **extra,
    }


def _bundle(*objects: dict[str, object]) -> bytes:
    return json.dumps(
        {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects}
    ).encode()


@pytest.mark.parametrize(
    ("marking", "tlp"),
    [
        ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp.CLEAR),
        ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp.GREEN),
        ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp.AMBER),
        ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp.RED),
        ("marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", Tlp.CLEAR),
        ("marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", Tlp.GREEN),
        ("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", Tlp.AMBER),
        ("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", Tlp.AMBER_STRICT),
        ("marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", Tlp.RED),
    ],
)
def test_stix_tlp_markings_of_both_versions_set_the_tlp(marking: str, tlp: Tlp) -> None:
    item = _indicator("[ipv4-addr:value = '192.0.2.1']", object_marking_refs=[marking])
    parsed = read_stix(_bundle(item), defaults=D)
    assert [record.tlp for record in parsed.records] == [tlp]


def test_a_stix_indicator_keeps_its_id_validity_confidence_tags_and_text() -> None:
    item = _indicator(
        "[domain-name:value = 'c2.example.no' OR ipv4-addr:value = '192.0.2.9']",
        valid_until="2026-01-01T00:00:00Z",
        confidence=85,
        indicator_types=["malicious-activity"],
        labels=["emotet"],
        name="Emotet C2",
        description="seen in phishing",
    )
    parsed = read_stix(_bundle(item, {"type": "report", "id": "report--1"}), defaults=D)
    assert [(r.type, r.value) for r in parsed.records] == [
        (T.DOMAIN, "c2.example.no"),
        (T.IPV4, "192.0.2.9"),
    ]
    record = parsed.records[0]
    assert record.stix_id == item["id"]
    assert record.valid_until == datetime(2026, 1, 1, tzinfo=UTC)
    assert record.confidence == 85
    assert record.tags == ("malicious-activity", "emotet")
    assert record.description == "Emotet C2\n\nseen in phishing"
    assert parsed.ignored == 1


def test_stix_indicators_that_do_not_reduce_are_kept_with_the_reason() -> None:
    bundle = _bundle(
        _indicator("[file:name = 'evil.exe']"),
        _indicator("[ipv4-addr:value = '192.0.2.1']", revoked=True),
        _indicator("alert tcp any any -> any any", pattern_type="snort"),
        {"type": "indicator", "id": "indicator--broken", "pattern": "[x:y = 'z']"},
    )
    parsed = read_stix(bundle, defaults=D)
    assert parsed.records == []
    reasons = [kept.reason for kept in parsed.unmatchable]
    assert "file:name has no event field" in reasons[0]
    assert reasons[1] == "revoked by its producer"
    assert "snort" in reasons[2]
    assert reasons[3].startswith("not a valid STIX indicator")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"$schema": "x", "title": "indicator"}', "JSON Schema"),
        (b'{"hello": 1}', "no 'type'"),
        (b"42", "another kind"),
    ],
)
def test_what_is_not_stix_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    parsed = read_stix(data, defaults=D)
    assert parsed.refused is not None
    assert reason in parsed.refused


def _misp(**event: object) -> bytes:
    base: dict[str, object] = {
        "info": "Phishing wave",
        "uuid": "5e7f2d40-8f1a-4b8e-9b5a-1c2d3e4f5a6b",
        "distribution": "1",
        "Tag": [{"name": "tlp:green"}, {"name": "phishing"}],
        "Attribute": [],
    }
    base.update(event)
    return json.dumps({"Event": base}).encode()


def test_misp_to_ids_attributes_become_indicators_with_tlp_from_tags() -> None:
    attributes = [
        {"type": "ip-dst", "value": "192.0.2.7", "to_ids": True, "uuid": "a-1"},
        {"type": "domain|ip", "value": "evil.no|192.0.2.8", "to_ids": True, "uuid": "a-2"},
        {
            "type": "url",
            "value": "http://evil.no/x",
            "to_ids": True,
            "uuid": "a-3",
            "Tag": [{"name": "tlp:amber+strict"}],
        },
        {"type": "link", "value": "https://report.example", "to_ids": False, "uuid": "a-4"},
        {"type": "filename", "value": "evil.exe", "to_ids": True, "uuid": "a-5"},
        {"type": "md5", "value": "d" * 32, "to_ids": True, "uuid": "a-6", "distribution": "0"},
    ]
    parsed = read_misp_event(_misp(Attribute=attributes), defaults=D)
    got = [(r.type, r.value, r.tlp, r.stix_id) for r in parsed.records]
    assert got == [
        (T.IPV4, "192.0.2.7", Tlp.GREEN, "a-1"),
        (T.DOMAIN, "evil.no", Tlp.GREEN, "a-2"),
        (T.IPV4, "192.0.2.8", Tlp.GREEN, "a-2"),
        (T.URL, "http://evil.no/x", Tlp.AMBER_STRICT, "a-3"),
        (T.MD5, "d" * 32, Tlp.AMBER_STRICT, "a-6"),  # "your organisation only"
    ]
    assert parsed.records[0].tags == ("phishing",)
    assert parsed.ignored == 1
    assert [(k.object_id, k.reason) for k in parsed.unmatchable] == [
        ("a-5", "MISP type filename has no event field to match")
    ]


def test_misp_object_attributes_are_read_too() -> None:
    objects = [
        {
            "name": "file",
            "Attribute": [
                {
                    "type": "sha256",
                    "object_relation": "sha256",
                    "value": "e" * 64,
                    "to_ids": True,
                    "uuid": "o-1",
                },
                {
                    "type": "filename",
                    "object_relation": "filename",
                    "value": "a.exe",
                    "uuid": "o-2",
                },
            ],
        }
    ]
    parsed = read_misp_event(_misp(Object=objects), defaults=D)
    assert [(r.type, r.value, r.tags) for r in parsed.records] == [
        (T.SHA256, "e" * 64, ("phishing", "file"))
    ]


FEODO = (
    b"\xef\xbb\xbf################\r\n# abuse.ch Feodo Tracker\r\n#\r\n"
    b'"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\r\n'
    b'"2023-05-23 17:51:44","192.0.2.10","443","online","2024-04-01","Pikabot"\r\n'
    b'"21/04/2025 10:00","192.0.2.11","8080","offline","2024-04-01","QakBot"\r\n'
    b'"2023-05-23","999.0.2.12","443","online","2024-04-01","QakBot"\r\n'
    b"# end\r\n"
)


def test_feodo_tolerates_bom_crlf_banners_quotes_and_excel_dates() -> None:
    parsed = read_feodo(FEODO, defaults=D)
    assert [(r.value, r.first_seen) for r in parsed.records] == [
        ("192.0.2.10", datetime(2023, 5, 23, 17, 51, 44, tzinfo=UTC)),
        ("192.0.2.11", datetime(2025, 4, 21, 10, 0, tzinfo=UTC)),
    ]
    assert parsed.records[1].tags == ("QakBot", "botnet-c2")
    assert [str(p) for p in parsed.problems] == [
        "line 7: dst_ip: '999.0.2.12' is not an IPv4 address"
    ]


def test_urlhaus_with_a_commented_header_reads_urls_and_tags() -> None:
    data = (
        b"# URLhaus\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
        b'"1","2025-04-21 12:35:06","http://192.0.2.1:60905/bin.sh","online","",'
        b'"malware_download","elf,Mozi","https://urlhaus.abuse.ch/url/1/","x"\n'
    )
    parsed = read_urlhaus(data, defaults=D)
    assert [(r.value, r.tags) for r in parsed.records] == [
        ("http://192.0.2.1:60905/bin.sh", ("malware_download", "elf", "Mozi"))
    ]


def test_sslbl_reads_certificate_and_ja3_lists() -> None:
    certs = (
        b"# SSLBL\n# Listingdate,SHA1,Listingreason\n2025-04-21 10:00:00," + b"f" * 40 + b",C2\n"
    )
    ja3 = b"# ja3_md5,Firstseen,Lastseen,Listingreason\n" + b"a" * 32 + b",2019-01-01,,Tofsee\n"
    assert [(r.type, r.value) for r in read_sslbl(certs, defaults=D).records] == [
        (T.X509_SHA1, "f" * 40)
    ]
    assert [(r.type, r.value) for r in read_sslbl(ja3, defaults=D).records] == [(T.JA3, "a" * 32)]


def test_mapped_csv_reads_the_named_columns() -> None:
    data = b"ioc;kind;family;seen\n192.0.2.1;ipv4;emotet;21.04.2025\nevil.no;;x;\nbad;ipv4;;\n"
    mapping = parse_mapping("value=ioc,type=kind,tags=family,first_seen=seen")
    parsed = read_mapped_csv(data, mapping=mapping, defaults=D)
    assert [(r.type, r.value, r.tags, r.first_seen) for r in parsed.records] == [
        (T.IPV4, "192.0.2.1", ("emotet",), datetime(2025, 4, 21, tzinfo=UTC)),
        (T.DOMAIN, "evil.no", ("x",), None),
    ]
    assert len(parsed.problems) == 1
    assert parsed.problems[0].record == "line 4"


@pytest.mark.parametrize("text", ["value", "value=", "colour=a,value=b", "type=kind"])
def test_bad_mappings_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_mapping(text)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-04-21 10:00:00", datetime(2025, 4, 21, 10, tzinfo=UTC)),
        ("2025-04-21T10:00:00Z", datetime(2025, 4, 21, 10, tzinfo=UTC)),
        ("21/04/2025 10:00", datetime(2025, 4, 21, 10, tzinfo=UTC)),
        ("21.04.2025", datetime(2025, 4, 21, tzinfo=UTC)),
        ("2025-04-21 10:00:00 UTC", datetime(2025, 4, 21, 10, tzinfo=UTC)),
        ("1745229600", datetime(2025, 4, 21, 10, tzinfo=UTC)),
    ],
)
def test_feed_times_are_read_leniently(text: str, moment: datetime) -> None:
    assert parse_feed_time(text) == moment


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (_bundle(), ImportFormat.STIX),
        (_misp(), ImportFormat.MISP),
        (FEODO, ImportFormat.FEODO),
        (b"# id,dateadded,url,url_status\n", ImportFormat.URLHAUS),
        (b"# Listingdate,SHA1,Listingreason\n", ImportFormat.SSLBL),
        (b"value,type\n192.0.2.1,ipv4\n", ImportFormat.CSV),
        (b"# list\n192.0.2.1\n", ImportFormat.PLAIN),
    ],
)
def test_the_format_is_detected_from_the_content(data: bytes, fmt: ImportFormat) -> None:
    assert detect_format(data) is fmt


@pytest.mark.parametrize(
    "pattern",
    [
        "[ipv4-addr:value = '192.0.2.1']",
        " [ domain-name:value = 'Evil.Example.NO' ] ",
        "[file:hashes.'SHA-256' = '" + "A" * 64 + "']",
        "[file:hashes.MD5 = '" + "b" * 32 + "']",
        "[network-traffic:dst_ref.value = '192.0.2.5']",
        "[url:value = 'http://a.no/x?y=1']",
        "[ipv4-addr:value = '10.0.0.0/8']",
    ],
)
def test_the_fast_path_reduces_as_the_grammar_does(pattern: str) -> None:
    from vardeild.intel import stix_patterns

    grammar = stix_patterns._observations  # the path every other pattern takes
    found: list[tuple[IndicatorType, str]] = []
    grammar(stix_patterns.create_pattern_object(pattern.strip(), version="2.1"), found)
    assert stix_patterns._SIMPLE.fullmatch(pattern.strip())
    assert reduce_pattern(pattern) == found


@pytest.mark.parametrize(
    "pattern",
    [
        "[file:hashes.SHA-256 = 'x']",  # a hyphen needs quotes: not valid STIX
        "[url:value = 'it\\'s']",  # an escape: left to the grammar
        "[domain-name:value == 'a.no']",
    ],
)
def test_other_forms_are_left_to_the_grammar(pattern: str) -> None:
    from vardeild.intel import stix_patterns

    assert stix_patterns._SIMPLE.fullmatch(pattern) is None
