"""Indicator values: the canonical form of each type, what type a bare value is, and the cells
a CSV row may carry."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

import pytest

from vardeild.core.identifiers import normalise_domain
from vardeild.intel.model import (
    MAX_TAGS,
    MAX_VALUE_LENGTH,
    TYPE_REFERENCE,
    IndicatorType,
    clean_source,
    infer_indicator,
    normalise_indicator,
    parse_confidence,
    parse_indicator_type,
    parse_tags,
    parse_valid_until,
)

T = IndicatorType
MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
JA4 = "t13d1516h2_8daaf6152771_b186095e22b6"

CANONICAL = [
    (T.IPV4, " 192.0.2.1 ", "192.0.2.1"),
    (T.IPV6, "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    (T.IPV6, "2001:db8::1", "2001:db8::1"),
    (T.CIDR, "192.0.2.0/24", "192.0.2.0/24"),
    (T.CIDR, "192.0.2.7", "192.0.2.7/32"),
    (T.CIDR, "2001:DB8::/32", "2001:db8::/32"),
    (T.DOMAIN, "Example.NO.", "example.no"),
    (T.DOMAIN, "bücher.no", "xn--bcher-kva.no"),
    (T.DOMAIN, "_dmarc-x.evil.no", None),  # underscores are no host names: refused below
    (T.URL, "HTTP://Evil.Example.NO:80/Path?Q=1#frag", "http://evil.example.no/Path?Q=1"),
    (T.URL, "https://evil.no:443", "https://evil.no/"),
    (T.URL, "https://evil.no:8443/a", "https://evil.no:8443/a"),
    (T.URL, "http://user:pw@EVIL.no/x", "http://user:pw@evil.no/x"),
    (T.URL, "http://[2001:DB8:0::1]:80/x", "http://[2001:db8::1]/x"),
    (T.URL, "http://bücher.no/ø", "http://xn--bcher-kva.no/ø"),
    (T.URL, "ftp://files.evil.no:21/a.exe", "ftp://files.evil.no/a.exe"),
    (T.URL, "hxxp://evil.no/a", "hxxp://evil.no/a"),  # an unknown scheme keeps its path as is
    (T.EMAIL, "Phish@Evil.NO", "Phish@evil.no"),
    (T.MD5, MD5.upper(), MD5),
    (T.SHA1, SHA1.upper(), SHA1),
    (T.SHA256, SHA256, SHA256),
    (T.JA3, MD5.upper(), MD5),
    (T.JA3S, MD5, MD5),
    (T.JA4, JA4.upper(), JA4),
    (T.TLS_SNI, "C2.Evil.NO.", "c2.evil.no"),
    (T.HTTP_HOST, "C2.Evil.NO", "c2.evil.no"),
    (T.HTTP_HOST, "192.0.2.1", "192.0.2.1"),
    (T.HTTP_HOST, "[2001:DB8::1]", "[2001:db8::1]"),
    (T.ASN, "as64500", "AS64500"),
    (T.ASN, "64500", "AS64500"),
]


@pytest.mark.parametrize(("kind", "text", "canonical"), [c for c in CANONICAL if c[2] is not None])
def test_each_type_has_one_canonical_form(kind: IndicatorType, text: str, canonical: str) -> None:
    assert normalise_indicator(kind, text) == canonical
    # Canonical values are fixed points: storing and reloading never changes them.
    assert normalise_indicator(kind, canonical) == canonical


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (T.IPV4, "192.0.2.256", "is not an IPv4 address"),
        (T.IPV4, "2001:db8::1", "is an IPv6 address, not IPv4"),
        (T.IPV4, "192.0.2.01", "is not an IPv4 address"),
        (T.IPV4, "192.0.2.0/24", "(it looks like type cidr)"),
        (T.IPV6, "::ffff:192.0.2.1", "write it as 192.0.2.1 (ipv4)"),
        (T.IPV6, "fe80::1%eth0", "zone"),
        (T.CIDR, "10.0.0.1/8", "has host bits set; the network is 10.0.0.0/8"),
        (T.CIDR, "10.0.0.0/33", "is not an IPv4 or IPv6 network"),
        (T.DOMAIN, "*.evil.no", "wildcard"),
        (T.DOMAIN, "no", "not a valid domain name"),
        (T.DOMAIN, "evil..no", "not a valid domain name"),
        (T.DOMAIN, "_dmarc-x.evil.no", "not a valid domain name"),
        (T.DOMAIN, "ev il.no", "spaces or control characters"),
        (T.DOMAIN, "1.2.3.4", "looks like an address"),
        (T.URL, "evil.no/path", "has no scheme"),
        (T.URL, "http:///path", "has no host"),
        (T.URL, "http://evil.no:99999/", "not a valid URL"),
        (T.URL, "http://ev il.no/", "spaces or control characters"),
        (T.URL, "http://evil.no/\x00", "spaces or control characters"),
        (T.URL, "http://evil!.no/", "invalid host"),
        (T.EMAIL, "not-an-address", "is not a single e-mail address"),
        (T.MD5, SHA1, "has 40 hex digits; type md5 has 32"),
        (T.SHA256, "z" * 64, "is not hexadecimal"),
        (T.JA3, SHA1, "has 40 hex digits; type ja3 has 32"),
        (T.JA4, "t13d1516h2_8daaf6152771", "is not a JA4 fingerprint"),
        (T.TLS_SNI, "192.0.2.1", "looks like an address"),
        (T.HTTP_HOST, "evil.no:8080", "holds a port"),
        (T.ASN, "AS0", "outside"),
        (T.ASN, "ASX", "is not an AS number"),
        (T.DOMAIN, "", "is empty"),
        (T.DOMAIN, "a" * (MAX_VALUE_LENGTH + 1), f"at most {MAX_VALUE_LENGTH}"),
        (T.URL, "http://evil.no/" + "ø" * 1100, f"at most {MAX_VALUE_LENGTH}"),  # bytes, not chars
    ],
)
def test_invalid_values_are_refused_saying_why(
    kind: IndicatorType, text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        normalise_indicator(kind, text)


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("192.0.2.1", T.IPV4, "192.0.2.1"),
        ("2001:DB8::1", T.IPV6, "2001:db8::1"),
        ("10.0.0.0/8", T.CIDR, "10.0.0.0/8"),
        ("2001:db8::/32", T.CIDR, "2001:db8::/32"),
        ("Evil.Example.NO", T.DOMAIN, "evil.example.no"),
        ("https://EVIL.no/x", T.URL, "https://evil.no/x"),
        ("phish@evil.no", T.EMAIL, "phish@evil.no"),
        (SHA1.upper(), T.SHA1, SHA1),
        (SHA256, T.SHA256, SHA256),
        (JA4, T.JA4, JA4),
        ("AS64500", T.ASN, "AS64500"),
        ("cafe.no", T.DOMAIN, "cafe.no"),  # hex letters with a dot are a name
    ],
)
def test_a_value_without_a_type_is_inferred(text: str, kind: IndicatorType, canonical: str) -> None:
    assert infer_indicator(text) == (kind, canonical)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MD5, "an MD5 hash, a JA3 or a JA3S fingerprint; give the type (md5, ja3 or ja3s)"),
        ("0" * 32, "give the type (md5, ja3 or ja3s)"),
        ("deadbeef", "8 hex digits, no hash length"),
        ("64500", "write an AS number as AS64500"),
        ("10.0.0.1/8", "has host bits set"),
        ("evil.no/payload.exe", "looks like a URL without a scheme; write http://evil.no/payload"),
        ("1.2.3.256", "is not a valid IP address"),
        ("::ffff:1.2.3.4", "IPv4-mapped"),
        ("evil", "is not an IP address, network, domain"),
        ("evil.no:8080", "is not a valid IP address"),
        ("   ", "is empty"),
    ],
)
def test_ambiguous_or_unrecognised_values_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        infer_indicator(text)


def test_every_type_is_described_once() -> None:
    assert set(TYPE_REFERENCE) == set(IndicatorType)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("ipv4", T.IPV4), ("TLS-SNI", T.TLS_SNI), ("http_host", T.HTTP_HOST), (" ja4 ", T.JA4)],
)
def test_type_names(text: str, kind: IndicatorType) -> None:
    assert parse_indicator_type(text) is kind


def test_unknown_type_names_the_choices() -> None:
    with pytest.raises(ValueError, match="'ipv5' is not an indicator type; write one of ipv4"):
        parse_indicator_type("ipv5")


def test_confidence() -> None:
    assert parse_confidence(" 0 ") == 0
    assert parse_confidence("100") == 100
    for bad in ("101", "-1", "50.5", "high", "", "٥"):
        with pytest.raises(ValueError, match="whole number from 0 to 100"):
            parse_confidence(bad)


def test_valid_until_a_date_means_through_its_end() -> None:
    assert parse_valid_until("2026-12-31") == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_valid_until("2026-12-31T12:00:00+01:00") == datetime(2026, 12, 31, 11, tzinfo=UTC)
    assert parse_valid_until("2026-12-31T12:00") == datetime(2026, 12, 31, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="is not a date or time"):
        parse_valid_until("31.12.2026")


def test_tags() -> None:
    assert parse_tags("emotet; botnet,T1071.001 ;;emotet") == ("emotet", "botnet", "T1071.001")
    with pytest.raises(ValueError, match="longer than 64"):
        parse_tags("x" * 65)
    with pytest.raises(ValueError, match=f"at most {MAX_TAGS}"):
        parse_tags(";".join(f"t{i}" for i in range(MAX_TAGS + 1)))


def test_source_names() -> None:
    assert clean_source(" abuse.ch/feodo ") == "abuse.ch/feodo"
    for bad, message in (("", "is empty"), ("x" * 65, "longer than 64"), ("a\tb", "control")):
        with pytest.raises(ValueError, match=message):
            clean_source(bad)


def test_the_fast_path_for_ascii_names_agrees_with_cores_normaliser() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ019-._*ø "
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14))) for _ in range(3000)]
    names += ["a" * 63 + ".no", "a" * 64 + ".no", ".".join(["a" * 60] * 5), "x.123", "-a.no"]
    for name in names:
        try:
            expected: str | None = normalise_domain(name)
        except ValueError:
            expected = None
        try:
            got: str | None = normalise_indicator(T.DOMAIN, name)
        except ValueError:
            got = None
        assert got == expected, name
