"""The IMAP poller against a real Dovecot on loopback: messages waiting in the mailbox become
kept messages and cases and move to the done mailbox; a pass stopped after keeping a message
but before moving it keeps nothing twice; a message over the bound is not downloaded; a server
without MOVE gets COPY, \\Deleted and EXPUNGE; STARTTLS and implicit TLS with the server's CA,
and a clear refusal for a wrong password, an unknown CA and plaintext to a remote host; the
CLI's `vardeild mail poll --once`."""

from __future__ import annotations

import imaplib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.cli import Cli
from support.dovecot import ImapServer, running_dovecot
from support.mail_intake import intake_platform, plain_message
from support.pgp_keys import shared_cert_home
from support.tls import self_signed_certificate
from vardeild.core.clock import FixedClock
from vardeild.incidents.tables import CaseRow
from vardeild.mail.imap_poll import ImapFailure, ImapMailbox, ImapSecurity, poll_once
from vardeild.mail.inbound_open import intake_parts
from vardeild.mail.inbound_tables import InboundMessageRow
from vardeild.platform import Platform

DONE = "Vardeild"


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def server(imap: ImapServer) -> ImapServer:
    """The module's server with both mailboxes emptied before the test."""
    client = imap.client()
    try:
        for mailbox in ("INBOX", DONE):
            status, count = client.select(f'"{mailbox}"')
            if status == "OK" and count[0] != b"0":
                client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()
    finally:
        client.logout()
    return imap


@pytest.fixture
def intake(fresh_database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Platform]:
    with intake_platform(fresh_database_url, tmp_path / "data", clock) as platform:
        yield platform


def _mailbox(server: ImapServer, **overrides: object) -> ImapMailbox:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": ImapSecurity.NONE,
        "username": server.user,
        "password": server.password,
        "done_mailbox": DONE,
        **overrides,
    }
    return ImapMailbox(**values)  # type: ignore[arg-type]


def _poll(intake: Platform, mailbox: ImapMailbox, **kwargs: object) -> object:
    return poll_once(
        intake.session,
        clock=intake.clock,
        parts=intake_parts(intake.settings),
        mailbox=mailbox,
        **kwargs,  # type: ignore[arg-type]
    )


def _counts(intake: Platform) -> tuple[int, int]:
    with intake.session() as session:
        messages = session.scalar(select(func.count()).select_from(InboundMessageRow)) or 0
        cases = session.scalar(select(func.count()).select_from(CaseRow)) or 0
    return messages, cases


def test_waiting_messages_become_cases_and_move_to_the_done_mailbox(
    intake: Platform, server: ImapServer
) -> None:
    for n in range(3):
        server.append(
            plain_message(
                sender=f"melder{n}@sykehus.example",
                subject=f"Mistenkelig pålogging {n}",
                text=f"Innlogging fra 203.0.113.{n + 10}",
            ).as_bytes()
        )
    result = _poll(intake, _mailbox(server))
    assert (result.kept, result.again, result.refused, result.moved, result.left) == (  # type: ignore[attr-defined]
        3, 0, 0, 3, 0,
    )  # fmt: skip
    assert len(result.processed) == 3  # type: ignore[attr-defined]
    assert server.uids("INBOX") == []
    assert len(server.uids(DONE)) == 3
    assert _counts(intake) == (3, 3)
    with intake.session() as session:
        rows = list(session.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))
    assert [r.status for r in rows] == ["processed"] * 3
    assert {r.outcome for r in rows} == {"new_case"}
    assert all(r.peer.startswith(f"imap:127.0.0.1:{server.port}/INBOX") for r in rows)
    again = _poll(intake, _mailbox(server))
    assert (again.kept, again.moved, again.processed) == (0, 0, [])  # type: ignore[attr-defined]
    assert _counts(intake) == (3, 3)


def test_one_pass_takes_a_batch_and_leaves_the_rest_for_the_next(
    intake: Platform, server: ImapServer
) -> None:
    for n in range(3):
        server.append(plain_message(subject=f"Melding {n}").as_bytes())
    first = _poll(intake, _mailbox(server, batch=2))
    assert (first.kept, first.left) == (2, 1)  # type: ignore[attr-defined]
    second = _poll(intake, _mailbox(server, batch=2))
    assert (second.kept, second.left) == (1, 0)  # type: ignore[attr-defined]
    assert _counts(intake) == (3, 3)


def _watched(before: Callable[[str], None]) -> Callable[[ImapMailbox], imaplib.IMAP4]:
    """A connection factory whose UID commands are shown to before (by name) first."""

    def connect(mailbox: ImapMailbox) -> imaplib.IMAP4:
        client = mailbox.connect()
        original = client.uid

        def uid(command: str, *args: str) -> tuple[str, list[object]]:
            before(command.upper())
            return original(command, *args)

        client.uid = uid  # type: ignore[method-assign]
        return client

    return connect


def _stops_before_moving() -> Callable[[ImapMailbox], imaplib.IMAP4]:
    """A connection that fails its first move, as a pass killed between keeping a message and
    moving it would leave things."""
    failed: list[str] = []

    def fail_first_move(command: str) -> None:
        if command in ("MOVE", "COPY") and not failed:
            failed.append(command)
            raise imaplib.IMAP4.abort("connection lost (test)")

    return _watched(fail_first_move)


def test_a_pass_stopped_before_the_move_keeps_nothing_twice(
    intake: Platform, server: ImapServer
) -> None:
    server.append(plain_message(subject="Ransomware hos oss", text="Hjelp").as_bytes())
    with pytest.raises(ImapFailure, match="failed during the pass: connection lost"):
        _poll(intake, _mailbox(server), client_factory=_stops_before_moving())
    assert len(server.uids("INBOX")) == 1  # still there
    assert _counts(intake) == (1, 0)  # kept, committed, not yet processed
    result = _poll(intake, _mailbox(server))
    assert (result.kept, result.again, result.moved) == (0, 1, 1)  # type: ignore[attr-defined]
    assert server.uids("INBOX") == []
    assert _counts(intake) == (1, 1)  # one message, one case: nothing twice


def test_a_message_over_the_bound_is_not_downloaded_but_recorded_and_moved(
    fresh_database_url: str, tmp_path: Path, clock: FixedClock, server: ImapServer
) -> None:
    with intake_platform(
        fresh_database_url, tmp_path / "data", clock, mail_inbound_max_bytes=100_000
    ) as platform:
        big = plain_message(subject="Stor fil", text="x" * 300_000).as_bytes()
        server.append(big)
        result = _poll(platform, _mailbox(server))
        assert (result.kept, result.refused, result.moved) == (0, 1, 1)  # type: ignore[attr-defined]
        with platform.session() as session:
            row = session.scalars(select(InboundMessageRow)).one()
        assert (row.status, row.flagged, row.truncated) == ("refused", True, True)
        assert row.size >= len(big)  # the server's size (it stores lines ending in CRLF)
        assert len(row.raw) == 65536  # only the head was fetched
        assert "mail bomb" in row.problems[0]
        assert _counts(platform) == (1, 0)


def test_a_server_without_move_gets_copy_delete_and_expunge(
    intake: Platform, tmp_path: Path
) -> None:
    commands: list[str] = []

    with running_dovecot(capabilities="IMAP4rev1 LITERAL+ UIDPLUS") as plain:
        plain.append(plain_message(subject="Uten MOVE").as_bytes())
        result = _poll(intake, _mailbox(plain), client_factory=_watched(commands.append))
        assert (result.kept, result.moved) == (1, 1)  # type: ignore[attr-defined]
        assert plain.uids("INBOX") == []
        assert len(plain.uids(DONE)) == 1
    assert "MOVE" not in commands
    assert commands[-3:] == ["COPY", "STORE", "EXPUNGE"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("imap-tls"))
    key.chmod(0o644)  # Dovecot reads it as root before dropping privileges; a test key only
    return cert, key


def test_tls_starttls_and_the_refusals_say_what_is_wrong(
    intake: Platform, certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    with running_dovecot(certificate=certificate) as secure:
        secure.append(plain_message(subject="Over TLS").as_bytes())
        secure.append(plain_message(subject="Over STARTTLS").as_bytes())
        tls = _mailbox(
            secure, port=secure.tls_port, security=ImapSecurity.TLS, ca_file=certificate[0],
            batch=1,
        )  # fmt: skip
        assert _poll(intake, tls).kept == 1  # type: ignore[attr-defined]
        starttls = _mailbox(secure, security=ImapSecurity.STARTTLS, ca_file=certificate[0])
        assert _poll(intake, starttls).kept == 1  # type: ignore[attr-defined]
        assert _counts(intake) == (2, 2)

        with pytest.raises(ImapFailure, match=r"cannot reach the IMAP server .*certificate"):
            _poll(intake, _mailbox(secure, port=secure.tls_port, security=ImapSecurity.TLS))
        wrong = _mailbox(secure, security=ImapSecurity.STARTTLS, ca_file=certificate[0],
                         password="feil")  # fmt: skip
        with pytest.raises(ImapFailure, match=r"refused the login .*mail_imap_password"):
            _poll(intake, wrong)
    with running_dovecot() as plaintext_only:
        no_tls = _mailbox(plaintext_only, security=ImapSecurity.STARTTLS)
        with pytest.raises(ImapFailure, match="does not offer STARTTLS"):
            _poll(intake, no_tls)
    with pytest.raises(ValueError, match="only for a server on loopback"):
        ImapMailbox(host="192.0.2.10", security=ImapSecurity.NONE)
    with pytest.raises(ValueError, match="must differ"):
        ImapMailbox(host="127.0.0.1", mailbox="INBOX", done_mailbox="INBOX")


def test_the_cli_polls_once(fresh_database_url: str, server: ImapServer, tmp_path: Path) -> None:
    server.append(plain_message(subject="Fra kommandolinjen").as_bytes())
    settings = {
        "VARDEILD_PGP_HOME": str(shared_cert_home()),
        "VARDEILD_MAIL_IMAP_HOST": "127.0.0.1",
        "VARDEILD_MAIL_IMAP_PORT": str(server.port),
        "VARDEILD_MAIL_IMAP_SECURITY": "none",
        "VARDEILD_MAIL_IMAP_USERNAME": server.user,
        "VARDEILD_MAIL_IMAP_PASSWORD": server.password,
        "VARDEILD_MAIL_IMAP_DONE_MAILBOX": DONE,
    }
    cli = Cli(fresh_database_url, tmp_path / "data", env=dict(settings))
    cli("init")
    result = cli.json("mail", "poll", "--once")
    assert (result["kept"], result["moved"], len(result["processed"])) == (1, 1, 1)
    assert cli.json("mail", "list")[0]["subject"] == "Fra kommandolinjen"
    unset = Cli(fresh_database_url, tmp_path / "data",
                env={**settings, "VARDEILD_MAIL_IMAP_HOST": None})  # fmt: skip
    assert "set mail_imap_host" in unset("mail", "poll", "--once", code=2).stderr
    wrong = Cli(fresh_database_url, tmp_path / "data",
                env={**settings, "VARDEILD_MAIL_IMAP_PASSWORD": "feil"})  # fmt: skip
    assert "refused the login" in wrong("mail", "poll", "--once", code=1).stderr
