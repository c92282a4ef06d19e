"""CPE names: 2.3 formatted strings and 2.2 URIs, escaping, ANY and NA, attribute matching."""

from __future__ import annotations

import pytest

from vardeild.exposure.cpe import ANY, NA, Cpe, CpeError, name_key, parse_cpe, value_matches


def test_a_formatted_string_gives_its_eleven_attributes() -> None:
    cpe = parse_cpe("cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*")
    assert cpe == Cpe("a", "openbsd", "openssh", "9.3", "p1")
    assert cpe.language == ANY


def test_escaped_colons_and_dots_are_unquoted() -> None:
    cpe = parse_cpe(r"cpe:2.3:a:foo\:bar:big\$money_manager:1.0\:2:*:*:*:*:*:*:*")
    assert cpe.vendor == "foo:bar"
    assert cpe.product == "big$money_manager"
    assert cpe.version == "1.0:2"
    assert parse_cpe(cpe.formatted()) == cpe


def test_na_and_any_are_kept_apart() -> None:
    cpe = parse_cpe("cpe:2.3:o:paloaltonetworks:pan-os:11.1.0:-:*:*:*:*:*:*")
    assert cpe.update == NA
    assert cpe.edition == ANY


def test_a_uri_is_parsed_with_percent_decoding_and_missing_components_any() -> None:
    cpe = parse_cpe("cpe:/a:openbsd:openssh:8.2p1")
    assert (cpe.part, cpe.vendor, cpe.product, cpe.version, cpe.update) == (
        "a",
        "openbsd",
        "openssh",
        "8.2p1",
        ANY,
    )
    assert parse_cpe("cpe:/a:igor_sysoev:nginx").version == ANY
    assert parse_cpe("cpe:/a:foo%3abar:baz:1.0").vendor == "foo:bar"
    assert parse_cpe("cpe:/o:linux:linux_kernel:-").version == NA


def test_a_uri_with_a_packed_edition_unpacks_it() -> None:
    cpe = parse_cpe("cpe:/a:vendor:product:1.0:update1:~pro~~android~x64~")
    assert (cpe.edition, cpe.target_sw, cpe.target_hw) == ("pro", "android", "x64")
    assert cpe.sw_edition == ANY


@pytest.mark.parametrize(
    "text",
    [
        "openssh 9.3",
        "cpe:2.3:a:openbsd:openssh:9.3",
        "cpe:2.3:x:openbsd:openssh:9.3:*:*:*:*:*:*:*",
        "cpe:2.3:a:openbsd:openssh:9.3:*:*:*:*:*:*:\\",
        "cpe:2.3:a::openssh:9.3:*:*:*:*:*:*:*",
        "cpe:/a:v:p:1:2:3:4:5",
        "cpe:/a:v:p:1:u:~a~b~c",
    ],
)
def test_malformed_names_are_refused_with_the_name(text: str) -> None:
    with pytest.raises(CpeError):
        parse_cpe(text)


def test_values_match_by_any_na_pattern_and_equality() -> None:
    assert value_matches(ANY, "9.3")
    assert value_matches(ANY, NA)
    assert value_matches(NA, NA)
    assert not value_matches(NA, "9.3")
    assert not value_matches("9.3", NA)
    assert not value_matches("9.3", ANY)
    assert value_matches("9.3", "9.3")
    assert not value_matches("9.3", "9.31")
    pattern = parse_cpe("cpe:2.3:a:v:p:9.3*:*:*:*:*:*:*:*").version
    assert value_matches(pattern, "9.3p1")
    assert not value_matches(pattern, "9.4")
    one = parse_cpe("cpe:2.3:a:v:p:1.?:*:*:*:*:*:*:*").version
    assert value_matches(one, "1.5")
    assert not value_matches(one, "1.10")


def test_names_are_keyed_like_cpe_vendors() -> None:
    assert name_key("  Palo Alto  Networks ") == "palo_alto_networks"
