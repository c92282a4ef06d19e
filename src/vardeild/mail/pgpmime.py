"""PGP/MIME (RFC 3156): every notice signed by the CERT key, and encrypted to the recipients'
keys when they have them.

A signed message is multipart/signed (§5) over the original body, made 7-bit clean first and
signed in its canonical CRLF form, so that the signature survives any mail server. A message
that is also encrypted is signed first and then encrypted (§6.1, the RFC 1847 encapsulation):
the multipart/signed entity becomes the ciphertext of a multipart/encrypted message, so after
decryption the reader still holds a verifiable signed message. The outer headers (From, To,
Subject, Date, Message-ID, ...) are kept as they are.

Recipients' keys are imported into a throwaway GnuPG home per call, never into the CERT's
keyring, and gpg is told to trust exactly those keys (`--trust-model always`): the registry
vouched for them when the contact was saved.
"""

from __future__ import annotations

import base64
import copy
import email.policy
import quopri
import re
import secrets
import time
from collections.abc import Sequence
from email.message import EmailMessage, Message
from typing import Any

from vardeild.core.errors import VardeildError
from vardeild.mail.cert_key import CertKey
from vardeild.mail.gnupg_home import throwaway_home
from vardeild.settings import Settings

# Serialising with CRLF line ends is the canonical form RFC 3156 signs; lines are folded at 78.
CANONICAL = email.policy.SMTP
_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)


class KeyUnusable(VardeildError):
    """A recipient's key cannot be encrypted to; names the key and says why."""

    def __init__(self, *, fingerprint: str, user_id: str, reason: str) -> None:
        self.fingerprint = fingerprint
        self.user_id = user_id
        self.reason = reason
        who = f"{fingerprint} ({user_id})" if user_id else fingerprint
        super().__init__(
            f"OpenPGP key {who}: {reason}; ask the contact for a current key and update the "
            "contact in the member registry"
        )


class PgpMime:
    """Signs (and encrypts) messages with the CERT's key."""

    def __init__(self, cert_key: CertKey) -> None:
        self.cert_key = cert_key

    def protect(self, message: EmailMessage, *, recipient_keys: Sequence[str]) -> EmailMessage:
        """Return message signed with the CERT key (multipart/signed, RFC 3156 §5); when
        recipient_keys (armoured public keys) are given, signed and then encrypted to all of
        them (multipart/encrypted, §6.1). Outer headers are kept.

        Raises KeyUnusable naming the first key that cannot be encrypted to (expired,
        revoked, without an encryption subkey, damaged); CertKeyError if the CERT cannot sign.
        """
        signed = self._signed_entity(message)
        entity = self._encrypted_entity(signed, recipient_keys) if recipient_keys else signed
        return _with_outer_headers(message, entity)

    def _signed_entity(self, message: EmailMessage) -> EmailMessage:
        inner = _content_entity(message)
        _make_7bit(inner)
        _fix_boundaries(inner)
        signed_bytes = _canonical(inner)
        signature, micalg = self.cert_key.sign_detached(signed_bytes)
        # The parsed copy serialises back to exactly the bytes that were signed.
        body = _parse(signed_bytes)
        sig_part = EmailMessage(policy=CANONICAL)
        sig_part.set_content(
            signature.encode("ascii"),
            maintype="application",
            subtype="pgp-signature",
            cte="7bit",
            disposition="attachment",
            filename="signature.asc",
        )
        sig_part.add_header("Content-Description", "OpenPGP digital signature")
        del sig_part["MIME-Version"]
        signed = EmailMessage(policy=CANONICAL)
        signed["Content-Type"] = "multipart/signed"
        signed.set_param("protocol", "application/pgp-signature")
        signed.set_param("micalg", micalg)
        signed.set_boundary(_boundary("signed"))
        signed.attach(body)
        signed.attach(sig_part)
        return signed

    def _encrypted_entity(
        self, signed: EmailMessage, recipient_keys: Sequence[str]
    ) -> EmailMessage:
        plaintext = _canonical(signed)
        with throwaway_home(gpg_binary=self.cert_key.gpg_binary) as gpg:
            fingerprints = [
                _import_usable(gpg, key, index) for index, key in enumerate(recipient_keys)
            ]
            result = gpg.encrypt(
                plaintext,
                fingerprints,
                armor=True,
                extra_args=["--trust-model", "always", "--compliance", "gnupg"],
            )
            if not result.ok:
                raise KeyUnusable(
                    fingerprint=", ".join(fingerprints),
                    user_id="",
                    reason=f"gpg would not encrypt to it ({result.status or 'no answer'})",
                )
            ciphertext = str(result).encode("ascii")
        control = EmailMessage(policy=CANONICAL)
        control.set_content(
            b"Version: 1\r\n", maintype="application", subtype="pgp-encrypted", cte="7bit"
        )
        control.add_header("Content-Description", "PGP/MIME version identification")
        payload = EmailMessage(policy=CANONICAL)
        payload.set_content(
            ciphertext,
            maintype="application",
            subtype="octet-stream",
            cte="7bit",
            disposition="inline",
            filename="encrypted.asc",
        )
        payload.add_header("Content-Description", "OpenPGP encrypted message")
        for part in (control, payload):
            del part["MIME-Version"]
        encrypted = EmailMessage(policy=CANONICAL)
        encrypted["Content-Type"] = "multipart/encrypted"
        encrypted.set_param("protocol", "application/pgp-encrypted")
        encrypted.set_boundary(_boundary("encrypted"))
        encrypted.preamble = "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"
        encrypted.attach(control)
        encrypted.attach(payload)
        return encrypted


def from_settings(settings: Settings) -> PgpMime:
    """Return the PgpMime signing with the CERT key the settings name."""
    return PgpMime(CertKey.from_settings(settings))


def _content_entity(message: Message) -> EmailMessage:
    """Return a copy of message holding only its MIME content (Content-* headers and body)."""
    inner = copy.deepcopy(message)
    for name in {key.lower() for key in inner}:
        if not name.startswith("content-"):
            del inner[name]
    if "Content-Type" not in inner:
        inner["Content-Type"] = 'text/plain; charset="us-ascii"'
    return _parse(_canonical(inner))


def _make_7bit(entity: Message) -> None:
    """Re-encode every leaf that is not quoted-printable or base64, as RFC 3156 §3 asks: an
    8-bit body, trailing white space or a line starting 'From ' would not survive transport."""
    for part in entity.walk():
        if part.is_multipart():
            continue
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        if cte in {"quoted-printable", "base64"}:
            continue
        raw = part.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
        del part["Content-Transfer-Encoding"]
        if part.get_content_maintype() == "text":
            encoded = quopri.encodestring(data.replace(b"\r\n", b"\n"))
            encoded = _FROM_LINE.sub(b"=46rom ", encoded)
            part.set_payload(encoded.decode("ascii"))
            part["Content-Transfer-Encoding"] = "quoted-printable"
        else:
            part.set_payload(base64.encodebytes(data).decode("ascii"))
            part["Content-Transfer-Encoding"] = "base64"


def _fix_boundaries(entity: Message) -> None:
    # A multipart without a boundary gets a random one each time it is written; fix it once.
    for part in entity.walk():
        if part.is_multipart() and part.get_boundary() is None:
            part.set_boundary(_boundary("part"))


def _canonical(entity: Message) -> bytes:
    return entity.as_bytes(policy=CANONICAL)


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, _class=EmailMessage, policy=CANONICAL)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _with_outer_headers(original: Message, entity: EmailMessage) -> EmailMessage:
    """Return entity under the original's headers, except its Content-* and MIME-Version."""
    outer = EmailMessage(policy=email.policy.default)
    for name, value in original.items():
        lowered = name.lower()
        if lowered.startswith("content-") or lowered == "mime-version":
            continue
        outer[name] = value
    outer["MIME-Version"] = "1.0"
    for name, value in entity.items():
        if name.lower() != "mime-version":
            outer[name] = value
    outer.preamble = entity.preamble
    outer.set_payload(entity.get_payload())
    return outer


def _boundary(kind: str) -> str:
    # "=_" cannot occur in base64 or quoted-printable text, so no body can contain it.
    return f"=_vd-{kind}-{secrets.token_hex(12)}"


def _import_usable(gpg: Any, armoured: str, index: int) -> str:
    """Import one recipient key into the throwaway home; return its fingerprint, or raise
    KeyUnusable naming it and why it cannot be encrypted to."""
    result = gpg.import_keys(armoured)
    fingerprints = sorted(set(result.fingerprints))
    if not fingerprints:
        raise KeyUnusable(
            fingerprint=f"recipient key {index + 1}",
            user_id="",
            reason="is damaged or not an OpenPGP public key (gpg could not read it)",
        )
    if len(fingerprints) > 1:
        raise KeyUnusable(
            fingerprint=", ".join(fingerprints),
            user_id="",
            reason="one block holds several keys; keep only the contact's own key",
        )
    fingerprint = fingerprints[0]
    listed = gpg.list_keys(keys=[fingerprint])
    if not listed:
        raise KeyUnusable(
            fingerprint=fingerprint, user_id="", reason="is damaged (gpg imported no usable key)"
        )
    key = listed[0]
    user_id = (key.get("uids") or [""])[0]
    validity = key.get("trust", "")
    if validity == "r":
        reason = "has been revoked by its owner"
    elif validity == "e":
        reason = f"expired on {_day(key.get('expires'))}"
    elif validity in {"i", "d", "n"}:
        reason = "is damaged or invalid (no valid self-signature)"
    elif "E" not in (key.get("cap") or ""):
        reason = (
            "has no valid encryption subkey (it signs only, or its encryption subkeys have "
            "expired or been revoked)"
        )
    else:
        return str(fingerprint)
    raise KeyUnusable(fingerprint=fingerprint, user_id=user_id, reason=reason)


def _day(value: Any) -> str:
    text = str(value or "")
    if text.isdigit():
        return time.strftime("%Y-%m-%d", time.gmtime(int(text)))
    return text or "an unknown date"
