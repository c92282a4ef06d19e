"""Identifier parsing: each rule and the message a person gets when input breaks it."""

from __future__ import annotations

import pytest

from vardeild.core.identifiers import (
    domain_and_parents,
    normalise_domain,
    normalise_email,
    org_number_with_check_digit,
    parse_asn,
    parse_network,
    validate_org_number,
)


@pytest.mark.parametrize("number", ["974760673", "974 760 673", "923609016"])
def test_real_org_numbers_pass_the_mod11_check(number: str) -> None:
    assert validate_org_number(number) == number.replace(" ", "")


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        ("974760674", "mod-11"),
        ("97476067", "9 digits"),
        ("97476067x", "9 digits"),
        ("٩٧٤٧٦٠٦٧٣", "9 digits"),
    ],
)
def test_bad_org_numbers_are_refused(number: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        validate_org_number(number)


def test_check_digit_ten_has_no_valid_number() -> None:
    # Every 8-digit stem either yields a valid number that validates, or none at all.
    for stem in range(10_000_000, 10_003_000):
        made = org_number_with_check_digit(str(stem))
        if made is None:
            for last in "0123456789":
                with pytest.raises(ValueError, match="mod-11"):
                    validate_org_number(f"{stem}{last}")
        else:
            assert validate_org_number(made) == made


def test_networks_canonical_and_host_bits_explained() -> None:
    assert parse_network("2001:DB8:0::/32").with_prefixlen == "2001:db8::/32"
    assert parse_network("192.0.2.7").with_prefixlen == "192.0.2.7/32"
    with pytest.raises(ValueError, match=r"host bits set; the network is 192\.0\.2\.0/24"):
        parse_network("192.0.2.7/24")
    with pytest.raises(ValueError, match=r"192\.0\.2\.7/32"):
        parse_network("192.0.2.7/24")
    with pytest.raises(ValueError, match="not an IPv4 or IPv6 network"):
        parse_network("192.0.2.0/33")
    with pytest.raises(ValueError, match="is empty"):
        parse_network("  ")


def test_asns() -> None:
    assert parse_asn("as64500") == 64500
    assert parse_asn(4_200_000_000) == 4_200_000_000
    for bad in ("AS", "0", "4294967296", True, 1.5, "６４５００"):
        with pytest.raises(ValueError, match="AS number"):
            parse_asn(bad)


def test_domains() -> None:
    assert normalise_domain("Sykehus.Example.NO.") == "sykehus.example.no"
    encoded = normalise_domain("Helse-Førde.no")
    assert encoded.startswith("xn--helse-frde-")
    assert encoded.encode("ascii").decode("idna") == "helse-førde.no"
    for bad, fragment in [
        ("*.example.no", "wildcard"),
        ("localhost", "not a valid"),
        ("a..no", "not a valid"),
        ("-a.no", "not a valid"),
        ("192.0.2.1", "looks like an address"),
        ("", "is empty"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            normalise_domain(bad)
    assert domain_and_parents("a.b.example.no") == ["a.b.example.no", "b.example.no", "example.no"]


def test_emails_refuse_header_injection() -> None:
    assert normalise_email("Kari.Nordmann@Sykehus.EXAMPLE.no") == "Kari.Nordmann@sykehus.example.no"
    for bad in (
        "a@b.no\r\nBcc: x@y.no",
        "a@b.no, c@d.no",
        "<a@b.no>",
        "a@b",
        "a b@c.no",
        "a@b.no\0",
    ):
        with pytest.raises(ValueError, match="not a single e-mail address"):
            normalise_email(bad)
