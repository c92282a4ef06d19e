"""The password-reset e-mail: a plain-text message with the one-time link, handed to the same
transport the notice outbox uses (the maildir by default, or SMTP), after the answer has gone
out, so the time of the answer does not tell whether the address has an account."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from vardeild.mail.maildir import MaildirTransport
from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
from vardeild.notify.ports import MailTransport
from vardeild.settings import Settings

log = logging.getLogger(__name__)

_SUBJECT = {"nb": "Nytt passord til {cert}", "en": "A new password for {cert}"}
_BODY = {
    "nb": (
        "Hei {name},\n\nnoen (forhåpentligvis du) ba om å sette nytt passord for {email} i "
        "portalen til {cert}. Lenken virker én gang, i {minutes} minutter:\n\n{link}\n\n"
        "Ba du ikke om dette, kan du se bort fra e-posten; passordet ditt er uendret.\n"
    ),
    "en": (
        "Hello {name},\n\nsomeone (hopefully you) asked to set a new password for {email} in "
        "the {cert} portal. The link works once, for {minutes} minutes:\n\n{link}\n\n"
        "If you did not ask for this, ignore this message; your password is unchanged.\n"
    ),
}


def mail_transport(settings: Settings) -> MailTransport:
    """Return the transport the settings name, as the notice outbox builds it."""
    if settings.mail_transport == "smtp":
        password = settings.mail_smtp_password
        return SmtpTransport(
            host=settings.mail_smtp_host,
            port=settings.mail_smtp_port,
            security=SmtpSecurity(settings.mail_smtp_security),
            username=settings.mail_smtp_username,
            password=password.get_secret_value() if password else None,
            timeout=settings.mail_smtp_timeout,
            ca_file=settings.mail_smtp_ca_file,
        )
    return MaildirTransport(settings.mail_maildir or settings.data_dir / "outbox")


def build_reset_message(
    settings: Settings, *, to: str, name: str, link: str, language: str
) -> EmailMessage:
    """Return the reset message for one user."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = _SUBJECT[language].format(cert=settings.cert_name)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.partition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        _BODY[language].format(
            name=name,
            email=to,
            cert=settings.cert_name,
            minutes=settings.portal_reset_link_minutes,
            link=link,
        )
    )
    return message


def send_reset_mail(
    settings: Settings, transport: MailTransport, *, to: str, name: str, link: str, language: str
) -> None:
    """Send the reset message; a failure is logged, never raised (the answer has gone)."""
    message = build_reset_message(settings, to=to, name=name, link=link, language=language)
    try:
        transport.send(message, sender=settings.mail_from, recipients=[to])
    except Exception:  # the user already has the answer; the operator needs the log
        log.exception("the password-reset mail to %s could not be sent", to)
