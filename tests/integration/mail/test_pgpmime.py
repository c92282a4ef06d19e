"""PGP/MIME with the real gpg: what the CERT signs verifies at a member, what it encrypts
decrypts with the member's secret key (in another home) and still carries a good signature,
and keys that cannot be used are refused by name."""

from __future__ import annotations

import email
import email.policy
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from support.pgp_keys import TestKey, damage, gpg
from vardeild.mail.cert_key import CertKey, CertKeyError
from vardeild.mail.pgpmime import KeyUnusable, PgpMime

SUBJECT = "[VARDEILD#42] [TLP:AMBER] Sårbar tjeneste hos Ærlig Øl & Ål AS"
BODY = (
    "Hei,\n\nVi har sett trafikk fra 192.0.2.7 mot tjenesten deres.\n"
    "Linje med mellomrom på slutten   \nFrom the log: æøå ÆØÅ\n.\nVennlig hilsen\n"
)
CSV = "tidspunkt;kilde;mål\n2026-11-28T12:00:00Z;192.0.2.7;vpn.ærlig.example\n".encode()
OUTER = {
    "From": "Test-CERT <cert@vardeild.example>",
    "To": "Ola Nordmann <ola.nordmann@medlem.example>",
    "Cc": "kari@medlem.example",
    "Subject": SUBJECT,
    "Date": "Sat, 28 Nov 2026 12:00:00 +0000",
    "Message-ID": "<notice-42@vardeild.example>",
    "References": "<notice-41@vardeild.example>",
    "In-Reply-To": "<notice-41@vardeild.example>",
    "Reply-To": "cert@vardeild.example",
}


def notice() -> EmailMessage:
    message = EmailMessage()
    for name, value in OUTER.items():
        message[name] = value
    message.set_content(BODY)
    message.add_alternative("<p>Hei, æøå</p>", subtype="html")
    message.add_attachment(CSV, maintype="text", subtype="csv", filename="hendelser-æøå.csv")
    message.add_attachment(
        b'{"events": []}', maintype="application", subtype="json", filename="hendelser.json"
    )
    return message


def wire(message: EmailMessage, *, linesep: str = "\r\n") -> bytes:
    """The message as an SMTP client sends it (or, with \\n, as a mailbox stores it)."""
    return message.as_bytes(policy=email.policy.SMTP.clone(linesep=linesep))


def signed_part(raw: bytes) -> tuple[bytes, bytes]:
    """Return the canonical (CRLF) first part of a multipart/signed message and the
    signature, split at the boundary as RFC 1847 says."""
    canonical = re.sub(rb"\r?\n", b"\r\n", raw)
    parsed = email.message_from_bytes(canonical, policy=email.policy.SMTP)
    boundary = parsed.get_boundary()
    assert boundary is not None
    delimiter = b"\r\n--" + boundary.encode()
    _, _, after_first = canonical.partition(b"--" + boundary.encode() + b"\r\n")
    data, _, _ = after_first.partition(delimiter)
    signature = parsed.get_payload()[1].get_payload(decode=True)
    return data, signature


def verify(home: Path, data: bytes, signature: bytes) -> str:
    """Return gpg's status lines verifying signature over data with the keys in home."""
    with tempfile.TemporaryDirectory() as scratch:
        data_file, sig_file = Path(scratch, "data"), Path(scratch, "data.asc")
        data_file.write_bytes(data)
        sig_file.write_bytes(signature)
        return gpg(
            home, "--status-fd", "1", "--verify", str(sig_file), str(data_file), check=False
        ).decode()


def test_a_signed_notice_verifies_with_the_cert_public_key(
    pgp: PgpMime, cert_key: CertKey, verifier: Path
) -> None:
    protected = pgp.protect(notice(), recipient_keys=[])
    assert protected.get_content_type() == "multipart/signed"
    assert protected.get_param("protocol") == "application/pgp-signature"
    assert protected.get_param("micalg") == "pgp-sha256"
    for linesep in ("\r\n", "\n"):
        data, signature = signed_part(wire(protected, linesep=linesep))
        status = verify(verifier, data, signature)
        assert f"VALIDSIG {cert_key.fingerprint()}" in status, status


def test_a_changed_byte_breaks_the_signature(pgp: PgpMime, verifier: Path) -> None:
    data, signature = signed_part(wire(pgp.protect(notice(), recipient_keys=[])))
    tampered = data.replace(b"192.0.2.7", b"192.0.2.8", 1)
    assert tampered != data
    status = verify(verifier, tampered, signature)
    assert "BADSIG" in status
    assert "VALIDSIG" not in status


def test_the_signed_part_is_7bit_and_the_content_survives(pgp: PgpMime) -> None:
    raw = wire(pgp.protect(notice(), recipient_keys=[]))
    data, _ = signed_part(raw)
    assert all(byte < 128 for byte in data)  # 7-bit clean, as RFC 3156 §3 requires
    assert not re.search(rb"[ \t]\r\n", data)  # no trailing white space to lose in transit
    assert b"\r\nFrom " not in data
    received = email.message_from_bytes(raw, policy=email.policy.default)
    _check_content(received.get_payload()[0])


def test_outer_headers_are_kept(pgp: PgpMime, recipient: TestKey) -> None:
    for keys in ([], [recipient.public]):
        raw = wire(pgp.protect(notice(), recipient_keys=keys))
        received = email.message_from_bytes(raw, policy=email.policy.default)
        for name, value in OUTER.items():
            assert str(received[name]) == value, name
        assert received["MIME-Version"] == "1.0"


def test_an_encrypted_notice_decrypts_only_with_the_recipients_key_and_is_signed(
    pgp: PgpMime, cert_key: CertKey, recipient: TestKey, verifier: Path
) -> None:
    protected = pgp.protect(notice(), recipient_keys=[recipient.public])
    raw = wire(protected)
    assert protected.get_content_type() == "multipart/encrypted"
    assert protected.get_param("protocol") == "application/pgp-encrypted"
    assert b"192.0.2.7" not in raw
    assert b"hendelser" not in raw
    received = email.message_from_bytes(raw, policy=email.policy.default)
    control, payload = received.get_payload()
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_payload().strip() == "Version: 1"
    assert payload.get_content_type() == "application/octet-stream"
    ciphertext = payload.get_payload(decode=True)
    assert ciphertext.startswith(b"-----BEGIN PGP MESSAGE-----")

    # The CERT's public key beside the recipient's secret one, in the recipient's own home.
    gpg(recipient.home, "--import", input=cert_key.export_public())
    plaintext = gpg(recipient.home, "--decrypt", input=ciphertext)
    inner = email.message_from_bytes(plaintext, policy=email.policy.default)
    assert inner.get_content_type() == "multipart/signed"
    data, signature = signed_part(plaintext)
    assert f"VALIDSIG {cert_key.fingerprint()}" in verify(verifier, data, signature)
    _check_content(inner.get_payload()[0])

    # The CERT itself holds no key that decrypts it.
    refused = gpg(cert_key.home, "--decrypt", input=ciphertext, check=False)
    assert refused == b""


def test_encrypted_to_several_recipients_each_can_decrypt(
    pgp: PgpMime, recipient: TestKey, second_recipient: TestKey
) -> None:
    protected = pgp.protect(notice(), recipient_keys=[recipient.public, second_recipient.public])
    received = email.message_from_bytes(wire(protected), policy=email.policy.default)
    ciphertext = received.get_payload()[1].get_payload(decode=True)
    for person in (recipient, second_recipient):
        plaintext = gpg(person.home, "--decrypt", input=ciphertext)
        assert b"multipart/signed" in plaintext


def test_recipient_keys_never_enter_the_cert_keyring(
    pgp: PgpMime, cert_key: CertKey, recipient: TestKey
) -> None:
    pgp.protect(notice(), recipient_keys=[recipient.public])
    listed = [key["fingerprint"] for key in cert_key.gpg.list_keys()]
    assert listed == [cert_key.fingerprint()]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "expired on 2020-12-31"),
        ("revoked", "revoked"),
        ("sign_only", "no valid encryption subkey"),
    ],
)
def test_an_unusable_recipient_key_is_refused_by_name(
    pgp: PgpMime, recipient: TestKey, bad_keys: dict[str, TestKey], kind: str, reason: str
) -> None:
    bad = bad_keys[kind]
    with pytest.raises(KeyUnusable) as caught:
        pgp.protect(notice(), recipient_keys=[recipient.public, bad.public])
    assert caught.value.fingerprint == bad.fingerprint
    assert bad.email in caught.value.user_id
    assert reason in caught.value.reason
    assert bad.fingerprint in str(caught.value)
    assert bad.email in str(caught.value)


def test_a_damaged_recipient_key_is_refused(pgp: PgpMime, recipient: TestKey) -> None:
    for broken in (damage(recipient.public), "not a key at all"):
        with pytest.raises(KeyUnusable, match="recipient key 2: is damaged"):
            pgp.protect(notice(), recipient_keys=[recipient.public, broken])


def test_a_wrong_passphrase_is_a_clear_error(cert_key: CertKey) -> None:
    cert_key.stop_agent()  # forget the cached passphrase
    wrong = CertKey(cert_key.home, passphrase="feil passord")
    with pytest.raises(CertKeyError, match="VARDEILD_PGP_PASSPHRASE"):
        PgpMime(wrong).protect(notice(), recipient_keys=[])


def _check_content(entity: email.message.Message) -> None:
    """The body, the HTML alternative and both attachments arrived as they were sent."""
    assert isinstance(entity, EmailMessage)
    text = entity.get_body(preferencelist=("plain",))
    html = entity.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    # Text travels with CRLF line ends (RFC 2046 §4.1.1); a reader sees lines, not CRs.
    assert text.get_content().replace("\r\n", "\n") == BODY
    assert html.get_content().replace("\r\n", "\n") == "<p>Hei, æøå</p>\n"
    attachments = {
        part.get_filename(): part.get_payload(decode=True) for part in entity.iter_attachments()
    }
    assert attachments["hendelser-æøå.csv"] == CSV
    assert attachments["hendelser.json"] == b'{"events": []}'


def test_an_8bit_body_is_made_7bit_before_signing(pgp: PgpMime, verifier: Path) -> None:
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message.set_content(BODY, cte="8bit")
    message.add_attachment("rå;tekst\n", subtype="csv", cte="8bit", filename="rå.csv")
    raw = wire(pgp.protect(message, recipient_keys=[]))
    data, signature = signed_part(raw)
    assert all(byte < 128 for byte in data)
    assert "VALIDSIG" in verify(verifier, data, signature)
    entity = email.message_from_bytes(raw, policy=email.policy.default).get_payload()[0]
    text, attachment = entity.iter_parts()
    assert text.get_content().replace("\r\n", "\n") == BODY
    assert attachment.get_filename() == "rå.csv"
    assert attachment.get_content().replace("\r\n", "\n") == "rå;tekst\n"
    assert str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"]) == SUBJECT
