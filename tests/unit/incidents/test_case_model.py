"""References, what members may see, classifications and candidate observables."""

from __future__ import annotations

import pytest

from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.incidents.model import (
    ObservableKind,
    Pap,
    Visibility,
    check_classification,
    member_may_see,
    normalise_observable,
    parse_reference,
    reference,
)


def test_references_round_trip_and_are_found_in_subjects() -> None:
    assert reference(42) == "VARDEILD#42"
    assert parse_reference("Re: [VARDEILD#42] Phishing") == 42
    assert parse_reference("SV: [vardeild # 7] x") == 7
    assert parse_reference("no reference") is None
    assert parse_reference("[VARDEILD#0]") is None
    assert parse_reference("[VARDEILD#99999999999]") is None


@pytest.mark.parametrize(
    ("visibility", "tlp", "seen"),
    [
        (Visibility.SHARED, Tlp.CLEAR, True),
        (Visibility.SHARED, Tlp.AMBER, True),
        (Visibility.SHARED, Tlp.AMBER_STRICT, True),
        (Visibility.SHARED, Tlp.RED, False),
        (Visibility.INTERNAL, Tlp.CLEAR, False),
        (Visibility.INTERNAL, Tlp.AMBER, False),
    ],
)
def test_members_see_shared_entries_below_red_only(
    visibility: Visibility, tlp: Tlp, seen: bool
) -> None:
    assert member_may_see(visibility, tlp) is seen


def test_classification_must_be_rsit() -> None:
    assert check_classification("case", "phishing") == "fraud"
    with pytest.raises(ValidationFailed, match="Reference Security Incident Taxonomy"):
        check_classification("case", "aliens")


def test_pap_parses_labels() -> None:
    assert Pap.parse("pap:amber") is Pap.AMBER
    with pytest.raises(ValueError, match="not a PAP label"):
        Pap.parse("blue")


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        (ObservableKind.IP, " 192.0.2.1 ", "192.0.2.1"),
        (ObservableKind.IP, "2001:DB8::1", "2001:db8::1"),
        (ObservableKind.DOMAIN, "Evil.Example.COM.", "evil.example.com"),
        (ObservableKind.URL, "https://evil.example/x?y=1", "https://evil.example/x?y=1"),
        (ObservableKind.SHA256, "A" * 64, "a" * 64),
        (ObservableKind.CVE, "cve-2024-3400", "CVE-2024-3400"),
    ],
)
def test_observables_are_normalised(kind: ObservableKind, given: str, stored: str) -> None:
    assert normalise_observable(kind, given) == stored


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (ObservableKind.IP, "999.1.1.1"),
        (ObservableKind.DOMAIN, "not a domain"),
        (ObservableKind.URL, "javascript:alert(1)"),
        (ObservableKind.MD5, "xyz"),
        (ObservableKind.CVE, "CVE-24-1"),
        (ObservableKind.URL, "https://x.example/" + "a" * 1000),
    ],
)
def test_bad_observables_are_refused(kind: ObservableKind, given: str) -> None:
    with pytest.raises(ValueError, match=r"is not|characters"):
        normalise_observable(kind, given)
