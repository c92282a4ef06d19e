"""The CERT's own key with the real gpg: made, imported, exported, chosen and protected."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from support.pgp_keys import gpg, key_home, make_key
from vardeild.core.errors import Conflict
from vardeild.mail.cert_key import CertKey, CertKeyError, CertKeyMissing, ensure_demo_key
from vardeild.mail.pgpmime import from_settings
from vardeild.settings import Settings


def test_generate_makes_a_private_home_and_an_ed25519_key() -> None:
    with key_home() as root:
        key = CertKey(root / "gnupg", passphrase="hemmelig")
        info = key.generate(name="HelseCERT", email="Cert@HelseCERT.example", valid_days=90)
        key.stop_agent()
        assert (root / "gnupg").stat().st_mode & 0o777 == 0o700
        # A moderate S2K count, so that the agent does not spend ~0.3 s per signature.
        assert "s2k-count 1048576" in (root / "gnupg" / "gpg-agent.conf").read_text()
        assert info.algorithm == "ed25519"
        assert info.user_ids == ("HelseCERT <Cert@HelseCERT.example>",)
        assert info.emails == ("cert@helsecert.example",)
        assert info.expires_at is not None
        lifetime = info.expires_at - info.created_at
        assert timedelta(days=89) < lifetime <= timedelta(days=90)
        listing = gpg(root / "gnupg", "--with-colons", "--list-keys").decode()
        assert ":ed25519:" in listing
        assert ":cv25519:" in listing  # the encryption subkey
        # The secret key is protected: exporting it without the passphrase fails.
        assert gpg(root / "gnupg", "--armor", "--export-secret-keys", check=False) == b""


def test_a_second_key_needs_new_and_then_a_fingerprint() -> None:
    with key_home() as root:
        key = CertKey(root / "gnupg")
        first = key.generate(name="CERT", email="cert@x.example")
        with pytest.raises(Conflict, match=first.fingerprint):
            key.generate(name="CERT", email="cert@x.example")
        second = key.generate(name="CERT", email="cert@x.example", replace=True)
        with pytest.raises(CertKeyMissing, match="VARDEILD_PGP_KEY_FINGERPRINT"):
            key.info()
        chosen = CertKey(root / "gnupg", fingerprint=second.fingerprint.lower())
        assert chosen.fingerprint() == second.fingerprint
        missing = CertKey(root / "gnupg", fingerprint="0" * 40)
        with pytest.raises(CertKeyMissing, match="no secret key with this fingerprint"):
            missing.info()
        key.stop_agent()


def test_export_and_import_keep_the_key_and_its_passphrase() -> None:
    with key_home() as old_root, key_home() as new_root:
        old = CertKey(old_root / "gnupg", passphrase="gammel frase")
        made = old.generate(name="CERT", email="cert@x.example")
        backup = old.export_secret()
        assert backup.startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
        old.stop_agent()
        new = CertKey(new_root / "gnupg", passphrase="gammel frase")
        assert new.import_key(backup).fingerprint == made.fingerprint
        assert new.export_public() == old.export_public()
        signature, micalg = new.sign_detached(b"hei\r\n")
        assert micalg == "pgp-sha256"
        assert signature.startswith("-----BEGIN PGP SIGNATURE-----")
        new.stop_agent()


def test_import_refuses_a_public_key_and_garbage() -> None:
    with key_home() as root, key_home() as other:
        someone = make_key(other, "someone@x.example")
        key = CertKey(root / "gnupg")
        with pytest.raises(CertKeyError, match="only a public key"):
            key.import_key(someone.public.encode())
        with pytest.raises(CertKeyError, match="no OpenPGP key gpg can read"):
            key.import_key(b"hello")
        with pytest.raises(CertKeyMissing, match="vardeild pgp generate"):
            key.info()


def test_settings_name_the_home_and_the_passphrase_file(tmp_path: Path) -> None:
    with key_home() as root:
        secret = tmp_path / "passphrase"
        secret.write_text("fra fil\n", encoding="utf-8")
        settings = Settings(data_dir=tmp_path, pgp_home=root / "g", pgp_passphrase_file=secret)
        key = CertKey.from_settings(settings)
        assert key.home == root / "g"
        assert key.passphrase == "fra fil"
        assert ensure_demo_key(settings).fingerprint == ensure_demo_key(settings).fingerprint
        assert len(key.gpg.list_keys(secret=True)) == 1
        message = EmailMessage()
        message["Subject"] = "test"
        message.set_content("hei")
        signed = from_settings(settings).protect(message, recipient_keys=[])
        assert signed.get_content_type() == "multipart/signed"
        assert b"BEGIN PGP SIGNATURE" in signed.as_bytes(policy=email.policy.SMTP)
        key.stop_agent()
        unreadable = Settings(data_dir=tmp_path, pgp_passphrase_file=tmp_path / "absent")
        with pytest.raises(CertKeyError, match="pgp_passphrase_file"):
            CertKey.from_settings(unreadable)


def test_an_expired_cert_key_cannot_sign() -> None:
    with key_home() as root:
        home = root / "gnupg"
        home.mkdir(mode=0o700)
        make_key(home, "cert@x.example", expire="1y", faked_time="20200101T000000")
        key = CertKey(home)
        info = key.info()
        assert info.expires_at is not None
        assert info.expires_at < datetime.now(UTC)
        with pytest.raises(CertKeyError, match="has not expired"):
            key.sign_detached(b"hei\r\n")
        key.stop_agent()


@pytest.mark.slow
def test_rsa3072_when_asked() -> None:
    with key_home() as root:
        key = CertKey(root / "gnupg")
        info = key.generate(name="CERT", email="cert@x.example", algorithm="rsa3072")
        key.stop_agent()
        assert info.algorithm == "rsa3072"


def test_a_key_without_passphrase_signs_every_line(tmp_path: Path) -> None:
    # python-gnupg reads the passphrase from the data's first line when given "" for one.
    with key_home() as root:
        key = CertKey(root / "gnupg")
        key.generate(name="CERT", email="cert@x.example")
        data = b"Content-Type: text/plain\r\n\r\nfirst line\r\nsecond line\r\n"
        signature, _ = key.sign_detached(data)
        (tmp_path / "data").write_bytes(data)
        (tmp_path / "data.asc").write_text(signature, encoding="ascii")
        status = gpg(
            root / "gnupg",
            "--status-fd",
            "1",
            "--verify",
            str(tmp_path / "data.asc"),
            str(tmp_path / "data"),
        ).decode()
        assert f"VALIDSIG {key.fingerprint()}" in status
        signed = key.clearsign("# first line\nContact: mailto:cert@x.example\n")
        assert "\n# first line\nContact: mailto:cert@x.example\n-----BEGIN PGP SIGNATURE" in signed
        protected = CertKey(root / "gnupg-with-passphrase", passphrase="x")
        protected.generate(name="CERT", email="cert@x.example")
        protected.stop_agent()
        without = CertKey(root / "gnupg-with-passphrase")
        with pytest.raises(CertKeyError, match="VARDEILD_PGP_PASSPHRASE"):
            without.sign_detached(data)
        key.stop_agent()
        without.stop_agent()
