"""Rendering: every kind complete in Norwegian bokmål and English, the TLP label in subject and
body, the reference, the four sections, attachments with IntelMQ field names; the portal note
carries nothing of the notice."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from vardeild.core.tlp import Tlp
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify.model import NoticeKind
from vardeild.notify.rendering import Links, NoticeView, render_notice

ZONE = ZoneInfo("Europe/Oslo")
LINKS = Links(
    ack_url="https://v.example/api/v1/notices/ack/TOKEN123",
    portal_url="https://v.example/portal/notices/7",
    reply_to="cert@v.example",
    key_url="https://v.example/pgp-key.asc",
    cert_name="Test-CERT",
)
SECTIONS = {
    Language.NB: (
        "HVA SKJEDDE",
        "HVILKE AV DERES SYSTEMER",
        "HVA DERE BØR GJØRE",
        "SLIK SVARER DU",
    ),
    Language.EN: ("WHAT HAPPENED", "WHICH OF YOUR SYSTEMS", "WHAT TO DO", "HOW TO REPLY"),
}
EVENT = {
    "time_source": "2026-11-28T10:00:00+00:00",
    "classification_taxonomy": "malicious-code",
    "event_description_text": '=HYPERLINK("http://evil")',
    "source_ip": "10.1.0.5",
    "destination_ip": "203.0.113.66",
    "destination_port": 443,
}


def alert(notice_id: int = 7) -> NoticeView:
    return NoticeView(
        id=notice_id,
        kind=NoticeKind.ALERT,
        title="ET MALWARE Beacon\r\nBcc: x@example.org",
        severity=Severity.HIGH,
        tlp=Tlp.AMBER_STRICT,
        content={
            "details": {
                "count": 3,
                "signature": "ET MALWARE Beacon",
                "identifier": "sid:1:1",
                "taxonomy": "malicious-code",
                "type": "infected-system",
                "first_seen": "2026-11-28T10:00:00+00:00",
                "last_seen": "2026-11-28T10:05:00+00:00",
                "external_party": "203.0.113.66",
                "feed_name": "suricata",
                "indicator_match": True,
            },
            "systems": ["10.1.0.5"],
            "events": [EVENT],
        },
        created_at=datetime(2026, 11, 28, 10, 10, tzinfo=UTC),
    )


def message() -> NoticeView:
    return NoticeView(
        id=8,
        kind=NoticeKind.MESSAGE,
        title="Vedlikehold",
        severity=Severity.LOW,
        tlp=Tlp.GREEN,
        content={"details": {"text": "Nede i kveld."}, "systems": []},
        created_at=datetime(2026, 11, 28, 10, 10, tzinfo=UTC),
    )


def digest() -> NoticeView:
    return NoticeView(
        id=9,
        kind=NoticeKind.DIGEST,
        title="2 notices",
        severity=Severity.HIGH,
        tlp=Tlp.AMBER_STRICT,
        content={
            "details": {"since": "2026-11-28T09:00:00+00:00", "reason": "daily digest"},
            "systems": ["10.1.0.5"],
        },
        created_at=datetime(2026, 11, 28, 10, 10, tzinfo=UTC),
        items=(alert(5), message()),
    )


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("view", [alert(), message(), digest()], ids=["alert", "message", "digest"])
def test_every_kind_is_complete_in_both_languages(view: NoticeView, language: Language) -> None:
    rendered = render_notice(view, LINKS, language=language, recipient_name="Ola", zone=ZONE)
    label = f"TLP:{view.tlp.value}"
    assert rendered.subject.startswith(f"[VARDEILD-N#{view.id}] {label}")
    assert "\n" not in rendered.subject
    assert rendered.body.startswith(label)
    for section in SECTIONS[language]:
        assert section in rendered.body
    assert LINKS.ack_url in rendered.body
    assert LINKS.reply_to in rendered.body
    assert "Ola" in rendered.body
    other = SECTIONS[Language.EN if language is Language.NB else Language.NB][0]
    assert other not in rendered.body


def test_a_digest_lists_each_notice_by_its_reference() -> None:
    rendered = render_notice(digest(), LINKS, language=Language.EN, recipient_name="Ola", zone=ZONE)
    assert "[VARDEILD-N#5]" in rendered.body
    assert "[VARDEILD-N#8]" in rendered.body
    assert "daily digest" in rendered.body


def test_attachments_hold_the_events_with_intelmq_names_and_no_formulas() -> None:
    rendered = render_notice(alert(), LINKS, language=Language.NB, recipient_name="Ola", zone=ZONE)
    files = {a.filename: a for a in rendered.attachments}
    rows = list(csv.DictReader(io.StringIO(files["vardeild-7-events.csv"].data.decode())))
    assert rows[0]["source_ip"] == "10.1.0.5"
    assert rows[0]["destination_port"] == "443"
    assert rows[0]["event_description_text"].startswith("'=")  # not a formula in a spreadsheet
    events = json.loads(files["vardeild-7-events.json"].data)
    assert events[0]["destination_ip"] == "203.0.113.66"
    bare = render_notice(
        alert(), LINKS, language=Language.NB, recipient_name="Ola", zone=ZONE, attachments=False
    )
    assert bare.attachments == ()


def test_the_title_cannot_add_headers_to_the_subject() -> None:
    rendered = render_notice(alert(), LINKS, language=Language.EN, recipient_name="Ola", zone=ZONE)
    assert "\r" not in rendered.subject
    assert "\n" not in rendered.subject


@pytest.mark.parametrize("language", list(Language))
def test_the_portal_note_carries_nothing_of_the_notice(language: Language) -> None:
    rendered = render_notice(
        alert(), LINKS, language=language, recipient_name="Ola", zone=ZONE, portal_note=True
    )
    text = rendered.subject + rendered.body
    for secret in ("Beacon", "10.1.0.5", "203.0.113.66", "malicious", "TOKEN123"):
        assert secret not in text
    assert LINKS.portal_url in rendered.body
    assert "[VARDEILD-N#7]" in rendered.subject
    assert rendered.attachments == ()
