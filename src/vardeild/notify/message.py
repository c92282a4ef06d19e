"""Building the e-mail of one delivery from a rendered notice (the standard library's email
package; headers checked against injection)."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from vardeild.notify.model import check_address, header_text
from vardeild.notify.rendering import RenderedNotice


def build_message(
    rendered: RenderedNotice,
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    recipient_name: str,
    reply_to: str,
    message_id: str,
    at: datetime,
    references: str | None = None,
) -> EmailMessage:
    """Return the message for one recipient: text body, attachments, and headers that carry
    no line breaks. Raises ValidationFailed for an address unfit for a header."""
    check_address(recipient)
    check_address(sender, record="setting mail_from")
    check_address(reply_to, record="setting mail_reply_to")
    message = EmailMessage()
    message["From"] = Address(header_text(sender_name, limit=100), addr_spec=sender)
    message["To"] = Address(header_text(recipient_name, limit=100), addr_spec=recipient)
    message["Reply-To"] = reply_to
    message["Subject"] = header_text(rendered.subject, limit=250)
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id
    if references:
        message["References"] = references
        message["In-Reply-To"] = references
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.body, charset="utf-8")
    for attachment in rendered.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message
