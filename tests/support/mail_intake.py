"""The e-mail intake for tests: a platform on a database of its own (the listener stores and
processes in threads, each with its own connection, committing for real), the listener on a
free loopback port, sending to it over real SMTP or LMTP, and waiting for processing."""

from __future__ import annotations

import email.policy
import re
import smtplib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from support.notify import free_port
from support.pgp_keys import gpg, shared_cert_home
from vardeild.app import build_platform
from vardeild.core.clock import FixedClock
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import upgrade
from vardeild.mail.gnupg_home import stop_agent
from vardeild.mail.inbound_listener import InboundListener
from vardeild.mail.inbound_open import intake_parts
from vardeild.mail.inbound_tables import InboundMessageRow
from vardeild.platform import Platform
from vardeild.settings import Settings

INTAKE_ADDRESS = "cert@vardeild.example"


@contextmanager
def intake_platform(
    database_url: str, data_dir: Path, clock: FixedClock, **settings: Any
) -> Iterator[Platform]:
    """Yield a platform on a new migrated database whose CERT key is the shared test key."""
    engine = create_db_engine(database_url)
    upgrade(engine)
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "pgp_home": shared_cert_home(),
        "mail_from": INTAKE_ADDRESS,
        **settings,
    }
    platform = build_platform(Settings(**values), engine=engine, clock=clock)
    try:
        yield platform
    finally:
        engine.dispose()
        # Decrypting started the CERT home's agent; the next user starts it again, and none
        # outlives the run (xdist workers end without running atexit).
        stop_agent(shared_cert_home())


@contextmanager
def running_listener(platform: Platform, *, lmtp: bool = False) -> Iterator[InboundListener]:
    """Run the intake listener on a free loopback port; stop it (and its worker) after."""
    listener = InboundListener(
        platform,
        intake_parts(platform.settings),
        host="127.0.0.1",
        port=free_port(),
        lmtp=lmtp,
        interval_seconds=0.5,
    )
    with listener:
        yield listener


def send(
    listener: InboundListener,
    raw: bytes,
    *,
    sender: str = "reporter@example.org",
    recipients: Sequence[str] = (INTAKE_ADDRESS,),
) -> bytes:
    """Send raw to the listener over real SMTP (or LMTP, as it speaks), its line ends made
    CRLF as on the wire (smtplib sends bytes as given); return the bytes sent."""
    raw = re.sub(rb"\r?\n", b"\r\n", raw)
    client: smtplib.SMTP
    client = (
        smtplib.LMTP(listener.host, listener.port)
        if listener.lmtp
        else smtplib.SMTP(listener.host, listener.port, timeout=30)
    )
    with client:
        client.sendmail(sender, list(recipients), raw)
        if listener.lmtp:
            # LMTP answers DATA once per recipient (RFC 2033 §4.2); smtplib reads one.
            for _ in recipients[1:]:
                code, answer = client.getreply()
                assert code == 250, answer
    return raw


def wait_for(platform: Platform, count: int, *, timeout: float = 60.0) -> list[InboundMessageRow]:
    """Return the kept messages once at least count of them are no longer `received`."""
    deadline = time.monotonic() + timeout
    while True:
        with platform.session() as session:
            rows = list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))
            for row in rows:
                session.expunge(row)
        done = [r for r in rows if r.status != "received"]
        if len(done) >= count:
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(done)} of {count} messages processed after {timeout} s: "
                f"{[(r.id, r.status) for r in rows]}"
            )
        time.sleep(0.1)


def plain_message(
    *,
    sender: str = "reporter@example.org",
    subject: str = "Phishing against our staff",
    text: str = "We received phishing from hxxp://login-portal[.]example/a",
    message_id: str | None = None,
) -> EmailMessage:
    """Return a simple text message to the CERT."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = INTAKE_ADDRESS
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    message.set_content(text)
    return message


def pgp_mime_encrypted(
    home: Path,
    signer: str | None,
    cert_public: bytes,
    inner: EmailMessage,
    *,
    recipient: str = INTAKE_ADDRESS,
) -> bytes:
    """Return inner as a PGP/MIME message (RFC 3156 §6.2: signed by signer's key in home if
    given, and encrypted to recipient, the CERT unless named) under inner's own From, To,
    Subject and Message-ID."""
    if cert_public:
        gpg(home, "--import", input=cert_public)
    entity = EmailMessage()
    entity.set_content(inner.get_content())
    del entity["MIME-Version"]
    body = entity.as_bytes(policy=email.policy.SMTP)
    args = ["--armor", "--no-auto-key-locate", "--trust-model", "always", "--encrypt"]
    args += ["-r", recipient]
    if signer:
        args += ["--sign", "-u", signer]
    ciphertext = gpg(home, *args, input=body)
    outer = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        if inner[name] is not None:
            outer[name] = inner[name]
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = 'multipart/encrypted; protocol="application/pgp-encrypted"'
    outer.set_boundary("=_enc_boundary")
    control = EmailMessage()
    control.set_content(b"Version: 1\r\n", maintype="application", subtype="pgp-encrypted")
    payload = EmailMessage()
    payload.set_content(
        ciphertext, maintype="application", subtype="octet-stream", cte="7bit",
        filename="encrypted.asc",
    )  # fmt: skip
    for part in (control, payload):
        del part["MIME-Version"]
    outer.set_payload([control, payload])
    return outer.as_bytes(policy=email.policy.SMTP)


def pgp_mime_signed(home: Path, signer: str, inner: EmailMessage) -> bytes:
    """Return inner as multipart/signed (RFC 3156 §5) by signer's key in home."""
    body = EmailMessage()
    body.set_content(inner.get_content(), cte="quoted-printable")
    del body["MIME-Version"]
    signed_bytes = body.as_bytes(policy=email.policy.SMTP)
    signature = gpg(home, "--armor", "--detach-sign", "-u", signer, input=signed_bytes)
    boundary = "=_signed_boundary"
    head = "".join(
        f"{name}: {inner[name]}\r\n"
        for name in ("From", "To", "Subject", "Date", "Message-ID")
        if inner[name] is not None
    )
    return (
        head.encode()
        + b"MIME-Version: 1.0\r\n"
        + b'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-'
        + b'signature"; boundary="' + boundary.encode() + b'"\r\n\r\n'
        + b"--" + boundary.encode() + b"\r\n" + signed_bytes + b"\r\n"
        + b"--" + boundary.encode() + b"\r\n"
        + b"Content-Type: application/pgp-signature; name=signature.asc\r\n\r\n"
        + signature + b"\r\n--" + boundary.encode() + b"--\r\n"
    )  # fmt: skip
