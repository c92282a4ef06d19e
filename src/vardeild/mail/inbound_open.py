"""Reading a kept inbound message: within bounds, decrypted with the CERT's key, its
signature checked against the member registry's keys, and whether a machine sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from vardeild.access.model import SYSTEM
from vardeild.incidents.attachments import EvidenceStore
from vardeild.incidents.config import evidence_store
from vardeild.mail.cert_key import CertKey
from vardeild.mail.inbound_mime import (
    Content,
    MailLimits,
    MailRefused,
    check_size,
    header_text,
    multipart_bodies,
    parse_message,
    read_content,
)
from vardeild.mail.inbound_pgp import (
    NOT_SIGNED,
    KeyLookup,
    SignatureCheck,
    decrypt,
    subkey_owners,
    verify_decrypted,
    verify_detached,
    verify_inline,
)
from vardeild.members import service as members
from vardeild.members.key_expiry import list_contact_keys
from vardeild.settings import Settings

_PGP_MESSAGE = "-----BEGIN PGP MESSAGE-----"
_PGP_SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"


class Undecryptable(Exception):
    """An encrypted message the CERT's key cannot open; says why."""


@dataclass
class IntakeParts:
    """What processing needs besides the database: bounds, the CERT key, gpg."""

    limits: MailLimits
    cert_key: CertKey | None
    gpg_binary: str = "gpg"
    evidence: EvidenceStore | None = None  # where attachments become case evidence


def intake_parts(settings: Settings) -> IntakeParts:
    """Return what processing needs, as the settings describe it (the CERT's key decrypts)."""
    return IntakeParts(
        limits=MailLimits.from_settings(settings),
        cert_key=CertKey.from_settings(settings),
        gpg_binary=settings.gpg_binary,
        evidence=evidence_store(settings),
    )


@dataclass
class Opened:
    """A message read: its content, whether it was encrypted, the signature's verdict."""

    message: EmailMessage
    content: Content
    encrypted: bool = False
    signature: SignatureCheck = NOT_SIGNED
    problems: list[str] = field(default_factory=list)


def open_message(raw: bytes, parts: IntakeParts, keys: KeyLookup) -> Opened:
    """Return raw read within bounds, decrypted and its signature checked. Raises
    MailRefused (a bound exceeded, unreadable) or Undecryptable."""
    limits = parts.limits
    check_size(raw, limits)
    message = parse_message(raw)
    entity: EmailMessage = message
    entity_bytes = raw
    encrypted = False
    signature = NOT_SIGNED
    problems: list[str] = []
    if message.get_content_type() == "multipart/encrypted":
        ciphertext = _pgp_mime_ciphertext(message)
        decryption = _decrypt(parts, ciphertext)
        encrypted = True
        entity_bytes = decryption.plaintext
        check_size(entity_bytes, limits)
        entity = parse_message(entity_bytes)
        if decryption.signed:
            signature = verify_decrypted(
                ciphertext, decryption.session_key, keys=keys, gpg_binary=parts.gpg_binary
            )
    if entity.get_content_type() == "multipart/signed":
        signature = _verify_signed(entity_bytes, entity, keys, parts.gpg_binary, problems)
    content = read_content(entity, limits)
    inline_signature = _open_inline(content, parts, keys, problems)
    if inline_signature is not None:
        encrypted = encrypted or inline_signature[1]
        if signature is NOT_SIGNED:
            signature = inline_signature[0]
    return Opened(message, content, encrypted, signature, problems + content.problems)


def _pgp_mime_ciphertext(message: EmailMessage) -> bytes:
    payload = message.get_payload()
    if not isinstance(payload, list) or len(payload) != 2:
        raise MailRefused(
            "malformed PGP/MIME: multipart/encrypted must hold exactly two parts (RFC 3156 §4)"
        )
    part = payload[1]
    data = part.get_payload(decode=True) if isinstance(part, EmailMessage) else None
    if not isinstance(data, bytes) or not data.strip():
        raise MailRefused("malformed PGP/MIME: the encrypted part is empty")
    return data


def _decrypt(parts: IntakeParts, ciphertext: bytes) -> Any:
    if parts.cert_key is None:
        raise Undecryptable("encrypted, but the CERT has no key configured to decrypt it")
    decryption = decrypt(parts.cert_key, ciphertext, max_bytes=parts.limits.max_bytes)
    if not decryption.ok:
        if decryption.detail.startswith("mail bomb"):
            raise MailRefused(decryption.detail)
        raise Undecryptable(f"cannot be decrypted: {decryption.detail}")
    return decryption


def _verify_signed(
    entity_bytes: bytes,
    entity: EmailMessage,
    keys: KeyLookup,
    gpg_binary: str,
    problems: list[str],
) -> SignatureCheck:
    _, bodies = multipart_bodies(entity_bytes)
    payload = entity.get_payload()
    if len(bodies) < 2 or not isinstance(payload, list) or len(payload) < 2:
        problems.append("malformed PGP/MIME: multipart/signed without its two parts")
        return SignatureCheck("error", "", "multipart/signed without its two parts")
    part = payload[1]
    signature = part.get_payload(decode=True) if isinstance(part, EmailMessage) else None
    if not isinstance(signature, bytes):
        return SignatureCheck("error", "", "the signature part is empty")
    return verify_detached(bodies[0], signature, keys=keys, gpg_binary=gpg_binary)


def _open_inline(
    content: Content, parts: IntakeParts, keys: KeyLookup, problems: list[str]
) -> tuple[SignatureCheck, bool] | None:
    """Decrypt or verify inline PGP in the text parts, in place; return the (first)
    signature verdict and whether anything was encrypted, or None if there was no PGP."""
    found: tuple[SignatureCheck, bool] | None = None
    for index, text in enumerate(content.text_parts):
        if _PGP_MESSAGE in text:
            block = text[text.index(_PGP_MESSAGE) :].encode("utf-8", "replace")
            try:
                decryption = _decrypt(parts, block)
            except Undecryptable as exc:
                problems.append(f"inline PGP message {exc}")
                continue
            check = NOT_SIGNED
            if decryption.signed:
                check = verify_decrypted(
                    block, decryption.session_key, keys=keys, gpg_binary=parts.gpg_binary
                )
            plain = decryption.plaintext.decode("utf-8", "replace")
            content.text_parts[index] = text[: text.index(_PGP_MESSAGE)] + plain
            found = found or (check, True)
        elif _PGP_SIGNED in text:
            block = text[text.index(_PGP_SIGNED) :].encode("utf-8", "replace")
            check, signed_text = verify_inline(block, keys=keys, gpg_binary=parts.gpg_binary)
            if signed_text:
                content.text_parts[index] = signed_text.decode("utf-8", "replace")
            found = found or (check, False)
    return found


def automatic_reason(message: EmailMessage, envelope_from: str) -> str:
    """Return why message was sent by a machine (RFC 3834 Auto-Submitted, a delivery or
    read report, Precedence bulk/junk/auto_reply), or '' for a person's message."""
    submitted = header_text(message, "Auto-Submitted", limit=100).lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted}"
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report"
    precedence = header_text(message, "Precedence", limit=50).lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if envelope_from == "<>":
        return "a bounce (empty envelope sender)"
    return ""


def registry_keys(session: Session, *, gpg_binary: str = "gpg") -> KeyLookup:
    """Return a lookup of contacts' armoured public keys by the fingerprint or key id of the
    key that signed: the registry knows each contact's primary key; a signing subkey is
    matched through the contacts' keys themselves, read once on the first miss."""
    watched = list_contact_keys(session)
    subkeys: dict[str, str] | None = None

    def armoured_of(primary: str) -> list[str]:
        found: list[str] = []
        for item in watched:
            if item.fingerprint.upper() != primary or item.organisation_id is None:
                continue
            organisation = members.get_organisation_or_raise(session, SYSTEM, item.organisation_id)
            for contact in organisation.get("contacts", []):
                if str(contact.get("email", "")).lower() == item.owner.lower():
                    armoured = str(contact.get("pgp_key") or "")
                    if armoured and armoured not in found:
                        found.append(armoured)
        return found

    def lookup(key: str) -> list[str]:
        nonlocal subkeys
        wanted = key.upper()
        primaries = {
            item.fingerprint.upper()
            for item in watched
            if item.fingerprint and item.fingerprint.upper().endswith(wanted)
        }
        if not primaries and watched:
            if subkeys is None:
                every = [a for item in {w.fingerprint.upper() for w in watched if w.fingerprint}
                         for a in armoured_of(item)]  # fmt: skip
                subkeys = subkey_owners(every, gpg_binary=gpg_binary)
            owner = subkeys.get(wanted) or next(
                (p for s, p in subkeys.items() if len(wanted) == 16 and s.endswith(wanted)), None
            )
            primaries = {owner} if owner else set()
        return [armoured for primary in sorted(primaries) for armoured in armoured_of(primary)]

    return lookup
