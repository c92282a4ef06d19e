"""Sealing public incident reports, their bounds, references and workflow (intake.model)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from vardeild.accounts.model import totp_key
from vardeild.core.errors import Conflict, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intake.model import (
    CONTENT_MAX_BYTES,
    FIELD_MAX,
    ReportContent,
    ReportStatus,
    ReportTooLarge,
    ReportUnreadable,
    address_digest,
    build_content,
    check_transition,
    intake_key,
    new_reference,
    normalise_reference,
    open_report,
    seal_report,
)

PORTAL_KEY = b"0123456789abcdef" * 4
KEY = intake_key(PORTAL_KEY)
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
FIELDS = {
    "name": "Ola Nordmann",
    "email": "ola@EKSEMPEL.no",
    "phone": "+47 400 00 000",
    "organisation": "Fjordbyen kommune",
    "what_happened": "Phishing med\r\nlenke til falsk innlogging\x00",
    "happened_at": "i går",
    "affected": "198.51.100.9",
}


def content() -> ReportContent:
    return build_content(FIELDS, tlp="tlp:green")


def test_build_content_cleans_and_normalises() -> None:
    made = content()
    assert made.email == "ola@eksempel.no"
    assert made.what_happened == "Phishing med\nlenke til falsk innlogging"
    assert made.tlp is Tlp.GREEN


def test_seal_and_open_round_trip_and_hide_every_field() -> None:
    made = content()
    sealed = seal_report(made, KEY, reference="VR-2026-ABCDEFGH")
    for value in FIELDS.values():
        assert value[:8].encode() not in sealed
    assert open_report(sealed, KEY, reference="VR-2026-ABCDEFGH") == made
    # A fresh nonce each time: the same report never seals to the same bytes.
    assert seal_report(made, KEY, reference="VR-2026-ABCDEFGH") != sealed


def test_a_sealed_report_opens_only_under_its_key_and_reference() -> None:
    sealed = seal_report(content(), KEY, reference="VR-2026-ABCDEFGH")
    with pytest.raises(ReportUnreadable):
        open_report(sealed, KEY, reference="VR-2026-ABCDEFGJ")  # copied onto another row
    with pytest.raises(ReportUnreadable):
        open_report(sealed, intake_key(b"another portal key"), reference="VR-2026-ABCDEFGH")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ReportUnreadable):
        open_report(tampered, KEY, reference="VR-2026-ABCDEFGH")


def test_the_intake_key_is_its_own_derivation() -> None:
    assert len(KEY) == 32
    assert KEY not in (PORTAL_KEY, totp_key(PORTAL_KEY))
    assert intake_key(PORTAL_KEY) == KEY  # stable: reports stay readable across restarts


def test_required_fields_and_bad_values_are_all_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        build_content({"email": "not an address"}, tlp="PURPLE")
    fields = sorted(problem.field for problem in caught.value.problems)
    assert fields == ["email", "name", "tlp", "what_happened"]


@pytest.mark.parametrize("field", sorted(FIELD_MAX))
def test_each_field_has_its_bound(field: str) -> None:
    def filled(length: int) -> str:
        if field == "email":  # still an address, of that length
            return "a" * (length - len("@eksempel.no")) + "@eksempel.no"
        return "a" * length

    with pytest.raises(ReportTooLarge) as caught:
        build_content({**FIELDS, field: filled(FIELD_MAX[field] + 1)}, tlp="AMBER")
    assert [problem.field for problem in caught.value.problems] == [field]
    build_content({**FIELDS, field: filled(FIELD_MAX[field])}, tlp="AMBER")  # at the bound


def test_the_whole_has_its_bound() -> None:
    # Four-byte characters: every field within its count, the whole beyond CONTENT_MAX_BYTES.
    wide = "\U0001f512" * FIELD_MAX["what_happened"]
    assert len(wide.encode()) > CONTENT_MAX_BYTES
    with pytest.raises(ReportTooLarge) as caught:
        build_content({**FIELDS, "what_happened": wide}, tlp="AMBER")
    assert "bytes in all" in str(caught.value)


def test_references_are_random_and_readable() -> None:
    made = {new_reference(NOW) for _ in range(200)}
    assert len(made) == 200
    for reference in made:
        assert re.fullmatch(r"VR-2026-[0-9A-HJKMNP-TV-Z]{8}", reference)
    assert normalise_reference(" vr-2026-o1lzabcd ") == "VR-2026-011ZABCD"


def test_the_address_is_kept_as_a_keyed_hash() -> None:
    digest = address_digest(KEY, "192.0.2.10")
    assert digest == address_digest(KEY, "192.0.2.10")
    assert digest != address_digest(KEY, "192.0.2.11")
    assert digest != address_digest(intake_key(b"other"), "192.0.2.10")
    assert "192.0.2.10" not in digest


def test_the_workflow() -> None:
    check_transition(ReportStatus.NEW, ReportStatus.TRIAGED)
    check_transition(ReportStatus.NEW, ReportStatus.REJECTED)
    check_transition(ReportStatus.TRIAGED, ReportStatus.REJECTED)
    check_transition(ReportStatus.REJECTED, ReportStatus.NEW)
    with pytest.raises(Conflict):
        check_transition(ReportStatus.TRIAGED, ReportStatus.NEW)
