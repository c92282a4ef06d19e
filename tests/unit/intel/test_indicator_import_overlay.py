"""A matcher taking in changes as an overlay answers exactly as a matcher rebuilt from the
changed set would: new ids found, withdrawn ids hidden (also from the screening answers)."""

from __future__ import annotations

from types import SimpleNamespace

from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType

T = IndicatorType
FIELDS = [
    *("source_ip", "destination_ip", "source_fqdn", "destination_fqdn", "source_url"),
    *("destination_url", "dns_query", "tls_sni", "http_host", "malware_hash_md5"),
    *("malware_hash_sha1", "malware_hash_sha256", "tls_ja3", "tls_ja3s", "tls_ja4"),
]
BASE = [
    (1, T.IPV4, "192.0.2.1"),
    (2, T.CIDR, "198.51.100.0/24"),
    (3, T.DOMAIN, "evil.example"),
    (4, T.SHA256, "a" * 64),
]


def event(**values: str) -> SimpleNamespace:
    return SimpleNamespace(**{**dict.fromkeys(FIELDS), **values})


EVENTS = [
    event(source_ip="192.0.2.1"),
    event(destination_ip="198.51.100.7"),
    event(dns_query="www.evil.example"),
    event(malware_hash_sha256="A" * 64),
    event(source_ip="203.0.113.5", dns_query="new.example"),
    event(destination_ip="192.0.2.1", tls_sni="c2.new.example"),
]


def test_an_overlay_answers_as_a_rebuild_would() -> None:
    base = IndicatorMatcher.build(sorted(BASE, key=lambda e: e[1]), revision=1)
    # 1 expired (withdrawn, not re-added), 3 changed (withdrawn, re-added), 5-6 new.
    changed = [
        (3, T.DOMAIN, "evil.example"),
        (5, T.IPV4, "203.0.113.5"),
        (6, T.DOMAIN, "new.example"),
    ]
    layered = base.with_changes(changed, [1, 3, 5, 6], revision=2, expires_at=None)
    rebuilt = IndicatorMatcher.build(
        sorted([e for e in BASE if e[0] not in (1, 3)] + changed, key=lambda e: e[1])
    )
    for item in EVENTS:
        assert layered.match(item) == rebuilt.match(item), item
    assert layered.revision == 2
    assert base.revision == 1  # the base is shared, not changed
    assert base.match(event(source_ip="192.0.2.1")) == [1]
    assert not layered.hits_ip("192.0.2.1")
    assert layered.hits_ip("203.0.113.5")
    assert layered.hits_name("x.new.example")
    assert layered.hits_digest("a" * 64)


def test_screen_digests_lists_what_hits_digest_answers_true_for() -> None:
    """The EVE screen's C loop checks hashes and fingerprints against this list without
    Python: `hits_digest(v)` must be `v.lower() in screen_digests()`, overlay included."""
    base = IndicatorMatcher.build(
        [
            (4, T.SHA256, "a" * 64),
            (7, T.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
            (8, T.JA3, "e7d705a3286e19ea42f587b344ee6865"),
            (9, T.JA4, "t13d1516h2_8daaf6152771_02713d6af862"),
            (3, T.DOMAIN, "evil.example"),
        ]
    )
    layered = base.with_changes([(10, T.SHA1, "b" * 40)], [10], revision=2, expires_at=None)
    assert base.screen_digests() == {
        "a" * 64,
        "d41d8cd98f00b204e9800998ecf8427e",
        "e7d705a3286e19ea42f587b344ee6865",
        "t13d1516h2_8daaf6152771_02713d6af862",
    }
    assert layered.screen_digests() == base.screen_digests() | {"b" * 40}
    probes = ["A" * 64, "b" * 40, "B" * 40, "E7D705A3286E19EA42F587B344EE6865", "evil.example", "0"]
    for matcher in (base, layered):
        for value in probes:
            assert matcher.hits_digest(value) == (value.lower() in matcher.screen_digests())
