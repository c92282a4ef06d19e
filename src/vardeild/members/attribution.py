"""The attribution index: which member owns an IP address, a domain or an AS number.

The monitoring pipeline asks on every event, so the index is built once from the registry's
canonical values, frozen, and then only read; rebuild and swap it when the registry changes.
Also the pure conflict checks the registry runs on its networks, domains and ASNs.

IPv4 and IPv6 live in two tries on purpose: a single `PyTricia(128)` compares bits without the
address family, so 10.0.0.0/8 and a00::/8 collide on one key (the second owner overwrites the
first), 42.0.0.0/8 answers for 2a00::1 and 2a02::/16 answers for 42.2.0.1.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal, NamedTuple, TypeVar
from urllib.parse import urlsplit

import pytricia

from vardeild.core.identifiers import (
    domain_and_parents,
    normalise_domain,
    parse_asn,
    parse_network,
)

MatchKind = Literal["network", "domain", "asn"]
OrgId = int
K = TypeVar("K", bound=Hashable)

_ASN_TEXT = re.compile(r"^(?:AS)?[0-9]+$", re.IGNORECASE)
_MAPPED_V4 = "::ffff:"


@dataclass(frozen=True, slots=True)
class Match:
    """What an identifier matched: the registered network, domain or ASN and all its owners."""

    kind: MatchKind
    matched: str
    owners: tuple[OrgId, ...]

    @property
    def owner(self) -> OrgId:
        """Return the owner the index answers with: the lowest id where several conflict."""
        return self.owners[0]


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two organisations claiming the same space: `outer` equals or contains `inner`."""

    kind: MatchKind
    outer: str
    outer_owner: OrgId
    inner: str
    inner_owner: OrgId
    identical: bool


@dataclass(frozen=True, slots=True)
class IndexCounts:
    """How many distinct values the index holds, and how many of them have several owners."""

    networks: int
    domains: int
    asns: int
    conflicts: int


class AttributionIndex:
    """Answers which member owns an IP address, domain or ASN; immutable once built."""

    def __init__(
        self,
        networks: dict[str, tuple[OrgId, ...]],
        domains: dict[str, tuple[OrgId, ...]],
        asns: dict[int, tuple[OrgId, ...]],
    ) -> None:
        """Freeze the grouped, canonical values; use `build` rather than calling this."""
        self._v4 = pytricia.PyTricia(32)
        self._v6 = pytricia.PyTricia(128)
        for text, owners in networks.items():
            (self._v6 if ":" in text else self._v4)[text] = owners[0]
        # Frozen tries are compacted for lookup: measured 0.85M -> 1.5M mixed lookups/s.
        self._v4.freeze()
        self._v6.freeze()
        # The hot paths only need the first owner; full owner tuples are kept for conflicts.
        self._network_conflicts = {k: v for k, v in networks.items() if len(v) > 1}
        self._domain_owner = {k: v[0] for k, v in domains.items()}
        self._domain_owners = domains
        self._asn_owners = asns
        self._counts = IndexCounts(
            networks=len(networks),
            domains=len(domains),
            asns=len(asns),
            conflicts=sum(len(v) > 1 for g in (networks, domains, asns) for v in g.values()),
        )

    @classmethod
    def build(
        cls,
        networks: Iterable[tuple[str, OrgId]],
        domains: Iterable[tuple[str, OrgId]],
        asns: Iterable[tuple[int, OrgId]],
    ) -> AttributionIndex:
        """Return an index of (value, organisation id) pairs; raise ValueError on a bad value."""
        return cls(
            _group(networks, "network", lambda text: str(parse_network(text))),
            _group(domains, "domain", normalise_domain),
            _group(asns, "AS number", parse_asn),
        )

    def __len__(self) -> int:
        """Return the number of distinct networks, domains and ASNs held."""
        c = self._counts
        return c.networks + c.domains + c.asns

    @property
    def counts(self) -> IndexCounts:
        """Return the counts per kind, for stats pages and logs."""
        return self._counts

    def owner_of_ip(self, ip: str) -> OrgId | None:
        """Return the owner of the most specific network containing the address, else None."""
        # The hottest call in the pipeline. A closure over the tries' `get` measured no faster
        # than this method. `try` costs nothing in CPython 3.11 until something raises:
        # pytricia raises ValueError on malformed text, `in` TypeError on a non-string.
        try:
            if ":" in ip:
                owner: OrgId | None = self._v6.get(ip)
                # Dual-stack sockets log IPv4 peers as ::ffff:192.0.2.1; "." rules most out.
                if owner is None and "." in ip and _is_mapped_v4(ip):
                    return self._v4.get(ip[len(_MAPPED_V4) :])  # type: ignore[no-any-return]
                return owner
            return self._v4.get(ip)  # type: ignore[no-any-return]
        except (ValueError, TypeError):
            return None

    def owner_of_domain(self, name: str) -> OrgId | None:
        """Return the owner of the name or of its nearest registered parent, else None."""
        get = self._domain_owner.get
        # Resolvers randomise case (DNS 0x20) and logs keep the root dot: fold both cheaply.
        name = name.lower().rstrip(".")
        if not name.isascii():
            name = _idna_or_empty(name)
        while True:
            owner = get(name)
            if owner is not None:
                return owner
            dot = name.find(".")
            if dot < 0:
                return None
            name = name[dot + 1 :]

    def owner_of_asn(self, asn: int) -> OrgId | None:
        """Return the owner of the AS number, else None."""
        owners = self._asn_owners.get(asn)
        return None if owners is None else owners[0]

    def match_ip(self, ip: str) -> Match | None:
        """Return the most specific network containing the address or CIDR, else None."""
        try:
            # The same order as owner_of_ip: an IPv4-mapped address falls back to IPv4.
            if ":" not in ip:
                trie = self._v4
            elif self._v6.get_key(ip) is None and _is_mapped_v4(ip):
                trie, ip = self._v4, ip[len(_MAPPED_V4) :]
            else:
                trie = self._v6
            key = trie.get_key(ip)
        except (ValueError, TypeError):
            return None
        if key is None:
            return None
        # pytricia prints some IPv6 keys its own way (::a.b.c.d); the registry's form is canonical.
        canonical = str(ipaddress.ip_network(key))
        owners = self._network_conflicts.get(canonical, (trie[key],))
        return Match(kind="network", matched=canonical, owners=owners)

    def match_domain(self, name: str) -> Match | None:
        """Return the registered domain that is, or is a parent of, the name, else None."""
        name = name.lower().rstrip(".")
        if not name.isascii():
            name = _idna_or_empty(name)
        labels = name.split(".")
        for i in range(len(labels)):
            owners = self._domain_owners.get(".".join(labels[i:]))
            if owners is not None:
                return Match(kind="domain", matched=".".join(labels[i:]), owners=owners)
        return None

    def match_asn(self, asn: int) -> Match | None:
        """Return the registration of the AS number, else None."""
        owners = self._asn_owners.get(asn)
        return None if owners is None else Match(kind="asn", matched=f"AS{asn}", owners=owners)

    def whois(self, value: str) -> Match | None:
        """Return what an address, CIDR, domain, ASN, URL or e-mail matches; raise ValueError
        if the value is none of these."""
        text = value.strip()
        if "://" in text:
            try:
                host = urlsplit(text).hostname
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a valid URL ({exc})") from exc
            if not host:
                raise ValueError(f"{value!r} is a URL without a host")
            text = host
        elif "@" in text:
            text = text.rpartition("@")[2]
        if _ASN_TEXT.match(text):
            return self.match_asn(parse_asn(text))
        if "/" in text:
            if text.rpartition("/")[2].isdigit():
                return self.match_ip(str(parse_network(text)))
            text = text.partition("/")[0]  # a URL written without its scheme
        try:
            address = ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            pass
        else:
            if address.version == 6 and address.ipv4_mapped:
                return self.match_ip(f"{_MAPPED_V4}{address.ipv4_mapped}")
            # A zone id (fe80::1%eth0) names the interface, not the address.
            return self.match_ip(str(address).partition("%")[0])
        try:
            domain = normalise_domain(text)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not an IP address, network, domain, AS number, URL or e-mail "
                f"address (as a domain: {exc}); write e.g. 192.0.2.1, 2001:db8::/32, "
                "example.no, AS64500 or https://www.example.no/"
            ) from exc
        return self.match_domain(domain)


def _is_mapped_v4(ip: str) -> bool:
    """Return whether the address is written as IPv4-mapped IPv6 (::ffff:192.0.2.1)."""
    return "." in ip and ip[: len(_MAPPED_V4)].lower() == _MAPPED_V4


def _idna_or_empty(name: str) -> str:
    """Return the IDNA form of a Unicode name, or '' (which matches nothing) if it has none."""
    try:
        return normalise_domain(name)
    except ValueError:
        return ""


def _group(
    pairs: Iterable[tuple[Any, OrgId]], what: str, canonical: Callable[[Any], K]
) -> dict[K, tuple[OrgId, ...]]:
    """Return canonical value -> sorted owners; raise ValueError naming the bad value's org."""
    grouped: dict[K, set[OrgId]] = {}
    for value, org in pairs:
        try:
            key = canonical(value)
        except ValueError as exc:
            raise ValueError(f"{what} of organisation {org}: {exc}") from exc
        grouped.setdefault(key, set()).add(org)
    return {key: tuple(sorted(orgs)) for key, orgs in grouped.items()}


class _Span(NamedTuple):
    version: int
    first: int
    prefixlen: int
    owner: OrgId
    last: int
    text: str


def find_overlaps(networks: Iterable[tuple[str, OrgId]]) -> list[Overlap]:
    """Return every pair of networks of different organisations where one equals or contains
    the other; raise ValueError on a malformed network."""
    spans: set[_Span] = set()
    for text, org in networks:
        try:
            net = parse_network(text)
        except ValueError as exc:
            raise ValueError(f"network of organisation {org}: {exc}") from exc
        first = int(net.network_address)
        last = first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)
        spans.add(_Span(net.version, first, net.prefixlen, org, last, str(net)))
    # Sorted by start then length, a network comes right after every network containing it;
    # the stack holds that chain of containers, so each network meets only its ancestors.
    found: list[Overlap] = []
    stack: list[_Span] = []
    for span in sorted(spans):
        while stack and (stack[-1].version != span.version or stack[-1].last < span.first):
            stack.pop()
        found.extend(
            Overlap(
                kind="network",
                outer=outer.text,
                outer_owner=outer.owner,
                inner=span.text,
                inner_owner=span.owner,
                identical=outer.prefixlen == span.prefixlen,
            )
            for outer in stack
            if outer.owner != span.owner
        )
        stack.append(span)
    return found


def find_domain_overlaps(domains: Iterable[tuple[str, OrgId]]) -> list[Overlap]:
    """Return every pair of domains of different organisations where one equals or is under
    the other; raise ValueError on a malformed domain."""
    grouped = _group(domains, "domain", normalise_domain)
    found: list[Overlap] = []
    for domain in sorted(grouped):
        owners = grouped[domain]
        found.extend(_identical("domain", domain, owners))
        for parent in domain_and_parents(domain)[1:]:
            found.extend(
                Overlap(
                    kind="domain",
                    outer=parent,
                    outer_owner=outer,
                    inner=domain,
                    inner_owner=inner,
                    identical=False,
                )
                for outer in grouped.get(parent, ())
                for inner in owners
                if outer != inner
            )
    return found


def find_asn_overlaps(asns: Iterable[tuple[int, OrgId]]) -> list[Overlap]:
    """Return every pair of organisations registering the same AS number; raise ValueError on
    a malformed one."""
    grouped = _group(asns, "AS number", parse_asn)
    return [o for asn in sorted(grouped) for o in _identical("asn", f"AS{asn}", grouped[asn])]


def _identical(kind: MatchKind, value: str, owners: tuple[OrgId, ...]) -> list[Overlap]:
    """Return one overlap per pair of the owners of one value, lower id as the outer."""
    return [
        Overlap(kind=kind, outer=value, outer_owner=a, inner=value, inner_owner=b, identical=True)
        for a, b in combinations(owners, 2)
    ]
