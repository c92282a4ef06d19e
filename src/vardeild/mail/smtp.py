"""Sending notices over SMTP: STARTTLS or implicit TLS, optional authentication, the server's
answer kept for the delivery log. 4xx answers and unreachable servers defer; 5xx fail."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path

from vardeild.notify.model import DeliveryDeferred, DeliveryRejected


class SmtpSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS (required: no fallback to plaintext)
    TLS = "tls"  # implicit TLS from the first byte (port 465)
    NONE = "none"  # no TLS: only for a server on loopback


@dataclass(frozen=True)
class SmtpTransport:
    """One SMTP connection per message: simple, and a broken connection costs one message."""

    host: str
    port: int = 587
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    ca_file: Path | None = None  # trust this CA (a private relay); else the system's

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        """Return the server's answer to the message; DeliveryDeferred for an unreachable
        server or a 4xx answer, DeliveryRejected for 5xx."""
        where = f"{self.host}:{self.port}"
        try:
            client: smtplib.SMTP
            if self.security is SmtpSecurity.TLS:
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                client.ehlo()
                if self.security is SmtpSecurity.STARTTLS:
                    if not client.has_extn("starttls"):
                        raise DeliveryDeferred(
                            f"{where} does not offer STARTTLS; set mail_smtp_security to tls "
                            "or fix the server (no fallback to plaintext)"
                        )
                    client.starttls(context=self._tls())
                    client.ehlo()
                if self.username:
                    client.login(self.username, self.password or "")
                refused = client.send_message(message, from_addr=sender, to_addrs=list(recipients))
                if refused:
                    code, text = next(iter(refused.values()))
                    raise DeliveryRejected(f"{where} refused the recipient: {code} {text!r}")
                code, text = client.noop()
                return f"{where} accepted ({code})"
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryDeferred(
                f"{where} refused the login ({exc.smtp_code} {_text(exc.smtp_error)}); check "
                "mail_smtp_username and mail_smtp_password"
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            error = f"{where} refused the recipient: {code} {_text(text)}"
            if 400 <= code < 500:
                raise DeliveryDeferred(error) from exc
            raise DeliveryRejected(error) from exc
        except smtplib.SMTPResponseException as exc:
            error = f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise DeliveryDeferred(error) from exc
            raise DeliveryRejected(error) from exc
        except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise DeliveryDeferred(f"{where} could not be reached: {exc}") from exc


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
