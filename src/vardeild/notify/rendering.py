"""Rendering notices: Jinja2 templates per kind and language (templates/{nb,en}/), and the CSV
and JSON attachments of the events.

Plain text, not HTML: it reads the same in every mail client, signs and encrypts cleanly, and
cannot carry tracking pixels or script.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from vardeild.core.tlp import Tlp
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify.model import NoticeKind, header_text, reference, tlp_label

TEMPLATES = Path(__file__).parent / "templates"

# The event fields attached as CSV, by IntelMQ's names (underscores for dots, as stored).
CSV_FIELDS = (
    "time_source",
    "time_observation",
    "feed_name",
    "classification_taxonomy",
    "classification_type",
    "classification_identifier",
    "event_description_text",
    "severity",
    "source_ip",
    "source_port",
    "source_fqdn",
    "destination_ip",
    "destination_port",
    "destination_fqdn",
    "protocol_transport",
    "protocol_application",
    "malware_name",
    "sensor",
)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a notice."""

    filename: str
    content_type: str  # maintype/subtype
    data: bytes


@dataclass(frozen=True)
class RenderedNotice:
    """A notice as one recipient reads it."""

    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Links:
    """Where the reader acknowledges, reads in the portal, replies and finds the CERT's key."""

    ack_url: str
    portal_url: str
    reply_to: str
    key_url: str
    cert_name: str


@dataclass(frozen=True)
class NoticeView:
    """What the templates of one notice need (the service builds it from the stored notice)."""

    id: int
    kind: NoticeKind
    title: str
    severity: Severity
    tlp: Tlp
    content: dict[str, Any]
    created_at: datetime
    items: tuple[NoticeView, ...] = ()  # the notices a digest holds


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text mail, never HTML
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def _local(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        except ValueError:
            return value
    return str(value)


def _context(
    view: NoticeView, links: Links, *, recipient_name: str, zone: ZoneInfo, attachments: bool
) -> dict[str, Any]:
    content = view.content
    details = dict(content.get("details", {}))
    for key in ("first_seen", "last_seen", "since"):
        if key in details:
            details[key] = _local(details[key], zone)
    events = [
        {
            "time": _local(e.get("time_source") or e.get("time_observation") or "", zone),
            "source_ip": e.get("source_ip"),
            "source_port": e.get("source_port"),
            "destination_ip": e.get("destination_ip"),
            "destination_port": e.get("destination_port"),
            "description": header_text(str(e.get("event_description_text") or ""), limit=120),
        }
        for e in content.get("events", [])
    ]
    return {
        "reference": reference(view.id),
        "title": header_text(view.title),
        "severity": view.severity.name.lower(),
        "tlp": tlp_label(view.tlp),
        "details": details,
        "systems": list(content.get("systems", [])),
        "events": events,
        "with_attachments": attachments and bool(events or view.items),
        "recipient_name": recipient_name,
        "items": [
            {
                "reference": reference(item.id),
                "tlp": tlp_label(item.tlp),
                "severity": item.severity.name.lower(),
                "title": header_text(item.title),
                "systems": list(item.content.get("systems", [])),
                "taxonomy": item.content.get("details", {}).get("taxonomy", ""),
                "action": header_text(str(item.content.get("details", {}).get("action") or "")),
            }
            for item in view.items
        ],
        "ack_url": links.ack_url,
        "portal_url": links.portal_url,
        "reply_to": links.reply_to,
        "key_url": links.key_url,
        "cert_name": links.cert_name,
    }


def render_notice(
    view: NoticeView,
    links: Links,
    *,
    language: Language,
    recipient_name: str,
    zone: ZoneInfo,
    attachments: bool = True,
    portal_note: bool = False,
) -> RenderedNotice:
    """Return the notice as recipient_name reads it in language; portal_note renders only the
    pointer to the portal (no content), for a recipient who must not get plaintext."""
    env = _environment()
    name = "portal_note" if portal_note else view.kind.value
    context = _context(
        view, links, recipient_name=recipient_name, zone=zone, attachments=attachments
    )
    if not portal_note:
        context["common"] = env.get_template(f"{language.value}/_common.txt").module
    subject = env.get_template(f"{language.value}/{name}.subject.txt").render(context)
    body = env.get_template(f"{language.value}/{name}.body.txt").render(context)
    files: tuple[Attachment, ...] = ()
    if attachments and not portal_note:
        events = event_rows(view)
        if events:
            files = (
                Attachment(f"vardeild-{view.id}-events.csv", "text/csv", events_csv(events)),
                Attachment(
                    f"vardeild-{view.id}-events.json", "application/json", events_json(events)
                ),
            )
    return RenderedNotice(subject=header_text(subject, limit=250), body=body, attachments=files)


def event_rows(view: NoticeView) -> list[dict[str, Any]]:
    """Return the events of a notice (a digest: of every notice it holds, each marked with
    the notice it belongs to)."""
    if view.items:
        return [
            {"notice": reference(item.id), **event}
            for item in view.items
            for event in item.content.get("events", [])
        ]
    return [dict(event) for event in view.content.get("events", [])]


def events_csv(events: list[dict[str, Any]]) -> bytes:
    """Return the events as CSV with IntelMQ field names as the header."""
    fields = (("notice",) if events and "notice" in events[0] else ()) + CSV_FIELDS
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for event in events:
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow(
            {
                k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v)
                for k, v in event.items()
            }
        )
    return out.getvalue().encode("utf-8")


def events_json(events: list[dict[str, Any]]) -> bytes:
    """Return the events as a JSON array."""
    return json.dumps(events, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
