"""Fetching the CERT's mailbox over IMAP, for a mailbox Vardeild cannot have delivered to it over
LMTP (a hosted or Exchange mailbox): each pass takes the messages waiting in the mailbox, keeps
each exactly as the server gives it, moves it to a "done" mailbox, and then processes what was
kept into cases, as the LMTP listener does.

Nothing lost, nothing twice, wherever a pass is killed:

- A message leaves the mailbox only after it was kept and committed (`store_message`). Killed
  before that, it is still there and the next pass takes it.
- Killed after the commit but before the move, the next pass fetches it again: the same bytes
  under the same Message-ID are recognised as kept (`Received.duplicate`), and it is only moved.
- Killed after the move, it is kept and waiting (status `received`); every pass first and last
  processes what is waiting (`process_pending`).

Messages are fetched with BODY.PEEK (the server's \\Seen flag is left alone) and moved with
UID MOVE, or where the server lacks MOVE with UID COPY, \\Deleted and UID EXPUNGE (UIDPLUS),
else EXPUNGE. One larger than mail_inbound_max_bytes is not downloaded: its first bytes are kept
as a refused, flagged message (a mail bomb), and it is moved out of the way like any other.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from vardeild.core.clock import Clock
from vardeild.mail.inbound import process_pending, store_message
from vardeild.mail.inbound_mime import HEAD_KEPT_BYTES
from vardeild.mail.inbound_open import IntakeParts
from vardeild.settings import Settings

SessionFactory = Callable[[], Any]

_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")


class ImapSecurity(StrEnum):
    """How the connection to the IMAP server is protected."""

    TLS = "tls"  # implicit TLS from the first byte (port 993)
    STARTTLS = "starttls"  # plain connect, then STARTTLS (required: no fallback to plaintext)
    NONE = "none"  # no TLS: only for a server on loopback


class ImapFailure(Exception):
    """The server could not be reached, refused the login, or answered a command with an
    error; the message says which, and what to check."""


@dataclass(frozen=True)
class ImapMailbox:
    """Where the CERT's mail waits, and how to reach it."""

    host: str
    port: int = 993
    security: ImapSecurity = ImapSecurity.TLS
    username: str = ""
    password: str = ""
    mailbox: str = "INBOX"
    done_mailbox: str = "Vardeild"  # where fetched messages go; created when missing
    ca_file: Path | None = None  # trust this CA (a private server); else the system's
    timeout: float = 30.0
    batch: int = 200  # messages per pass, so that one pass ends and the next starts fresh

    def __post_init__(self) -> None:
        if self.security is ImapSecurity.NONE and not _is_loopback(self.host):
            raise ValueError(
                f"mail_imap_security none sends the password in the clear: only for a server on "
                f"loopback, and {self.host} is not; use tls or starttls"
            )
        for name in (self.mailbox, self.done_mailbox):
            if not name or not name.isascii() or any(ord(c) < 32 for c in name):
                raise ValueError(
                    f"IMAP mailbox name {name!r} must be plain ASCII text (no control characters)"
                )
        if self.mailbox == self.done_mailbox:
            raise ValueError("mail_imap_done_mailbox must differ from mail_imap_mailbox")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self) -> imaplib.IMAP4:
        """Return a logged-in connection; ImapFailure saying why when there is none."""
        try:
            client: imaplib.IMAP4
            if self.security is ImapSecurity.TLS:
                client = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self._tls(), timeout=self.timeout
                )
            else:
                client = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                if self.security is ImapSecurity.STARTTLS:
                    if "STARTTLS" not in client.capabilities:
                        client.shutdown()
                        raise ImapFailure(
                            f"{self.where} does not offer STARTTLS; set mail_imap_security to "
                            "tls or fix the server (no fallback to plaintext)"
                        )
                    client.starttls(ssl_context=self._tls())
        except ImapFailure:
            raise
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise ImapFailure(f"cannot reach the IMAP server {self.where}: {exc}") from exc
        try:
            client.login(self.username, self.password)
        except (OSError, imaplib.IMAP4.error) as exc:
            _close(client)
            raise ImapFailure(
                f"the IMAP server {self.where} refused the login of {self.username!r}: {exc} "
                "(check mail_imap_username and mail_imap_password)"
            ) from exc
        return client

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def imap_mailbox(settings: Settings) -> ImapMailbox:
    """Return the mailbox the settings name; ValueError saying what to set when they name
    none, or one that cannot be used."""
    if not settings.mail_imap_host:
        raise ValueError(
            "no IMAP server is set: set mail_imap_host (VARDEILD_MAIL_IMAP_HOST), "
            "mail_imap_username and mail_imap_password"
        )
    password = settings.mail_imap_password
    return ImapMailbox(
        host=settings.mail_imap_host,
        port=settings.mail_imap_port,
        security=ImapSecurity(settings.mail_imap_security),
        username=settings.mail_imap_username or "",
        password=password.get_secret_value() if password is not None else "",
        mailbox=settings.mail_imap_mailbox,
        done_mailbox=settings.mail_imap_done_mailbox,
        ca_file=settings.mail_imap_ca_file,
    )


@dataclass
class PollResult:
    """What one pass did."""

    kept: int = 0  # messages kept now
    again: int = 0  # fetched again, kept before (a pass stopped before moving them)
    refused: int = 0  # larger than the bound: their head kept, refused
    moved: int = 0  # moved to the done mailbox
    left: int = 0  # still waiting (more than one pass takes)
    processed: list[int] = field(default_factory=list)  # kept messages processed in this pass


def poll_once(
    session_factory: SessionFactory,
    *,
    clock: Clock,
    parts: IntakeParts,
    mailbox: ImapMailbox,
    client_factory: Callable[[ImapMailbox], imaplib.IMAP4] | None = None,
) -> PollResult:
    """Run one pass: process what is waiting, fetch, keep and move up to mailbox.batch
    messages, then process what was kept. ImapFailure when the server fails us; what was kept
    and moved before that stays so."""
    result = PollResult()
    result.processed += process_pending(session_factory, clock=clock, parts=parts)
    client = (client_factory or ImapMailbox.connect)(mailbox)
    capabilities = client.capabilities
    try:
        _ensure(client, mailbox)
        uids = _search(client, mailbox)
        result.left = max(0, len(uids) - mailbox.batch)
        move = _mover(client, mailbox)
        for uid in uids[: mailbox.batch]:
            _take(session_factory, client, mailbox, uid, clock=clock, parts=parts, result=result)
            move(uid)
            result.moved += 1
        if result.moved and "MOVE" not in capabilities and "UIDPLUS" not in capabilities:
            _ok(client.expunge(), mailbox, "EXPUNGE")
    except (OSError, imaplib.IMAP4.error) as exc:  # a dropped connection, a garbled answer
        raise ImapFailure(
            f"the IMAP server {mailbox.where} failed during the pass: {exc}; what was kept "
            "stays kept, the rest waits for the next pass"
        ) from exc
    finally:
        _close(client)
    result.processed += process_pending(session_factory, clock=clock, parts=parts)
    return result


def _take(
    session_factory: SessionFactory,
    client: imaplib.IMAP4,
    mailbox: ImapMailbox,
    uid: str,
    *,
    clock: Clock,
    parts: IntakeParts,
    result: PollResult,
) -> None:
    """Fetch one message (its head only when it is too large) and keep it, committed."""
    size = _size(client, mailbox, uid)
    limit = parts.limits.max_bytes
    if size > limit:
        raw = _fetch(client, mailbox, uid, f"BODY.PEEK[]<0.{HEAD_KEPT_BYTES}>")
    else:
        raw = _fetch(client, mailbox, uid, "BODY.PEEK[]")
    with session_factory() as session:
        kept = store_message(
            session,
            raw,
            clock=clock,
            limits=parts.limits,
            peer=f"imap:{mailbox.where}/{mailbox.mailbox}"[:200],
            size=size if size > limit else None,  # else the bytes kept are the size
        )
    if kept.duplicate:
        result.again += 1
    elif size > limit:
        result.refused += 1
    else:
        result.kept += 1


def _ensure(client: imaplib.IMAP4, mailbox: ImapMailbox) -> None:
    """Create the done mailbox when it is missing; select the mailbox read-write."""
    # NO here most likely means it exists; if not, the first move says what is wrong.
    client.create(_quote(mailbox.done_mailbox))
    _ok(client.select(_quote(mailbox.mailbox)), mailbox, f"SELECT {mailbox.mailbox}")


def _search(client: imaplib.IMAP4, mailbox: ImapMailbox) -> list[str]:
    # UNDELETED: a message someone marked for deletion is not ours to take.
    data = _ok(client.uid("SEARCH", "UNDELETED"), mailbox, "UID SEARCH")
    return [uid.decode() for line in data if isinstance(line, bytes) for uid in line.split()]


def _size(client: imaplib.IMAP4, mailbox: ImapMailbox, uid: str) -> int:
    data = _ok(client.uid("FETCH", uid, "(RFC822.SIZE)"), mailbox, f"UID FETCH {uid}")
    for line in data:
        text = line[0] if isinstance(line, tuple) else line
        if isinstance(text, bytes) and (found := _SIZE.search(text)):
            return int(found.group(1))
    raise ImapFailure(f"{mailbox.where} gave no size for message UID {uid}")


def _fetch(client: imaplib.IMAP4, mailbox: ImapMailbox, uid: str, item: str) -> bytes:
    data = _ok(client.uid("FETCH", uid, f"({item})"), mailbox, f"UID FETCH {uid}")
    for line in data:
        if isinstance(line, tuple) and len(line) == 2 and isinstance(line[1], bytes):
            found = _UID.search(line[0])
            if found is None or found.group(1) == uid.encode():
                return line[1]
    raise ImapFailure(f"{mailbox.where} gave no content for message UID {uid}")


def _mover(client: imaplib.IMAP4, mailbox: ImapMailbox) -> Callable[[str], None]:
    """Return how to move a message to the done mailbox on this server."""
    target = _quote(mailbox.done_mailbox)
    capabilities = client.capabilities

    def move(uid: str) -> None:
        _ok(client.uid("MOVE", uid, target), mailbox, f"UID MOVE to {mailbox.done_mailbox}")

    def copy_and_delete(uid: str) -> None:
        _ok(client.uid("COPY", uid, target), mailbox, f"UID COPY to {mailbox.done_mailbox}")
        _ok(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), mailbox, "UID STORE")
        if "UIDPLUS" in capabilities:
            _ok(client.uid("EXPUNGE", uid), mailbox, "UID EXPUNGE")

    return move if "MOVE" in capabilities else copy_and_delete


def _ok(answer: tuple[str, list[Any]], mailbox: ImapMailbox, command: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        said = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise ImapFailure(f"the IMAP server {mailbox.where} answered {command}: {status} {said}")
    return data


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _close(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)
