"""Behaviour of the attribution index and the overlap checks, with brute-force oracles."""

from __future__ import annotations

import ipaddress
import random
import re
from itertools import combinations

import pytest

from vardeild.members.attribution import (
    AttributionIndex,
    IndexCounts,
    Match,
    Overlap,
    find_asn_overlaps,
    find_domain_overlaps,
    find_overlaps,
)

NETWORKS = [
    ("10.0.0.0/8", 1),
    ("10.1.0.0/16", 2),
    ("10.1.2.0/24", 3),
    ("10.1.2.3/32", 4),
    ("2001:db8::/32", 5),
    ("2001:db8:1::/48", 6),
    ("2001:db8:1:2::/64", 7),
    ("198.51.100.0/24", 9),
    ("198.51.100.0/24", 8),
]
DOMAINS = [
    ("example.no", 1),
    ("sub.example.no", 2),
    ("xn--bcher-kva.no", 3),
    ("shared.no", 5),
    ("shared.no", 4),
]
ASNS = [(64500, 1), (64501, 3), (64501, 2)]


@pytest.fixture(scope="module")
def index() -> AttributionIndex:
    return AttributionIndex.build(NETWORKS, DOMAINS, ASNS)


@pytest.mark.parametrize(
    ("ip", "owner"),
    [
        ("10.200.0.1", 1),
        ("10.1.200.1", 2),
        ("10.1.2.4", 3),
        ("10.1.2.3", 4),
        ("2001:db8:ffff::1", 5),
        ("2001:db8:1:ffff::1", 6),
        ("2001:db8:1:2::99", 7),
        ("2001:DB8:1:2::99", 7),
        ("::ffff:10.1.2.4", 3),
    ],
)
def test_most_specific_prefix_wins(index: AttributionIndex, ip: str, owner: int) -> None:
    assert index.owner_of_ip(ip) == owner
    match = index.match_ip(ip)
    assert match is not None
    assert match.owner == owner


def test_match_names_the_most_specific_prefix(index: AttributionIndex) -> None:
    assert index.match_ip("10.1.2.4") == Match(kind="network", matched="10.1.2.0/24", owners=(3,))
    assert index.match_ip("2001:db8:1:2::1") == Match(
        kind="network", matched="2001:db8:1:2::/64", owners=(7,)
    )


@pytest.mark.parametrize("ip", ["11.0.0.1", "9.255.255.255", "2001:db9::1", "::1", "fe80::1"])
def test_no_match_outside_registered_space(index: AttributionIndex, ip: str) -> None:
    assert index.owner_of_ip(ip) is None
    assert index.match_ip(ip) is None


def test_address_families_never_answer_for_each_other() -> None:
    # Same leading bits in both families: one 128-bit trie would mix these up.
    index = AttributionIndex.build(
        [("10.0.0.0/8", 1), ("a00::/8", 2), ("42.0.0.0/8", 3), ("2a02::/16", 4)], [], []
    )
    assert index.owner_of_ip("10.0.0.1") == 1
    assert index.owner_of_ip("a00::1") == 2
    assert index.owner_of_ip("2a00::1") is None  # under 42.0.0.0/8's bits, but IPv6
    assert index.owner_of_ip("42.2.0.1") == 3  # under 2a02::/16's bits, but IPv4
    assert index.owner_of_ip("2a02::1") == 4
    assert AttributionIndex.build([("0.0.0.0/0", 1)], [], []).owner_of_ip("2001:db8::1") is None
    assert AttributionIndex.build([("::/0", 1)], [], []).owner_of_ip("192.0.2.1") is None


@pytest.mark.parametrize(
    "ip",
    [
        "",
        "bad",
        "300.1.1.1",
        "1.2.3.4.5",
        "10.1.2",
        " 10.1.2.3",
        "10.1.2.3 ",
        "2001:db8::g",
        "2001:db8:::1",
        "fe80::1%eth0",
        "１0.1.2.3",
    ],
)
def test_invalid_address_answers_none(index: AttributionIndex, ip: str) -> None:
    assert index.owner_of_ip(ip) is None
    assert index.match_ip(ip) is None


@pytest.mark.parametrize("value", [None, 10, b"10.1.2.3", ["10.1.2.3"]])
def test_non_string_answers_none(index: AttributionIndex, value: object) -> None:
    assert index.owner_of_ip(value) is None  # type: ignore[arg-type]


def test_identical_prefix_lists_every_owner(index: AttributionIndex) -> None:
    assert index.owner_of_ip("198.51.100.7") == 8
    assert index.match_ip("198.51.100.7") == Match(
        kind="network", matched="198.51.100.0/24", owners=(8, 9)
    )


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("example.no", "example.no"),
        ("www.example.no", "example.no"),
        ("a.b.c.example.no", "example.no"),
        ("sub.example.no", "sub.example.no"),
        ("deep.sub.example.no", "sub.example.no"),
        ("WWW.Example.NO.", "example.no"),
        ("www.bücher.no", "xn--bcher-kva.no"),
    ],
)
def test_domain_owns_its_subdomains(index: AttributionIndex, name: str, matched: str) -> None:
    match = index.match_domain(name)
    assert match is not None
    assert match.matched == matched
    assert index.owner_of_domain(name) == match.owner


@pytest.mark.parametrize(
    "name",
    ["badexample.no", "evil-example.no", "example.no.evil.com", "no", "xample.no", "", ".", "ø"],
)
def test_domain_matches_whole_labels_only(index: AttributionIndex, name: str) -> None:
    assert index.owner_of_domain(name) is None
    assert index.match_domain(name) is None


def test_identical_domain_lists_every_owner(index: AttributionIndex) -> None:
    assert index.owner_of_domain("www.shared.no") == 4
    assert index.match_domain("www.shared.no") == Match(
        kind="domain", matched="shared.no", owners=(4, 5)
    )


def test_asn_lookups(index: AttributionIndex) -> None:
    assert index.owner_of_asn(64500) == 1
    assert index.owner_of_asn(64501) == 2
    assert index.owner_of_asn(64502) is None
    assert index.match_asn(64501) == Match(kind="asn", matched="AS64501", owners=(2, 3))
    assert index.match_asn(1) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1.2.4", Match("network", "10.1.2.0/24", (3,))),
        ("10.1.2.0/24", Match("network", "10.1.2.0/24", (3,))),
        ("10.1.128.0/17", Match("network", "10.1.0.0/16", (2,))),
        ("10.0.0.0/7", None),
        ("2001:db8:1::/56", Match("network", "2001:db8:1::/48", (6,))),
        ("[2001:db8:1:2::1]", Match("network", "2001:db8:1:2::/64", (7,))),
        ("::ffff:10.1.2.3", Match("network", "10.1.2.3/32", (4,))),
        (" 10.9.9.9 ", Match("network", "10.0.0.0/8", (1,))),
        ("203.0.113.9", None),
        ("WWW.Example.NO.", Match("domain", "example.no", (1,))),
        ("www.bücher.no", Match("domain", "xn--bcher-kva.no", (3,))),
        ("other.no", None),
        ("AS64500", Match("asn", "AS64500", (1,))),
        ("as64501", Match("asn", "AS64501", (2, 3))),
        ("64500", Match("asn", "AS64500", (1,))),
        ("AS64999", None),
        ("https://user@www.sub.example.no:8443/login?x=1", Match("domain", "sub.example.no", (2,))),
        ("http://[2001:db8::1]:8080/", Match("network", "2001:db8::/32", (5,))),
        ("http://10.1.2.9/admin", Match("network", "10.1.2.0/24", (3,))),
        ("www.example.no/login", Match("domain", "example.no", (1,))),
        ("soc@sub.example.no", Match("domain", "sub.example.no", (2,))),
        ("Abuse@Shared.NO", Match("domain", "shared.no", (4, 5))),
    ],
)
def test_whois_classifies_the_value(
    index: AttributionIndex, value: str, expected: Match | None
) -> None:
    assert index.whois(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a thing!", "is not an IP address, network, domain, AS number, URL or e-mail"),
        ("", "is not an IP address, network, domain, AS number, URL or e-mail"),
        ("300.1.1.1", "is not an IP address, network, domain, AS number, URL or e-mail"),
        ("10.1.2.3/16", "has host bits set; the network is 10.1.0.0/16"),
        ("10.1.2.0/33", "is not an IPv4 or IPv6 network"),
        ("https:///path", "is a URL without a host"),
        ("http://[::1/", "is not a valid URL"),
        ("AS0", "outside 1..4294967295"),
        ("*.example.no", "(as a domain: '*.example.no' is a wildcard"),
    ],
)
def test_whois_rejects_what_it_cannot_classify(
    index: AttributionIndex, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        index.whois(value)


def test_counts(index: AttributionIndex) -> None:
    assert index.counts == IndexCounts(networks=8, domains=4, asns=2, conflicts=3)
    assert len(index) == 14


def test_build_rejects_malformed_values_naming_the_organisation() -> None:
    with pytest.raises(ValueError, match=r"network of organisation 7: .* has host bits set"):
        AttributionIndex.build([("10.1.2.3/16", 7)], [], [])
    with pytest.raises(ValueError, match="domain of organisation 8"):
        AttributionIndex.build([], [("not a domain", 8)], [])
    with pytest.raises(ValueError, match="AS number of organisation 9"):
        AttributionIndex.build([], [], [(0, 9)])


def test_empty_index_answers_nothing() -> None:
    index = AttributionIndex.build([], [], [])
    assert index.owner_of_ip("192.0.2.1") is None
    assert index.owner_of_ip("2001:db8::1") is None
    assert index.owner_of_domain("example.no") is None
    assert index.whois("AS64500") is None
    assert len(index) == 0


def test_find_overlaps_nested_and_identical_across_organisations() -> None:
    overlaps = find_overlaps(
        [
            ("10.0.0.0/8", 1),
            ("10.1.0.0/16", 1),  # same org nested: not a conflict
            ("10.1.2.0/24", 2),
            ("10.1.2.0/24", 3),
            ("10.1.2.0/24", 3),  # the same claim twice is one claim
            ("192.0.2.0/24", 4),  # disjoint
            ("a00::/8", 5),  # same bits as 10.0.0.0/8, other family
            ("2001:db8::/32", 6),
            ("2001:db8:1::/48", 7),
        ]
    )
    assert set(overlaps) == {
        Overlap("network", "10.0.0.0/8", 1, "10.1.2.0/24", 2, identical=False),
        Overlap("network", "10.0.0.0/8", 1, "10.1.2.0/24", 3, identical=False),
        Overlap("network", "10.1.0.0/16", 1, "10.1.2.0/24", 2, identical=False),
        Overlap("network", "10.1.0.0/16", 1, "10.1.2.0/24", 3, identical=False),
        Overlap("network", "10.1.2.0/24", 2, "10.1.2.0/24", 3, identical=True),
        Overlap("network", "2001:db8::/32", 6, "2001:db8:1::/48", 7, identical=False),
    }
    assert len(overlaps) == len(set(overlaps))


def test_find_overlaps_keeps_families_apart_where_their_integers_meet() -> None:
    # ::/96 starts at integer 0 like 0.0.0.0/0 does; it is still not inside it.
    assert find_overlaps([("0.0.0.0/0", 1), ("::/96", 2), ("::1/128", 3)]) == [
        Overlap("network", "::/96", 2, "::1/128", 3, identical=False)
    ]


def test_find_overlaps_rejects_a_malformed_network() -> None:
    with pytest.raises(ValueError, match="network of organisation 3"):
        find_overlaps([("10.0.0.0/8", 1), ("10.0.0.1/8", 3)])


def _random_prefixes(rng: random.Random, count: int) -> list[tuple[str, int]]:
    """Return prefixes crowded into small ranges so that many nest; the IPv6 ones partly copy
    the IPv4 ones' leading bits (a00::/12 mirrors 10.0.0.0/12) to catch family mix-ups."""
    prefixes = []
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    for _ in range(count):
        org = rng.randint(1, 6)
        kind = rng.random()
        if kind < 0.5:
            length = rng.randint(12, 30)
            network = ipaddress.IPv4Network(
                (0x0A000000 | rng.getrandbits(length - 12) << (32 - length), length)
            )
        elif kind < 0.75:
            length = rng.randint(12, 30)
            bits = 0x0A000000 | rng.getrandbits(length - 12) << (32 - length)
            network = ipaddress.IPv6Network((bits << 96, length))
        else:
            length = rng.randint(32, 56)
            network = ipaddress.IPv6Network(
                (0x20010DB8 << 96 | rng.getrandbits(length - 32) << (128 - length), length)
            )
        prefixes.append((str(network), org))
    return prefixes


def _span(text: str) -> tuple[int, int, int, int]:
    net = ipaddress.ip_network(text)
    return net.version, int(net.network_address), int(net.broadcast_address), net.prefixlen


def test_find_overlaps_agrees_with_brute_force() -> None:
    rng = random.Random(20_261_128)
    prefixes = _random_prefixes(rng, 2_500)
    claims = sorted(set(prefixes))
    spans = {text: _span(text) for text, _ in claims}
    expected = set()
    for (a, a_org), (b, b_org) in combinations(claims, 2):
        if a_org == b_org:
            continue
        (va, fa, la, _), (vb, fb, lb, _) = spans[a], spans[b]
        if va != vb:
            continue
        if fa <= fb and lb <= la:
            outer, inner = (a, a_org), (b, b_org)
        elif fb <= fa and la <= lb:
            outer, inner = (b, b_org), (a, a_org)
        else:
            continue
        if a == b:  # identical: lower organisation id is the outer
            outer, inner = sorted([outer, inner], key=lambda claim: claim[1])
        expected.add(Overlap("network", outer[0], outer[1], inner[0], inner[1], a == b))
    found = find_overlaps(prefixes)
    assert len(found) == len(set(found))
    assert set(found) == expected
    assert len(expected) > 1_000  # the data really nests
    assert any(o.identical for o in expected)


def test_owner_of_ip_agrees_with_brute_force() -> None:
    rng = random.Random(7)
    prefixes = _random_prefixes(rng, 1_500)
    index = AttributionIndex.build(prefixes, [], [])
    owners: dict[str, set[int]] = {}
    for text, org in prefixes:
        owners.setdefault(text, set()).add(org)
    spans = [(_span(text), min(orgs)) for text, orgs in owners.items()]
    hits = 0
    for _ in range(2_000):
        kind = rng.random()
        # A quarter fall just beside the crowded ranges (10.16.0.0/12, 2001:db9::/32): misses.
        beside = rng.random() < 0.25
        v4 = (0x0A100000 if beside else 0x0A000000) | rng.getrandbits(20)
        address: ipaddress.IPv4Address | ipaddress.IPv6Address
        if kind < 0.4:
            address = ipaddress.IPv4Address(v4)
        elif kind < 0.7:
            address = ipaddress.IPv6Address(v4 << 96 | rng.getrandbits(96))
        else:
            address = ipaddress.IPv6Address((0x20010DB8 + beside) << 96 | rng.getrandbits(96))
        value = int(address)
        covering = [
            (plen, org)
            for (version, first, last, plen), org in spans
            if version == address.version and first <= value <= last
        ]
        expected = max(covering)[1] if covering else None
        assert index.owner_of_ip(str(address)) == expected, str(address)
        hits += expected is not None
    assert 200 < hits < 1_800, hits  # both hits and misses were exercised


def test_find_domain_overlaps() -> None:
    overlaps = find_domain_overlaps(
        [
            ("example.no", 1),
            ("sub.example.no", 2),
            ("a.sub.example.no", 2),  # under its own org's domain and under org 1's
            ("own.example.no", 1),  # same org: not a conflict
            ("badexample.no", 3),  # not a subdomain
            ("Shared.NO.", 4),
            ("shared.no", 5),
        ]
    )
    assert set(overlaps) == {
        Overlap("domain", "example.no", 1, "sub.example.no", 2, identical=False),
        Overlap("domain", "example.no", 1, "a.sub.example.no", 2, identical=False),
        Overlap("domain", "shared.no", 4, "shared.no", 5, identical=True),
    }
    assert len(overlaps) == 3


def test_find_asn_overlaps() -> None:
    overlaps = find_asn_overlaps([(64500, 1), (64500, 2), (64500, 1), (64501, 3)])
    assert overlaps == [Overlap("asn", "AS64500", 1, "AS64500", 2, identical=True)]
    three = find_asn_overlaps([(64500, 3), (64500, 1), (64500, 2)])
    assert {(o.outer_owner, o.inner_owner) for o in three} == {(1, 2), (1, 3), (2, 3)}
