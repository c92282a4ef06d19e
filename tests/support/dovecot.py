"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd, which `scripts/bootstrap.sh
--test` installs) started on a free loopback port with a configuration of its own, a maildir
in a temporary directory and one user. Without Dovecot the tests skip with a message; under
VARDEILD_REQUIRE_IMAP=1 (set by .ci/run) they fail instead.

Run as root, Dovecot's login and internal processes take the package's unprivileged users
(`dovenull`, `dovecot`) and the mail is the `dovecot` user's; run as anyone else, everything is
that user's.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.notify import free_port

USER, PASSWORD = "cert@helse-cert.example", "imap-hemmelig"


@dataclass(frozen=True)
class ImapServer:
    """A running Dovecot: where it listens and who may log in."""

    port: int  # plaintext, and STARTTLS where started with a certificate
    tls_port: int  # implicit TLS where started with a certificate; else 0
    user: str
    password: str
    directory: Path

    def client(self, *, tls_ca: Path | None = None) -> imaplib.IMAP4:
        """A logged-in client (plain, on loopback) for putting messages in and looking."""
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        if tls_ca is not None:
            client.starttls(ssl_context=ssl.create_default_context(cafile=str(tls_ca)))
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Put a message in the mailbox, as a mail server delivering would."""
        client = self.client()
        try:
            status, data = client.append(mailbox, None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def uids(self, mailbox: str) -> list[bytes]:
        """Return the UIDs of the messages in a mailbox (none if it does not exist)."""
        client = self.client()
        try:
            status, _ = client.select(f'"{mailbox}"', readonly=True)
            if status != "OK":
                return []
            status, data = client.uid("SEARCH", "ALL")
            assert status == "OK", data
            return data[0].split() if data and data[0] else []
        finally:
            client.logout()

    @property
    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def dovecot_binary() -> str:
    """Return the dovecot binary, or skip (fail under VARDEILD_REQUIRE_IMAP=1)."""
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if found is None:
        message = (
            "the IMAP tests need Dovecot (apt-get install dovecot-imapd; "
            "scripts/bootstrap.sh --test installs it)"
        )
        if os.environ.get("VARDEILD_REQUIRE_IMAP") == "1":
            pytest.fail(message + "; VARDEILD_REQUIRE_IMAP=1 makes its absence a failure")
        pytest.skip(message)
    return found


@contextlib.contextmanager
def running_dovecot(
    *, certificate: tuple[Path, Path] | None = None, capabilities: str | None = None
) -> Iterator[ImapServer]:
    """Start Dovecot on a free loopback port (STARTTLS and implicit TLS with certificate, else
    plaintext only); capabilities overrides what it advertises (to leave out MOVE)."""
    binary = dovecot_binary()
    # Short: Dovecot's sockets live under base_dir, and a unix socket's path is at most 108 bytes.
    directory = Path(tempfile.mkdtemp(prefix="vd-imap-", dir="/tmp"))
    directory.chmod(0o755)  # Dovecot's own users read the password file (a test password)
    port, tls_port = free_port(), free_port()
    root = os.geteuid() == 0
    mail_user = "dovecot" if root else pwd.getpwuid(os.geteuid()).pw_name
    mail_group = "dovecot" if root else grp.getgrgid(os.getegid()).gr_name
    login_user = "dovenull" if root else mail_user
    for sub in ("run", "state", "home"):
        (directory / sub).mkdir()
    (directory / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    if root:
        shutil.chown(directory / "home", mail_user, mail_group)
    tls = (
        f"ssl = yes\nssl_cert = <{certificate[0]}\nssl_key = <{certificate[1]}\n"
        if certificate
        else "ssl = no\n"
    )
    config = f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
instance_name = vardeild-test-{port}
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {mail_user}
default_internal_group = {mail_group}
default_login_user = {login_user}
first_valid_uid = {pwd.getpwnam(mail_user).pw_uid}
{f"imap_capability = {capabilities}" if capabilities else ""}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={directory}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port if certificate else 0}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    conf = directory / "dovecot.conf"
    conf.write_text(config)
    # The daemon keeps the streams it was given: a file, not a pipe that would never end.
    with (directory / "start.log").open("wb") as output:
        started = subprocess.run(
            [binary, "-c", str(conf)], stdout=output, stderr=subprocess.STDOUT, check=False
        )
    server = ImapServer(
        port=port,
        tls_port=tls_port if certificate else 0,
        user=USER,
        password=PASSWORD,
        directory=directory,
    )
    try:
        if started.returncode != 0:
            said = (directory / "start.log").read_text(errors="replace")
            raise RuntimeError(f"dovecot did not start: {said}\n{server.log}")
        _wait_for(port, server)
        yield server
    finally:
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(conf), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        pid = directory / "run" / "master.pid"
        for _ in range(50):
            if not pid.exists():
                break
            time.sleep(0.1)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(port: int, server: ImapServer) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port}:\n{server.log}")
