"""inspect_public_key against keys made by the real gpg, one throwaway keyring per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gnupg
import pytest

from vardeild.members import openpgp
from vardeild.members.model import KeyInfo
from vardeild.members.openpgp import GnuPGError, inspect_public_key, key_matches_email

NOW = datetime.now(UTC)
# A user id with what gpg --with-colons must escape (a colon, a backslash) and non-ASCII text.
BOB_UID = "Bob: CERT \\ Åse Ødegård <bob@example.org>"

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="needs GnuPG (gpg)")


def _gpg(home: str, *args: str, stdin: bytes | None = None) -> bytes:
    """Run gpg on the test keyring; keys are made without passphrase (loopback, empty)."""
    done = subprocess.run(
        [
            "gpg",
            "--homedir",
            home,
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _new_key(home: str, uid: str, algo: str, usage: str, expire: str, *options: str) -> str:
    """Create a primary key and return its fingerprint."""
    _gpg(home, *options, "--quick-gen-key", uid, algo, usage, expire)
    listing = _gpg(home, "--with-colons", "--list-keys", f"={uid}").decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _armour(home: str, *fingerprints: str) -> str:
    return _gpg(home, "--armor", "--export", *fingerprints).decode("ascii")


@dataclass(frozen=True)
class Keys:
    """Armoured exports of the test keys, with what python-gnupg (a second reader) says."""

    alice: str  # expires in 2 years; its encryption subkey in 1 year
    alice_fpr: str
    alice_expires: datetime
    alice_subkey_expires: datetime
    bob: str  # never expires; odd user id; a second, revoked user id
    bob_fpr: str
    signing_only: str
    revoked: str
    revoked_fpr: str
    subkey_revoked: str
    long_expired: str  # made with a faked clock in 2020, so gpg itself marks it expired
    two_keys: str
    private: str
    private_as_public: str
    binary: bytes


def _reported(home: str) -> dict[str, Any]:
    """Fingerprint -> key as python-gnupg lists it: an independent check of our parsing."""
    return {key["fingerprint"]: key for key in gnupg.GPG(gnupghome=home).list_keys()}


@pytest.fixture(scope="session")
def keys() -> Iterator[Keys]:
    # A short GNUPGHOME: gpg-agent's socket path must stay under ~108 bytes.
    home = tempfile.mkdtemp(prefix="vd-gpg-", dir="/tmp")
    try:
        alice = _new_key(home, "Alice Example <alice@Example.ORG>", "ed25519", "sign,cert", "2y")
        _gpg(home, "--quick-add-key", alice, "cv25519", "encr", "1y")

        bob = _new_key(home, BOB_UID, "ed25519", "sign,cert", "never")
        _gpg(home, "--quick-add-key", bob, "cv25519", "encr", "never")
        _gpg(home, "--quick-add-uid", bob, "Old Bob <bob@old.example>")
        _gpg(home, "--quick-revoke-uid", bob, "Old Bob <bob@old.example>")

        signer = _new_key(home, "Signer <signer@example.org>", "ed25519", "sign,cert", "never")

        revoked = _new_key(home, "Gone <gone@example.org>", "rsa2048", "sign,cert", "never")
        _gpg(home, "--quick-add-key", revoked, "rsa2048", "encr", "never")
        # gpg writes a revocation certificate at key creation, with a ':' guarding it.
        certificate = Path(home, "openpgp-revocs.d", f"{revoked}.rev").read_text()
        _gpg(home, "--import", stdin=certificate.replace(":-----BEGIN", "-----BEGIN").encode())

        sub_revoked = _new_key(home, "Half <half@example.org>", "ed25519", "sign,cert", "never")
        _gpg(home, "--quick-add-key", sub_revoked, "cv25519", "encr", "never")
        # Revoking one subkey has no --quick command; drive --edit-key through --command-fd.
        _gpg(
            home,
            "--command-fd",
            "0",
            "--edit-key",
            sub_revoked,
            stdin=b"key 1\nrevkey\ny\n0\n\ny\nsave\n",
        )

        # A key that expired years ago by the real clock too, made under a faked clock.
        old = _new_key(
            home,
            "Old <old@example.org>",
            "ed25519",
            "sign,cert",
            "1y",
            "--faked-system-time",
            "20200101T000000!",
        )

        reported = _reported(home)
        subkey = next(iter(reported[alice]["subkey_info"].values()))
        yield Keys(
            alice=_armour(home, alice),
            alice_fpr=reported[alice]["fingerprint"],
            alice_expires=datetime.fromtimestamp(int(reported[alice]["expires"]), tz=UTC),
            alice_subkey_expires=datetime.fromtimestamp(int(subkey["expires"]), tz=UTC),
            bob=_armour(home, bob),
            bob_fpr=reported[bob]["fingerprint"],
            signing_only=_armour(home, signer),
            revoked=_armour(home, revoked),
            revoked_fpr=revoked,
            subkey_revoked=_armour(home, sub_revoked),
            long_expired=_armour(home, old),
            two_keys=_armour(home, alice, bob),
            private=_gpg(home, "--armor", "--export-secret-keys", signer).decode("ascii"),
            private_as_public=_gpg(home, "--armor", "--export-secret-keys", signer)
            .decode("ascii")
            .replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK"),
            binary=_gpg(home, "--export", alice),
        )
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, check=False
        )
        shutil.rmtree(home, ignore_errors=True)


def _refused(armoured: str, *, now: datetime = NOW) -> str:
    with pytest.raises(ValueError, match=r".") as caught:
        inspect_public_key(armoured, now=now)
    return str(caught.value)


# --- good keys ---------------------------------------------------------------------------------


def test_valid_key_gives_fingerprint_and_the_earlier_encryption_expiry(keys: Keys) -> None:
    info = inspect_public_key(keys.alice, now=NOW)
    assert info.fingerprint == keys.alice_fpr
    assert len(info.fingerprint) == 40
    assert info.fingerprint == info.fingerprint.upper()
    # The encryption subkey (1 year) ends before the primary key (2 years): that date counts.
    assert keys.alice_subkey_expires < keys.alice_expires
    assert info.expires_at == keys.alice_subkey_expires
    assert info.expires_at is not None
    assert info.expires_at.utcoffset() == timedelta(0)
    assert info.user_ids == ("Alice Example <alice@Example.ORG>",)


def test_key_without_expiry_decodes_escaped_user_ids_and_drops_revoked_ones(keys: Keys) -> None:
    info = inspect_public_key(keys.bob, now=NOW + timedelta(days=365 * 50))
    assert info.fingerprint == keys.bob_fpr
    assert info.expires_at is None
    assert info.user_ids == (BOB_UID,)


def test_key_with_windows_line_endings_is_read(keys: Keys) -> None:
    info = inspect_public_key(keys.alice.replace("\n", "\r\n"), now=NOW)
    assert info.fingerprint == keys.alice_fpr


def test_user_gnupghome_is_never_touched_and_the_temp_home_is_removed(
    keys: Keys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    user_home = tmp_path / "user-gnupg"
    user_home.mkdir()
    monkeypatch.setenv("GNUPGHOME", str(user_home))
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: str, **kwargs: str) -> str:
        path = real_mkdtemp(*args, **kwargs)
        made.append(path)
        return path

    monkeypatch.setattr(openpgp.tempfile, "mkdtemp", recording_mkdtemp)
    inspect_public_key(keys.alice, now=NOW)
    with pytest.raises(ValueError, match="holds 2 keys"):
        inspect_public_key(keys.two_keys, now=NOW)
    assert list(user_home.iterdir()) == []
    assert len(made) == 2
    assert all(len(path) < 86 for path in made)
    assert not any(os.path.exists(path) for path in made)


# --- refused keys ------------------------------------------------------------------------------


def test_expired_key_names_the_date_and_says_to_extend_or_replace(keys: Keys) -> None:
    later = keys.alice_expires + timedelta(days=1)
    message = _refused(keys.alice, now=later)
    assert "expired on " + keys.alice_expires.date().isoformat() in message
    assert "extend" in message
    assert "new key" in message


def test_key_expired_by_the_real_clock_is_refused(keys: Keys) -> None:
    message = _refused(keys.long_expired)
    # Made on 2020-01-01 with a one-year (365-day) expiry.
    assert "expired on 2020-12-31" in message


def test_expired_encryption_subkey_means_it_cannot_encrypt(keys: Keys) -> None:
    between = keys.alice_subkey_expires + timedelta(days=1)
    assert between < keys.alice_expires
    assert "cannot be used to encrypt" in _refused(keys.alice, now=between)


def test_signing_only_key_cannot_encrypt(keys: Keys) -> None:
    message = _refused(keys.signing_only)
    assert "cannot be used to encrypt" in message
    assert "--quick-add-key" in message


def test_revoked_key_is_refused(keys: Keys) -> None:
    message = _refused(keys.revoked)
    assert "has been revoked by its owner" in message
    assert "current key" in message
    assert keys.revoked_fpr in message


def test_key_whose_encryption_subkey_is_revoked_cannot_encrypt(keys: Keys) -> None:
    assert "cannot be used to encrypt" in _refused(keys.subkey_revoked)


def test_two_keys_in_one_block_are_refused_with_the_count(keys: Keys) -> None:
    message = _refused(keys.two_keys)
    assert "holds 2 keys" in message


def test_two_armoured_blocks_are_refused_with_the_count(keys: Keys) -> None:
    assert "holds 2 keys" in _refused(keys.alice + "\n" + keys.bob)


def test_private_key_is_refused_with_a_warning(keys: Keys) -> None:
    message = _refused(keys.private)
    assert "PRIVATE" in message
    assert "never send a private key" in message


def test_private_key_under_a_public_armour_header_is_refused_too(keys: Keys) -> None:
    assert "never send a private key" in _refused(keys.private_as_public)


@pytest.mark.parametrize(
    "text",
    [
        "hello, here is my key: 0xDEADBEEF",
        "",
        "-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n",
    ],
)
def test_text_that_is_not_armour_is_refused(text: str) -> None:
    message = _refused(text)
    assert "is not an ASCII-armoured OpenPGP public key" in message
    assert "gpg --armor --export ADDRESS" in message


def test_binary_key_is_refused_as_not_armoured(keys: Keys) -> None:
    message = _refused(keys.binary.decode("latin-1"))
    assert "is not an ASCII-armoured OpenPGP public key" in message


def test_garbage_inside_the_armour_is_refused() -> None:
    text = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nhello world\n-----END PGP PUBLIC KEY BLOCK-----"
    message = _refused(text)
    assert "holds no OpenPGP public key that gpg can read" in message
    assert "gpg --armor --export ADDRESS" in message


def test_damaged_armour_is_refused_as_damaged(keys: Keys) -> None:
    lines = keys.alice.splitlines()
    body = next(i for i, line in enumerate(lines) if len(line) == 64)
    lines[body] = lines[body][:10] + ("B" if lines[body][10] == "A" else "A") + lines[body][11:]
    message = _refused("\n".join(lines))
    assert "is damaged" in message
    assert "checksum" in message


def test_truncated_armour_says_the_end_line_is_missing(keys: Keys) -> None:
    message = _refused(keys.alice[:300])
    assert "incomplete" in message
    assert "-----END PGP PUBLIC KEY BLOCK-----" in message


def test_text_around_the_armour_is_refused(keys: Keys) -> None:
    assert "outside the armoured block" in _refused("Here is my key:\n" + keys.alice)


def test_oversized_input_is_refused_before_gpg_runs(keys: Keys) -> None:
    padding = "Comment: " + "x" * (65 * 1024) + "\n"
    text = keys.alice.replace("\n\n", "\n" + padding + "\n", 1)
    with pytest.raises(ValueError, match="more than the 64 KiB") as caught:
        # A missing gpg would raise GnuPGError: reaching ValueError proves gpg was not needed.
        inspect_public_key(text, now=NOW, gpg_binary="/nonexistent/gpg")
    assert "export-minimal" in str(caught.value)


def test_missing_gpg_gives_an_install_hint(keys: Keys) -> None:
    with pytest.raises(GnuPGError, match=r"GnuPG \(gpg\) is not installed; install the gnupg"):
        inspect_public_key(keys.alice, now=NOW, gpg_binary="/nonexistent/gpg")


def test_naive_now_is_a_programming_error(keys: Keys) -> None:
    with pytest.raises(TypeError, match="timezone-aware"):
        inspect_public_key(keys.alice, now=datetime(2030, 1, 1))


# --- matching the contact's address ------------------------------------------------------------


def test_key_matches_email_ignores_case_and_reads_the_angle_brackets(keys: Keys) -> None:
    alice = inspect_public_key(keys.alice, now=NOW)
    assert key_matches_email(alice, "alice@example.org")
    assert key_matches_email(alice, "ALICE@EXAMPLE.ORG")
    assert not key_matches_email(alice, "alice@example.com")
    assert not key_matches_email(alice, "mallory@example.org")
    assert not key_matches_email(alice, "not an address")


def test_key_matches_email_skips_revoked_user_ids(keys: Keys) -> None:
    bob = inspect_public_key(keys.bob, now=NOW)
    assert key_matches_email(bob, "bob@example.org")
    assert not key_matches_email(bob, "bob@old.example")


def test_key_matches_email_on_bare_and_idna_user_ids() -> None:
    info = KeyInfo(
        fingerprint="0" * 40,
        expires_at=None,
        user_ids=("soc@Blåbær.example", "Name (work) <x@y.example> trailing"),
    )
    assert key_matches_email(info, "soc@xn--blbr-roah.example")
    assert not key_matches_email(info, "x@y.example")
