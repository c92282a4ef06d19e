"""The SMTP transport against a real server (aiosmtpd) with STARTTLS, implicit TLS and login:
what works arrives, a wrong password or a server without STARTTLS defers with a clear answer
and sends nothing in plaintext, an unknown CA is refused."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.notify import Inbox, free_port
from support.tls import self_signed_certificate
from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
from vardeild.notify.model import DeliveryDeferred

USER, PASSWORD = "vardeild", "hemmelig-passord"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False)


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = "cert@vardeild.example", "ola@medlem.example"
    message["Subject"], message["Message-ID"] = "[VARDEILD#1] Test", "<t1@vardeild.example>"
    message.set_content("Hei")
    return message


def test_starttls_with_login_delivers(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]
) -> None:
    inbox, port = starttls_server
    transport = SmtpTransport(
        "127.0.0.1", port, username=USER, password=PASSWORD, ca_file=certificate[0], timeout=10
    )
    answer = transport.send(
        _message(), sender="cert@vardeild.example", recipients=["ola@medlem.example"]
    )
    assert "accepted" in answer
    assert len(inbox.raw_to("ola@medlem.example")) == 1


def test_a_wrong_password_defers_and_says_so(
    starttls_server: tuple[Inbox, int], certificate: tuple[Path, Path]
) -> None:
    inbox, port = starttls_server
    transport = SmtpTransport(
        "127.0.0.1", port, username=USER, password="feil", ca_file=certificate[0], timeout=10
    )
    with pytest.raises(DeliveryDeferred, match="refused the login"):
        transport.send(
            _message(), sender="cert@vardeild.example", recipients=["ola@medlem.example"]
        )
    assert inbox.messages == []


def test_an_untrusted_certificate_is_refused(starttls_server: tuple[Inbox, int]) -> None:
    inbox, port = starttls_server
    transport = SmtpTransport("127.0.0.1", port, username=USER, password=PASSWORD, timeout=10)
    with pytest.raises(DeliveryDeferred, match="could not be reached"):
        transport.send(
            _message(), sender="cert@vardeild.example", recipients=["ola@medlem.example"]
        )
    assert inbox.messages == []


def test_a_server_without_starttls_gets_nothing_in_plaintext() -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        transport = SmtpTransport("127.0.0.1", port, timeout=10)
        with pytest.raises(DeliveryDeferred, match="does not offer STARTTLS"):
            transport.send(
                _message(), sender="cert@vardeild.example", recipients=["ola@medlem.example"]
            )
    finally:
        controller.stop()
    assert inbox.messages == []


def test_implicit_tls_delivers(certificate: tuple[Path, Path]) -> None:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, ssl_context=_server_context(certificate)
    )
    controller.start()
    try:
        transport = SmtpTransport(
            "127.0.0.1", port, security=SmtpSecurity.TLS, ca_file=certificate[0], timeout=10
        )
        transport.send(
            _message(), sender="cert@vardeild.example", recipients=["ola@medlem.example"]
        )
    finally:
        controller.stop()
    assert len(inbox.raw_to("ola@medlem.example")) == 1
