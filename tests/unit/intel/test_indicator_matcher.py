"""The matcher: exact on every observable, checked rule by rule and against a brute-force oracle
on random data drawn from a small universe, so that hits, near misses and nesting abound."""

from __future__ import annotations

import contextlib
import ipaddress
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from vardeild.intel.matcher import UNMATCHED_TYPES, IndicatorMatcher
from vardeild.intel.model import IndicatorType, normalise_indicator, normalise_url
from vardeild.monitoring.model import Event, EventKind

T = IndicatorType
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
JA4 = "t13d1516h2_8daaf6152771_b186095e22b6"
Entry = tuple[int, IndicatorType, str]


def event(**fields: Any) -> Event:
    return Event(
        kind=EventKind.PROTOCOL,
        time_observation=datetime(2026, 11, 28, 12, tzinfo=UTC),
        feed_name="suricata",
        classification_taxonomy="other",
        classification_type="other",
        **fields,
    )


def matcher(*entries: tuple[IndicatorType, str]) -> IndicatorMatcher:
    """Return a matcher whose indicator ids are 1, 2, ... in the order given."""
    return IndicatorMatcher.build(
        (i, kind, normalise_indicator(kind, value)) for i, (kind, value) in enumerate(entries, 1)
    )


# -- rule by rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "hit"),
    [
        ("example.no", True),
        ("www.example.no", True),
        ("a.b.c.example.no", True),
        ("WWW.Example.NO.", True),  # DNS 0x20 case and the root dot
        ("evil-example.no", False),  # not on a label boundary
        ("example.no.evil.com", False),
        ("xexample.no", False),
        ("example.nom", False),
        ("no", False),
        ("example", False),
        (".example.no", True),
        ("", False),
    ],
)
def test_a_domain_matches_itself_and_names_under_it_on_whole_labels(name: str, hit: bool) -> None:
    m = matcher((T.DOMAIN, "example.no"))
    for field in ("dns_query", "source_fqdn", "destination_fqdn", "tls_sni", "http_host"):
        assert m.match(event(**{field: name})) == ([1] if hit else []), field
    url = f"https://{name}/path"
    assert m.match(event(destination_url=url)) == ([1] if hit else []), url


def test_every_listed_parent_of_a_name_matches() -> None:
    m = matcher((T.DOMAIN, "example.no"), (T.DOMAIN, "c2.example.no"), (T.DOMAIN, "other.no"))
    assert m.match(event(dns_query="x.c2.example.no")) == [1, 2]
    assert m.match(event(dns_query="c2.example.no", tls_sni="other.no")) == [1, 2, 3]


def test_an_idn_name_matches_its_punycode_indicator() -> None:
    m = matcher((T.DOMAIN, "bücher.no"))
    assert m.match(event(dns_query="www.xn--bcher-kva.no")) == [1]
    assert m.match(event(http_host="WWW.BÜCHER.NO")) == [1]


def test_tls_sni_and_http_host_indicators_match_only_their_field_exactly() -> None:
    m = matcher((T.TLS_SNI, "c2.evil.no"), (T.HTTP_HOST, "c2.evil.no"))
    assert m.match(event(tls_sni="C2.evil.no.")) == [1]
    assert m.match(event(tls_sni="x.c2.evil.no")) == []
    assert m.match(event(http_host="c2.evil.no:8080")) == [2]
    assert m.match(event(http_host="x.c2.evil.no")) == []
    assert m.match(event(dns_query="c2.evil.no", destination_fqdn="c2.evil.no")) == []


def test_an_http_host_indicator_may_be_an_address() -> None:
    m = matcher((T.HTTP_HOST, "192.0.2.1"), (T.HTTP_HOST, "[2001:db8::1]"))
    assert m.match(event(http_host="192.0.2.1:80")) == [1]
    assert m.match(event(http_host="[2001:db8::1]:8080")) == [2]


def test_ip_addresses_and_nested_networks_all_match() -> None:
    m = matcher(
        (T.IPV4, "10.1.2.3"),
        (T.CIDR, "10.0.0.0/8"),
        (T.CIDR, "10.1.0.0/16"),
        (T.CIDR, "10.1.2.3/32"),
        (T.CIDR, "10.2.0.0/16"),
        (T.IPV6, "2001:db8::1"),
        (T.CIDR, "2001:db8::/32"),
    )
    assert m.match(event(source_ip="10.1.2.3")) == [1, 2, 3, 4]
    assert m.match(event(destination_ip="10.1.9.9")) == [2, 3]
    assert m.match(event(source_ip="11.0.0.1")) == []
    assert m.match(event(source_ip="::ffff:10.1.2.3")) == [1, 2, 3, 4]
    uncompressed = "2001:0db8:0000:0000:0000:0000:0000:0001"  # as Suricata writes IPv6
    assert m.match(event(source_ip=uncompressed)) == [6, 7]
    assert m.match(event(source_ip="2001:DB8::2")) == [7]


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_ipv4_networks_of_every_length_match_exactly(seed: int) -> None:
    # Networks of /16 and longer, of /8 to /15, and wider each take another path to the trie.
    rng = random.Random(seed)
    networks = []
    for i in range(1, 120):
        length = rng.choice(range(33)) if i % 10 else rng.randint(0, 7)
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        networks.append((i, T.CIDR, str(ipaddress.ip_network(f"{address}/{length}", False))))
    for wide in (False, True):
        entries = [e for e in networks if wide or int(e[2].partition("/")[2]) >= 8]
        m = IndicatorMatcher.build(entries)
        parsed = [(i, ipaddress.ip_network(value)) for i, _, value in entries]
        for _ in range(2000):
            network = rng.choice(parsed)[1]
            if rng.random() < 0.5:
                address = network.network_address + rng.randrange(network.num_addresses)
            else:
                address = ipaddress.IPv4Address(rng.getrandbits(32))
            expected = sorted(i for i, n in parsed if address in n)
            assert m.match(event(source_ip=str(address))) == expected, address


def test_the_families_never_mix() -> None:
    # 10.0.0.0/8 and a00::/8 share their first bits; one trie for both would confuse them.
    m = matcher((T.CIDR, "10.0.0.0/8"), (T.CIDR, "a00::/8"), (T.CIDR, "2a00::/16"))
    assert m.match(event(source_ip="a00::1")) == [2]
    assert m.match(event(source_ip="10.0.0.1")) == [1]
    assert m.match(event(source_ip="42.0.0.1")) == []
    assert m.match(event(source_ip="2a00::1")) == [3]


@pytest.mark.parametrize(
    "text", ["", "not an ip", "10.0.0", "10.0.0.256", "010.0.0.1", "2001:db8::zz", "::ffff:x"]
)
def test_text_that_is_no_address_matches_nothing_and_raises_nothing(text: str) -> None:
    m = matcher((T.CIDR, "10.0.0.0/8"), (T.CIDR, "2001:db8::/32"), (T.IPV4, "10.0.0.1"))
    assert m.match(event(source_ip=text, destination_ip=text)) == []


@pytest.mark.parametrize(
    ("url", "hit"),
    [
        ("http://evil.no/gate.php?id=1", True),
        ("HTTP://EVIL.NO:80/gate.php?id=1#top", True),
        ("http://user@evil.no/gate.php?id=1", False),  # user info is part of the URL
        ("http://evil.no/GATE.php?id=1", False),  # paths are case-sensitive
        ("http://evil.no:8080/gate.php?id=1", False),
        ("https://evil.no/gate.php?id=1", False),
        ("http://evil.no/gate.php?id=2", False),
        ("http://evil.no/gate.php", False),
        ("evil.no/gate.php?id=1", False),
    ],
)
def test_urls_match_after_normalisation_exactly(url: str, hit: bool) -> None:
    m = matcher((T.URL, "http://evil.no/gate.php?id=1"))
    assert m.match(event(destination_url=url)) == ([1] if hit else [])
    assert m.match(event(source_url=url)) == ([1] if hit else [])


def test_a_url_host_feeds_the_domain_indicators() -> None:
    m = matcher((T.DOMAIN, "evil.no"), (T.URL, "http://c2.evil.no/x"))
    assert m.match(event(destination_url="http://c2.evil.no/x", http_host="c2.evil.no")) == [1, 2]
    assert m.match(event(destination_url="http://a:b@c2.EVIL.no:81/")) == [1]
    assert m.match(event(destination_url="http://good.no/?next=http://evil.no/")) == []


def test_hashes_and_fingerprints_match_only_their_own_type() -> None:
    m = matcher(
        (T.MD5, MD5), (T.JA3, MD5), (T.JA3S, MD5), (T.SHA1, SHA1), (T.SHA256, SHA256), (T.JA4, JA4)
    )
    assert m.match(event(malware_hash_md5=MD5.upper())) == [1]
    assert m.match(event(tls_ja3=MD5)) == [2]
    assert m.match(event(tls_ja3s=MD5)) == [3]
    assert m.match(event(malware_hash_sha1=SHA1, malware_hash_sha256=SHA256)) == [4, 5]
    assert m.match(event(tls_ja4=JA4.upper())) == [6]
    assert m.match(event(malware_hash_sha256=SHA1, tls_ja4=MD5)) == []


def test_one_value_from_several_sources_gives_every_id_once() -> None:
    m = IndicatorMatcher.build([(7, T.DOMAIN, "evil.no"), (3, T.DOMAIN, "evil.no")])
    seen = event(dns_query="evil.no", tls_sni="evil.no", destination_fqdn="evil.no")
    assert m.match(seen) == [3, 7]
    assert len(m) == 1
    assert m.counts == {"domain": 1}


def test_types_not_matched_yet_are_held_but_never_match() -> None:
    m = matcher((T.EMAIL, "phish@evil.no"), (T.ASN, "AS64500"))
    assert m.match(event(dns_query="evil.no", source_asn=64500)) == []


def test_an_empty_matcher_matches_nothing() -> None:
    m = IndicatorMatcher.build([])
    assert len(m) == 0
    everything = event(
        source_ip="10.0.0.1",
        destination_ip="2001:db8::1",
        dns_query="evil.no",
        tls_sni="evil.no",
        http_host="evil.no",
        destination_url="http://evil.no/",
        malware_hash_md5=MD5,
        tls_ja3=MD5,
    )
    assert m.match(everything) == []


def test_the_matcher_carries_its_revision_and_first_expiry() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    m = IndicatorMatcher.build([], revision=5, expires_at=at)
    assert (m.revision, m.expires_at) == (5, at)


# -- against a brute-force oracle -----------------------------------------------------------

LABELS = ("a", "b", "c", "d", "evil", "example", "evil-example", "x1", "mail", "www", "cdn")
TLDS = ("no", "com")
PATHS = ("", "/", "/a", "/A", "/a/b", "/gate.php?id=1", "/gate.php?id=2")


class Universe:
    """A small world of values, so that random indicators and events collide often."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.hashes = {kind: [self.hex(n) for _ in range(6)] for kind, n in HEX_TYPES.items()}
        self.ja4s = [f"t13d{rng.randint(1000, 1010)}h2_{self.hex(12)}_{self.hex(12)}" for _ in "ab"]

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def v4(self) -> str:
        return str(ipaddress.IPv4Address(0x0A000000 | self.rng.getrandbits(12)))

    def v6(self) -> str:
        return str(ipaddress.IPv6Address((0x20010DB8 << 96) | self.rng.getrandbits(11)))

    def cidr(self) -> str:
        if self.rng.random() < 0.6:
            length = self.rng.randint(24, 32)
            return str(ipaddress.ip_network(f"{self.v4()}/{length}", strict=False))
        length = self.rng.randint(121, 128)
        return str(ipaddress.ip_network(f"{self.v6()}/{length}", strict=False))

    def domain(self, low: int = 1, high: int = 3) -> str:
        labels = self.rng.choices(LABELS, k=self.rng.randint(low, high))
        return ".".join([*labels, self.rng.choice(TLDS)])

    def url(self) -> str:
        scheme = self.rng.choice(("http", "https"))
        return f"{scheme}://{self.domain()}{self.rng.choice(PATHS[1:])}"

    def indicator(self) -> tuple[IndicatorType, str]:
        kind = self.rng.choice(MATCHED_TYPES)
        makers = {
            T.IPV4: self.v4,
            T.IPV6: self.v6,
            T.CIDR: self.cidr,
            T.DOMAIN: self.domain,
            T.URL: self.url,
            T.TLS_SNI: self.domain,
            T.HTTP_HOST: self.domain,
            T.JA4: lambda: self.rng.choice(self.ja4s),
        }
        maker = makers.get(kind) or (lambda: self.rng.choice(self.hashes[kind]))
        return kind, normalise_indicator(kind, maker())

    def ip_text(self) -> str:
        """An address as sensors write them: compressed, uncompressed or IPv4-mapped."""
        roll = self.rng.random()
        if roll < 0.5:
            return self.v4()
        if roll < 0.6:
            return f"::ffff:{self.v4()}"
        address = ipaddress.IPv6Address(self.v6())
        return address.exploded if roll < 0.8 else str(address)

    def name_text(self) -> str:
        name = self.domain(0, 4)
        if self.rng.random() < 0.3:
            name = name.upper()
        return name + ("." if self.rng.random() < 0.2 else "")

    def url_text(self) -> str:
        scheme = self.rng.choice(("http", "https", "HTTP"))
        port = self.rng.choice(("", "", ":80", ":443", ":8080"))
        user = "u:p@" if self.rng.random() < 0.1 else ""
        fragment = "#f" if self.rng.random() < 0.2 else ""
        host = self.name_text().rstrip(".")
        return f"{scheme}://{user}{host}{port}{self.rng.choice(PATHS)}{fragment}"

    def hash_text(self, kind: IndicatorType) -> str:
        pool = [value for values in self.hashes.values() for value in values]
        value = self.rng.choice(self.hashes[kind] if self.rng.random() < 0.6 else pool)
        return value.upper() if self.rng.random() < 0.3 else value

    def event(self) -> Event:
        fields: dict[str, Any] = {}
        maybe = self.rng.random
        for name in ("source_ip", "destination_ip"):
            if maybe() < 0.8:
                fields[name] = self.ip_text()
        for name in ("source_fqdn", "destination_fqdn", "dns_query", "tls_sni"):
            if maybe() < 0.3:
                fields[name] = self.name_text()
        if maybe() < 0.3:
            port = self.rng.choice(("", ":80", ":8080"))
            fields["http_host"] = self.name_text().rstrip(".") + port
        for name in ("source_url", "destination_url"):
            if maybe() < 0.3:
                fields[name] = self.url_text()
        for name, kind in HASH_FIELDS.items():
            if maybe() < 0.2:
                fields[name] = (
                    self.hash_text(kind) if kind is not T.JA4 else self.rng.choice(self.ja4s)
                )
        return event(**fields)


HEX_TYPES = {T.MD5: 32, T.SHA1: 40, T.SHA256: 64, T.JA3: 32, T.JA3S: 32}
HASH_FIELDS = {
    "malware_hash_md5": T.MD5,
    "malware_hash_sha1": T.SHA1,
    "malware_hash_sha256": T.SHA256,
    "tls_ja3": T.JA3,
    "tls_ja3s": T.JA3S,
    "tls_ja4": T.JA4,
}
MATCHED_TYPES = [kind for kind in IndicatorType if kind not in UNMATCHED_TYPES]


def _address(text: str | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if not text:
        return []
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return []
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return [address, address.ipv4_mapped]
    return [address]


def _name(text: str) -> str:
    return text.lower().rstrip(".").encode("idna").decode("ascii")


def oracle(entries: Iterable[Entry], seen: Event) -> list[int]:
    """Return the ids the rules of docs/indicators.md give, the slow and obvious way."""
    addresses = _address(seen.source_ip) + _address(seen.destination_ip)
    host = seen.http_host
    if host and ":" in host:
        host = host.rpartition(":")[0]
    urls = [u for u in (seen.source_url, seen.destination_url) if u]
    names = [_name(n) for n in (seen.source_fqdn, seen.destination_fqdn, seen.dns_query) if n]
    names += [_name(n) for n in (seen.tls_sni, host) if n]
    names += [_name(urlsplit(u).hostname or "") for u in urls]
    canonical_urls = set()
    for u in urls:
        with contextlib.suppress(ValueError):
            canonical_urls.add(normalise_url(u))
    found = set()
    for indicator_id, kind, value in entries:
        hit = False
        if kind in (T.IPV4, T.IPV6, T.CIDR):
            network = ipaddress.ip_network(value)
            hit = any(a.version == network.version and a in network for a in addresses)
        elif kind is T.DOMAIN:
            hit = any(n == value or n.endswith("." + value) for n in names)
        elif kind is T.TLS_SNI:
            hit = bool(seen.tls_sni) and _name(seen.tls_sni or "") == value
        elif kind is T.HTTP_HOST:
            hit = bool(host) and _name(host or "") == value
        elif kind is T.URL:
            hit = value in canonical_urls
        else:
            field = next(f for f, k in HASH_FIELDS.items() if k is kind)
            observed = getattr(seen, field)
            hit = bool(observed) and observed.lower() == value
        if hit:
            found.add(indicator_id)
    return sorted(found)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_matcher_agrees_with_a_brute_force_oracle(seed: int) -> None:
    rng = random.Random(seed)
    universe = Universe(rng)
    entries = [(i, *universe.indicator()) for i in range(1, 151)]
    m = IndicatorMatcher.build(entries)
    hits = 0
    for _ in range(1000):
        seen = universe.event()
        expected = oracle(entries, seen)
        assert m.match(seen) == expected, seen
        hits += bool(expected)
    # The universe is small on purpose: a good share of events must hit, or the test proves
    # little about hits.
    assert 100 < hits < 900


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_screening_answers_never_miss_a_match(seed: int) -> None:
    """hits_ip is exact; hits_name and hits_digest may say yes for nothing but never no where
    match finds ids (the EVE screen counts a line without a full parse on their no)."""
    rng = random.Random(seed)
    universe = Universe(rng)
    entries = [(i, *universe.indicator()) for i in range(1, 151)]
    m = IndicatorMatcher.build(entries)
    said = {"ip": 0, "name": 0, "digest": 0}
    for _ in range(1000):
        ip = universe.ip_text()
        assert m.hits_ip(ip) == bool(m.match(event(source_ip=ip))), ip
        said["ip"] += m.hits_ip(ip)
        name = universe.name_text()
        host = name.rstrip(".")
        path = rng.choice(PATHS)
        for seen in (
            event(dns_query=name),
            event(tls_sni=name),
            event(http_host=host),
            event(http_host=host, destination_url=f"http://{host.lower()}{path or '/'}"),
        ):
            if m.match(seen):
                assert m.hits_name(name), seen
        said["name"] += m.hits_name(name)
        for field, kind in HASH_FIELDS.items():
            value = universe.hash_text(kind) if kind is not T.JA4 else rng.choice(universe.ja4s)
            if m.match(event(**{field: value})):
                assert m.hits_digest(value), (field, value)
            said["digest"] += m.hits_digest(value)
    assert all(said.values())  # each answered yes sometimes, so the checks above ran
