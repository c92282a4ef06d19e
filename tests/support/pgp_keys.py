"""OpenPGP keys for tests, made by the real gpg in homes under /tmp (socket paths must stay
short): good ones, and ones that are expired, revoked, signing-only or damaged."""

from __future__ import annotations

import atexit
import itertools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vardeild.mail.cert_key import CertKey
from vardeild.mail.gnupg_home import stop_agent

_ED25519 = "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n"
_CV25519 = "Subkey-Type: ecdh\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n"


@dataclass(frozen=True)
class TestKey:
    """A key whose secret half lives in home."""

    home: Path
    email: str
    fingerprint: str
    public: str  # armoured

    __test__ = False  # not a test class, whatever pytest thinks of its name


def gpg(home: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    """Run gpg on home in batch mode; return stdout (stderr joins it on failure)."""
    done = subprocess.run(
        [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        input=input,
        capture_output=True,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"gpg {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout


@contextmanager
def key_home() -> Iterator[Path]:
    """Yield a new private GnuPG home, removed with its agent afterwards."""
    home = Path(tempfile.mkdtemp(prefix="vd-t-", dir="/tmp"))
    home.chmod(0o700)
    try:
        yield home
    finally:
        stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


# The instant of the tests' fixed clock (conftest.clock), for keys whose expiry the platform
# judges by that clock: a key made at the real time expires days after the clock's "now" as
# the calendar moves on, and a test of "ten days left" fails the next day.
AT_TEST_CLOCK = "20261128T120000"


def make_key(
    home: Path,
    email: str,
    *,
    name: str = "Test Kontakt",
    encryption: bool = True,
    expire: str = "0",
    faked_time: str | None = None,
) -> TestKey:
    """Generate an unprotected ed25519 key (with a cv25519 encryption subkey unless
    encryption is False) in home; faked_time (YYYYMMDDTHHMMSS) backdates it."""
    params = _ED25519 + (_CV25519 if encryption else "")
    params += f"Name-Real: {name}\nName-Email: {email}\nExpire-Date: {expire}\n"
    params += "%no-protection\n%commit\n"
    extra = ["--faked-system-time", f"{faked_time}!"] if faked_time else []
    gpg(home, *extra, "--gen-key", input=params.encode())
    fingerprint = fingerprint_of(home, email)
    public = gpg(home, "--armor", "--export", fingerprint).decode()
    return TestKey(home=home, email=email, fingerprint=fingerprint, public=public)


def fingerprint_of(home: Path, email: str) -> str:
    """Return the primary fingerprint of the last key in home carrying email."""
    listing = gpg(home, "--with-colons", "--list-keys", f"<{email}>").decode().splitlines()
    primaries = [
        following.split(":")[9]
        for line, following in itertools.pairwise(listing)
        if line.startswith("pub:") and following.startswith("fpr:")
    ]
    assert primaries, listing
    return primaries[-1]


def revoke(key: TestKey) -> TestKey:
    """Revoke key with the certificate gpg made beside it; return the revoked public key."""
    certificate = (key.home / "openpgp-revocs.d" / f"{key.fingerprint}.rev").read_text()
    gpg(key.home, "--import", input=certificate.replace(":-----BEGIN", "-----BEGIN").encode())
    public = gpg(key.home, "--armor", "--export", key.fingerprint).decode()
    return TestKey(home=key.home, email=key.email, fingerprint=key.fingerprint, public=public)


def damage(armoured: str) -> str:
    """Return armoured with bytes in the middle of its base64 changed (the CRC no longer
    matches)."""
    lines = armoured.splitlines()
    middle = len(lines) // 2
    line = lines[middle]
    lines[middle] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    return "\n".join(lines) + "\n"


SHARED_CERT_EMAIL = "cert@vardeild.example"
_shared: dict[str, Path] = {}


def shared_cert_home() -> Path:
    """Return a GnuPG home holding an unprotected CERT key for SHARED_CERT_EMAIL, made once
    per test run and removed (its agent stopped) when the run ends; for tests that only need
    the CERT to have a key (point settings.pgp_home at it)."""
    if "home" not in _shared:
        root = Path(tempfile.mkdtemp(prefix="vd-t-", dir="/tmp"))
        home = root / "cert"
        CertKey(home).generate(name="Test-CERT", email=SHARED_CERT_EMAIL, valid_days=365)
        atexit.register(_remove_home, root, home)
        _shared["home"] = home
    return _shared["home"]


def _remove_home(root: Path, home: Path) -> None:
    stop_agent(home)
    shutil.rmtree(root, ignore_errors=True)
