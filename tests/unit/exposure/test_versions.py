"""Version ordering: every edge the vulnerability data uses, never by substring."""

from __future__ import annotations

import pytest

from vardeild.exposure.versions import (
    VersionError,
    compare_versions,
    leading_version,
    parse_version,
)

# Each pair: the left is strictly before the right.
ORDERED = [
    ("1.2.9", "1.2.10"),
    ("1.2", "1.10"),
    ("1.9.9", "1.10.0"),
    ("2.4.9", "2.4.49"),
    ("0.9", "1.0"),
    ("1.0-rc1", "1.0"),
    ("1.0rc1", "1.0rc2"),
    ("1.0-rc2", "1.0.0"),
    ("2.0beta", "2.0"),
    ("2.0alpha", "2.0beta"),
    ("2.0beta3", "2.0rc1"),
    ("1.0.0-alpha.1", "1.0.0-beta"),
    ("1.0a1", "1.0b1"),
    ("1.0b2", "1.0"),
    ("1.0.dev1", "1.0a1"),
    ("1.0-preview", "1.0-rc1"),
    ("1.0-SNAPSHOT", "1.0"),
    ("9.3", "9.3p1"),
    ("9.3p1", "9.3p2"),
    ("9.2p1", "9.3"),
    ("8.9p1", "9.0p1"),
    ("1.0.2", "1.0.2a"),
    ("1.0.2j", "1.0.2k"),
    ("1.0.2k", "1.0.2za"),
    ("1.0.2zz", "1.1.0"),
    ("1.0a", "1.0.1"),
    ("10.2.9", "10.2.9-h1"),
    ("10.2.9-h1", "10.2.9-h2"),
    ("10.2.9-h9", "10.2.10"),
    ("2.0", "1:1.0"),
    ("1:1.0", "1:1.1"),
    ("1.0~rc1", "1.0"),
    ("2.4.52", "2.4.53"),
    ("7.4.3", "7.4.33"),
    ("1.18.0", "1.20.1"),
    ("2023.1", "2024.0"),
]

EQUAL = [
    ("1.0", "1.0.0"),
    ("1", "1.0"),
    ("v1.2.3", "1.2.3"),
    ("1.0.0+build.5", "1.0.0"),
    ("1.0RC1", "1.0-rc1"),
    ("1.0.0rc1", "1.0rc1"),
    ("9.3P2", "9.3p2"),
    ("1.2_3", "1.2.3"),
    ("0:1.0", "1.0"),
]


@pytest.mark.parametrize(("lower", "higher"), ORDERED)
def test_the_left_version_is_before_the_right(lower: str, higher: str) -> None:
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(higher) > parse_version(lower)
    assert compare_versions(lower, higher) == -1
    assert compare_versions(higher, lower) == 1


@pytest.mark.parametrize(("left", "right"), EQUAL)
def test_spellings_of_one_version_are_equal(left: str, right: str) -> None:
    assert parse_version(left) == parse_version(right)
    assert hash(parse_version(left)) == hash(parse_version(right))
    assert compare_versions(left, right) == 0


def test_sorting_a_shuffled_list_gives_release_order() -> None:
    expected = ["1.0-alpha", "1.0-beta", "1.0-rc1", "1.0", "1.0p1", "1.0.1", "1.0.2k", "1.0.10"]
    shuffled = [expected[i] for i in (5, 2, 7, 0, 3, 6, 1, 4)]
    assert [v.text for v in sorted(map(parse_version, shuffled))] == expected


@pytest.mark.parametrize("text", ["", "  ", "*", "-", "...", "x" * 200])
def test_what_is_not_a_version_is_refused(text: str) -> None:
    with pytest.raises(VersionError):
        parse_version(text)


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        ("8.2p1 Ubuntu 4ubuntu0.5", "8.2p1"),
        ("2.4.41", "2.4.41"),
        ("v1.18.0", "v1.18.0"),
        ("httpd 2.4.7 (Ubuntu)", "2.4.7"),
        ("unknown", None),
        ("", None),
    ],
)
def test_the_leading_version_drops_distribution_words(observed: str, expected: str | None) -> None:
    assert leading_version(observed) == expected
