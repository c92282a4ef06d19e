"""E-mail into cases: a reply that names a case by `[VARDEILD#<id>]` and comes from someone
involved in it lands in that case's journal. A reply to a notice (`[VARDEILD-N#<id>]`) from a
contact of the member it went to opens one case, which links the notice and involves the
member, and later replies to the same notice land in that case. Anything else opens a new case.

The mail adapter (`vardeild.mail.inbound`) has already kept the raw message, decrypted it and
checked its signature; it hands over plain data (`MailReport`), so this module knows nothing
of MIME or OpenPGP. The From address of a message is easy to forge, so what a mail may do
is narrow: it can only add a shared journal entry to a case its sender's organisation is
involved in (exactly what that organisation's members may do in the portal), and the entry
says whether the message was signed by the contact's registered key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM, Principal, Role
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound
from vardeild.incidents.attachments import EvidenceStore, add_attachment
from vardeild.incidents.journal import add_journal_entry
from vardeild.incidents.links import add_link, add_observables
from vardeild.incidents.model import (
    TEXT_MAX,
    TITLE_MAX,
    EntrySource,
    InvolvedRole,
    LinkKind,
    Visibility,
    parse_reference,
    reference,
)
from vardeild.incidents.service import (
    cases_linking,
    create_case,
    find_case_by_reference,
    get_case_or_raise,
    involved_ids,
)
from vardeild.members import service as members
from vardeild.notify.model import parse_reference as parse_notice_reference
from vardeild.notify.model import reference as notice_reference
from vardeild.notify.records import get_notice_or_raise

INTAKE = Principal(actor="mail:intake", role=Role.CERT_ANALYST)
_REFERENCE = re.compile(r"\[?\s*VARDEILD\s*#\s*\d+\s*\]?", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What the mail adapter's observable kinds are called in a case.
_KINDS = {"ipv4": "ip", "ipv6": "ip"}


@dataclass(frozen=True)
class MailReport:
    """What an inbound message says, as the mail adapter read it."""

    message_pk: int
    sender: str
    subject: str
    text: str
    signature: str  # "good signature by <fpr>", "unknown key <fpr>", "not signed", ...
    signed_by_sender: bool  # a good signature by a key registered for the sender's address
    observables: list[dict[str, str]] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # "name (type, bytes, sha256)"
    problems: list[str] = field(default_factory=list)
    automatic: str = ""  # why it is an automatic message (auto-reply, bounce), or ""
    files: list[MailFile] = field(default_factory=list)  # attachments kept, to become evidence


@dataclass(frozen=True)
class MailFile:
    """An attachment the mail adapter kept (its name already made safe)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class MailOutcome:
    """Where a message went: threaded onto a case or a new case, and why it is flagged."""

    outcome: str  # threaded, new_case or none
    case_id: int | None
    flagged: bool = False
    problems: list[str] = field(default_factory=list)


def file_mail_report(
    session: Session,
    report: MailReport,
    *,
    clock: Clock,
    store: EvidenceStore | None = None,
) -> MailOutcome:
    """Thread report onto the case its subject names if the sender is involved in it, else
    open a new case (flagged when the subject named a case it may not reach). With a store,
    the attachments become the case's evidence, internal until an analyst shares them."""
    named = parse_reference(report.subject)
    problems: list[str] = []
    if named is not None:
        case_id = find_case_by_reference(session, f"VARDEILD#{named}")
        organisation_id = (
            _sender_organisation(session, case_id, named, report.sender) if case_id else None
        )
        if case_id is not None and organisation_id is not None and report.automatic:
            # An out-of-office reply or a bounce is for the CERT's eyes, not the members'.
            _note_automatic(session, report, case_id, clock=clock)
            return MailOutcome("threaded", case_id)
        if case_id is not None and organisation_id is not None:
            _thread(session, report, case_id, organisation_id, clock=clock)
            problems += _evidence(session, report, case_id, clock=clock, store=store)
            return MailOutcome("threaded", case_id, problems=problems)
        why = (
            f"{report.sender or 'the sender'} is not involved in it"
            if case_id is not None
            else "no such case exists"
        )
        problems.append(
            f"subject names {reference(named)}, but {why}: not threaded onto it (a forged or "
            "mistaken reference); opened as a new case instead"
        )
    elif (notice_id := parse_notice_reference(report.subject)) is not None:
        answered = _notice_reply(session, report, notice_id, problems, clock=clock, store=store)
        if answered is not None:
            return answered
    if report.automatic:
        # Bounces and auto-replies must not open cases: one mail loop would open thousands.
        problems.append(f"automatic message ({report.automatic}): not filed as a case")
        return MailOutcome("none", None, flagged=False, problems=problems)
    case = _new_case(session, report, problems, clock=clock)
    flagged = bool(problems)
    problems += _evidence(session, report, int(case["id"]), clock=clock, store=store)
    return MailOutcome("new_case", int(case["id"]), flagged=flagged, problems=problems)


def _evidence(
    session: Session,
    report: MailReport,
    case_id: int,
    *,
    clock: Clock,
    store: EvidenceStore | None,
) -> list[str]:
    """Add the report's files to the case as internal evidence; return what was not taken."""
    if store is None:
        return []
    problems = []
    for item in report.files:
        if not item.data:
            continue
        if len(item.data) > store.max_bytes:
            problems.append(
                f"attachment {item.filename!r} ({len(item.data):,} bytes) is larger than case "
                f"evidence takes ({store.max_bytes:,}); kept with the message only"
            )
            continue
        add_attachment(
            session, INTAKE, case_id, clock=clock, store=store, data=item.data,
            filename=item.filename, content_type=item.content_type,
            visibility=Visibility.INTERNAL,
        )  # fmt: skip
    return problems


def _notice_reply(
    session: Session,
    report: MailReport,
    notice_id: int,
    problems: list[str],
    *,
    clock: Clock,
    store: EvidenceStore | None,
) -> MailOutcome | None:
    """File a reply to a notice: onto the live case that links the notice and involves its
    member (opened from an earlier reply), else into a new one that does. None, with the
    reason in problems, when the notice does not exist or the sender is not a contact of the
    member it went to; also None for an automatic message with no such case yet. The caller
    then goes on as for a mail that names nothing."""
    named = notice_reference(notice_id)
    try:
        organisation_id = int(get_notice_or_raise(session, SYSTEM, notice_id)["organisation_id"])
    except NotFound:
        problems.append(f"subject names {named}, but no such notice exists; opened as a new case")
        return None
    if not _is_contact(session, organisation_id, report.sender):
        problems.append(
            f"subject names {named}, but {report.sender or 'the sender'} is not a contact of the "
            "member it went to: not filed with it (a forged or mistaken reference); opened as a "
            "new case instead"
        )
        return None
    linked = cases_linking(session, LinkKind.NOTICE, notice_id)
    live = (find_case_by_reference(session, reference(c)) for c in linked)
    case_id = next(
        (c for c in live if c is not None and organisation_id in involved_ids(session, c)), None
    )
    if case_id is not None and report.automatic:
        _note_automatic(session, report, case_id, clock=clock)
        return MailOutcome("threaded", case_id)
    if case_id is not None:
        _thread(session, report, case_id, organisation_id, clock=clock)
        problems += _evidence(session, report, case_id, clock=clock, store=store)
        return MailOutcome("threaded", case_id, problems=problems)
    if report.automatic:
        return None
    case_id = int(_new_case(session, report, problems, clock=clock, member=organisation_id)["id"])
    add_link(
        session, INTAKE, case_id, clock=clock, kind=LinkKind.NOTICE, target_id=notice_id,
        note=f"opened from a reply to {named}",
    )  # fmt: skip
    flagged = bool(problems)
    problems += _evidence(session, report, case_id, clock=clock, store=store)
    return MailOutcome("new_case", case_id, flagged=flagged, problems=problems)


def _is_contact(session: Session, organisation_id: int, sender: str) -> bool:
    """Return whether sender is one of the organisation's contact addresses."""
    if not sender:
        return False
    try:
        organisation = members.get_organisation_or_raise(session, SYSTEM, organisation_id)
    except NotFound:
        return False
    addresses = {str(c.get("email", "")).lower() for c in organisation.get("contacts", [])}
    return sender.lower() in addresses


def _sender_organisation(session: Session, case_id: int, named: int, sender: str) -> int | None:
    """Return the involved organisation the sender is a contact of (0 for the reporter of the
    case, or of the case named when it was merged into this one: a reporter may belong to no
    organisation), or None if the sender is not involved."""
    if not sender:
        return None
    for organisation_id in sorted(involved_ids(session, case_id)):
        if _is_contact(session, organisation_id, sender):
            return organisation_id
    for reported in sorted({case_id, named}):
        try:
            case = get_case_or_raise(session, SYSTEM, reported)
        except NotFound:
            continue
        reporter = str(case.get("reporter") or "").lower()
        if reporter and sender.lower() in re.findall(r"[^\s<>,;]+@[^\s<>,;]+", reporter):
            return 0
    return None


def _thread(
    session: Session, report: MailReport, case_id: int, organisation_id: int, *, clock: Clock
) -> None:
    if organisation_id:
        principal = Principal(
            actor=f"mail:{report.sender}"[:200],
            role=Role.MEMBER_USER,
            organisation_id=organisation_id,
        )
    else:  # the case's reporter, outside the constituency: written by the intake for them
        principal = Principal(actor=f"mail:{report.sender}"[:200], role=Role.CERT_ANALYST)
    add_journal_entry(
        session,
        principal,
        case_id,
        clock=clock,
        text=_entry_text(report),
        visibility=Visibility.SHARED,
        source=EntrySource.EMAIL,
        author_label=report.sender[:200],
    )
    _observe(session, case_id, report, clock=clock)


def _note_automatic(session: Session, report: MailReport, case_id: int, *, clock: Clock) -> None:
    add_journal_entry(
        session,
        INTAKE,
        case_id,
        clock=clock,
        text=_clean(
            f"Automatic message ({report.automatic}), kept as inbound message "
            f"{report.message_pk}:\n\n{_entry_text(report)}",
            TEXT_MAX,
        ),
        visibility=Visibility.INTERNAL,
        source=EntrySource.EMAIL,
    )


def _new_case(
    session: Session,
    report: MailReport,
    problems: list[str],
    *,
    clock: Clock,
    member: int | None = None,
) -> dict[str, Any]:
    """Open a case from the mail; member (the sender's organisation, where known) is its
    reporter and involved as affected."""
    title = _clean(_REFERENCE.sub("", report.subject), TITLE_MAX, multiline=False).strip(" -:")
    case = create_case(
        session,
        INTAKE,
        clock=clock,
        title=title or f"E-mail from {report.sender or 'an unknown sender'}"[:TITLE_MAX],
        description=_entry_text(report),
        reporter=report.sender[:400],
        reporter_organisation_id=member,
        source=EntrySource.EMAIL,
        involve=[(member, InvolvedRole.AFFECTED)] if member is not None else (),
    )
    case_id = int(case["id"])
    notes = [*problems, *report.problems]
    if notes:
        add_journal_entry(
            session,
            INTAKE,
            case_id,
            clock=clock,
            text=_clean(
                f"E-mail intake (inbound message {report.message_pk}) flagged:\n- "
                + "\n- ".join(notes),
                TEXT_MAX,
            ),
            visibility=Visibility.INTERNAL,
            source=EntrySource.EMAIL,
        )
    _observe(session, case_id, report, clock=clock)
    return case


def _observe(session: Session, case_id: int, report: MailReport, *, clock: Clock) -> None:
    if not report.observables:
        return
    pairs = [(_KINDS.get(o["type"], o["type"]), o["value"]) for o in report.observables]
    add_observables(session, INTAKE, case_id, clock=clock, observables=pairs[:1000])


def _entry_text(report: MailReport) -> str:
    signature = report.signature
    if report.signature.startswith("good") and not report.signed_by_sender:
        # A good signature by someone else's key says nothing about who the sender is.
        signature += " (not a key registered for the sender)"
    lines = [
        f"E-mail from {report.sender or '(no sender)'} — {signature}",
        f"Subject: {report.subject}",
    ]
    if report.attachments:
        lines.append("Attachments: " + "; ".join(report.attachments))
    lines += ["", report.text or "(no text)"]
    return _clean("\n".join(lines), TEXT_MAX)


def _clean(text: str, limit: int, *, multiline: bool = True) -> str:
    """Return text fit for a case's text fields: CR dropped, other control characters shown
    as U+FFFD, cut at limit (the whole message stays in inbound_messages)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = " ".join(text.split())
    text = _CONTROL.sub("\ufffd", text).replace("\t", "    ")
    if len(text) > limit:
        marker = "\n[… cut; the whole message is kept as received]" if multiline else "…"
        text = text[: limit - len(marker)] + marker
    return text.strip()
