"""The interfaces the notify domain sends through; the composition root (vardeild.app) picks
the implementations, so the domain never imports the mail adapters."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from typing import Protocol


class MessageProtector(Protocol):
    """Signs a message with the CERT's key, and encrypts it to recipient keys when given."""

    def protect(self, message: EmailMessage, *, recipient_keys: Sequence[str]) -> EmailMessage:
        """Return the message signed (multipart/signed, RFC 3156); with recipient_keys
        (armoured public keys) signed and encrypted to all of them (multipart/encrypted).
        Raises an exception named KeyUnusable, naming the key, when a key cannot be used."""
        ...


class MailTransport(Protocol):
    """Hands a finished message to the next hop: an SMTP server, or a maildir."""

    def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        """Return the server's answer; raise notify.model.DeliveryDeferred for a temporary
        failure (unreachable, 4xx) and DeliveryRejected for a permanent one (5xx)."""
        ...


def is_key_unusable(error: BaseException) -> bool:
    """Return True if error is the protector's KeyUnusable (matched by name: the domain does
    not import the adapter that defines it)."""
    return any(kind.__name__ == "KeyUnusable" for kind in type(error).__mro__)
