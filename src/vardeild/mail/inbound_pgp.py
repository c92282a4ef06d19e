"""OpenPGP on inbound mail: decrypting with the CERT's key, verifying signatures against the
keys of the member registry's contacts.

Signatures are verified in a throwaway GnuPG home, never in the CERT's keyring: gpg first
says which key made the signature (the issuer's fingerprint or key id), then only the contact
keys that match it are imported and the signature is checked again. A signature by a key the
registry does not (yet) hold is "unknown_key", remembered with the key's id so that it can be
verified again when the key arrives.

A message both signed and encrypted in one OpenPGP message (RFC 3156 §6.2, and inline PGP)
is decrypted in the CERT's home, which holds no contact keys; its signature is then checked
in a throwaway home by decrypting again with the message's session key (`--show-session-key`
/ `--override-session-key`), so the CERT's secret key never leaves its home.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vardeild.mail.cert_key import CertKey
from vardeild.mail.gnupg_home import throwaway_home

# Armoured public keys of the contacts whose key has this fingerprint or ends in this key id.
KeyLookup = Callable[[str], list[str]]

_STATUS = re.compile(r"^\[GNUPG:\] (\S+) ?(.*)$", re.MULTILINE)
# Every gpg of ours writes user ids in UTF-8 (gnupg_home.DISPLAY_UTF8).
_TRUST_ALWAYS = ["--trust-model", "always"]


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signature: status, the key that made it, and gpg's words."""

    status: str  # good, bad, unknown_key, expired_key, revoked_key, error or none
    key: str = ""  # fingerprint when known, else the 16-hex-digit key id
    detail: str = ""

    @property
    def describe(self) -> str:
        """Return the verdict as a person reads it ("unknown key <fpr>", "good signature")."""
        if self.status == "unknown_key":
            return f"unknown key {self.key}"
        if self.status == "none":
            return "not signed"
        return f"{self.status.replace('_', ' ')} signature by {self.key}".strip()


NOT_SIGNED = SignatureCheck("none")


@dataclass(frozen=True)
class Decryption:
    """The outcome of decrypting: the plaintext (empty on failure), why it failed, whether
    the OpenPGP message also carried a signature, and its session key to verify that later."""

    ok: bool
    plaintext: bytes
    detail: str
    signed: bool
    session_key: str


def decrypt(cert_key: CertKey, data: bytes, *, max_bytes: int) -> Decryption:
    """Return data decrypted with the CERT's key (never raises for a bad message: a failure
    is ok=False with gpg's reason). A plaintext past max_bytes (a compression bomb inside
    the OpenPGP message) is refused: gpg stops at --max-output and nothing more is kept."""
    gpg = cert_key.gpg
    received = [0]

    def bounded(chunk: bytes) -> bool:
        received[0] += len(chunk)
        return received[0] <= max_bytes

    gpg.on_data = bounded
    try:
        result = gpg.decrypt(
            data,
            passphrase=cert_key.passphrase,
            extra_args=[
                "--show-session-key",
                "--max-output",
                str(max_bytes + 1),
                *_TRUST_ALWAYS,
            ],
        )
    finally:
        gpg.on_data = None
    statuses = _statuses(result)
    session_key = next((rest.split()[0] for name, rest in statuses if name == "SESSION_KEY"), "")
    signed = any(name in _SIGNATURE_WORDS for name, _ in statuses)
    if received[0] > max_bytes or "exceeded --max-output" in str(result.stderr or ""):
        return Decryption(
            False,
            b"",
            f"mail bomb: the decrypted message is larger than {max_bytes:,} bytes "
            "(mail_inbound_max_bytes)",
            signed,
            "",
        )
    if not result.ok:
        return Decryption(False, b"", _reason(result, statuses), signed, session_key)
    return Decryption(True, bytes(result.data or b""), "", signed, session_key)


def verify_detached(
    data: bytes, signature: bytes, *, keys: KeyLookup, gpg_binary: str = "gpg"
) -> SignatureCheck:
    """Return the verdict on a detached signature of data (multipart/signed, RFC 3156 §5)."""

    def run(gpg: Any) -> Any:
        sig_path = Path(gpg.gnupghome) / "signature.asc"
        sig_path.write_bytes(signature)
        return gpg.verify_data(str(sig_path), data, extra_args=_TRUST_ALWAYS)

    return _verify(run, keys=keys, gpg_binary=gpg_binary)


def verify_inline(
    data: bytes, *, keys: KeyLookup, gpg_binary: str = "gpg"
) -> tuple[SignatureCheck, bytes]:
    """Return the verdict on a clear-signed (or inline signed) text and the text signed."""
    plaintext: list[bytes] = []

    def run(gpg: Any) -> Any:
        result = gpg.decrypt(data, extra_args=_TRUST_ALWAYS)
        plaintext[:] = [bytes(result.data or b"")]
        return result

    check = _verify(run, keys=keys, gpg_binary=gpg_binary)
    return check, (plaintext[0] if plaintext else b"")


def verify_decrypted(
    data: bytes, session_key: str, *, keys: KeyLookup, gpg_binary: str = "gpg"
) -> SignatureCheck:
    """Return the verdict on the signature inside an encrypted OpenPGP message, decrypting
    it with its session key in a throwaway home (no secret key needed there)."""
    if not session_key:
        return SignatureCheck("error", "", "no session key to check the signature with")

    def run(gpg: Any) -> Any:
        # The session key opens this one message only, whose plaintext is stored anyway.
        return gpg.decrypt(data, extra_args=["--override-session-key", session_key, *_TRUST_ALWAYS])

    return _verify(run, keys=keys, gpg_binary=gpg_binary)


_SIGNATURE_WORDS = {
    "GOODSIG",
    "BADSIG",
    "ERRSIG",
    "EXPSIG",
    "EXPKEYSIG",
    "REVKEYSIG",
    "VALIDSIG",
    "NO_PUBKEY",
}


def _verify(run: Callable[[Any], Any], *, keys: KeyLookup, gpg_binary: str) -> SignatureCheck:
    with throwaway_home(gpg_binary=gpg_binary) as gpg:
        first = _verdict(_statuses(run(gpg)))
        if first.status != "unknown_key" or not first.key:
            return first
        imported = False
        for armoured in keys(first.key):
            result = gpg.import_keys(armoured)
            imported = imported or bool(result.fingerprints)
        if not imported:
            return first
        return _verdict(_statuses(run(gpg)))


def _verdict(statuses: list[tuple[str, str]]) -> SignatureCheck:
    words = dict(statuses)
    if "VALIDSIG" in words and "GOODSIG" in words:
        # VALIDSIG names the signing (sub)key first and the primary key last; the registry
        # knows contacts by their primary key's fingerprint.
        fields = words["VALIDSIG"].split()
        return SignatureCheck("good", fields[-1] if len(fields) >= 10 else fields[0],
                              "GOODSIG " + words["GOODSIG"])  # fmt: skip
    for name, status in (
        ("EXPKEYSIG", "expired_key"),
        ("REVKEYSIG", "revoked_key"),
        ("EXPSIG", "expired_key"),
        ("BADSIG", "bad"),
    ):
        if name in words:
            valid = words.get("VALIDSIG", "").split()[:1]
            key = valid[0] if valid else words[name].split()[0]
            return SignatureCheck(status, key, f"{name} {words[name]}")
    if "ERRSIG" in words:
        fields = words["ERRSIG"].split()
        key_id = fields[0] if fields else ""
        rc = fields[5] if len(fields) > 5 else ""
        fingerprint = fields[6] if len(fields) > 6 and fields[6] != "-" else ""
        status = "unknown_key" if rc == "9" or "NO_PUBKEY" in words else "error"
        return SignatureCheck(status, fingerprint or key_id, "ERRSIG " + words["ERRSIG"])
    if "NODATA" in words or "BADARMOR" in words:
        return SignatureCheck("error", "", "gpg found no signature it could read")
    return NOT_SIGNED


def _statuses(result: Any) -> list[tuple[str, str]]:
    text = str(getattr(result, "stderr", "") or "")
    return [(match.group(1), match.group(2).strip()) for match in _STATUS.finditer(text)]


def _reason(result: Any, statuses: list[tuple[str, str]]) -> str:
    words = dict(statuses)
    if "NO_SECKEY" in words:
        return f"encrypted to a key the CERT does not hold ({words['NO_SECKEY']})"
    if "NODATA" in words or "BADARMOR" in words:
        return "no OpenPGP data gpg could read"
    lines = [
        line.removeprefix("gpg:").strip()
        for line in str(getattr(result, "stderr", "") or "").splitlines()
        if line.startswith("gpg:")
    ]
    return (lines[-1] if lines else "") or str(getattr(result, "status", "") or "gpg failed")


def subkey_owners(armoured_keys: list[str], *, gpg_binary: str = "gpg") -> dict[str, str]:
    """Return {subkey fingerprint and key id: primary fingerprint} for the given keys (read
    in a throwaway home), so a signature by a signing subkey finds its contact's key."""
    owners: dict[str, str] = {}
    if not armoured_keys:
        return owners
    with throwaway_home(gpg_binary=gpg_binary) as gpg:
        gpg.import_keys("\n".join(armoured_keys))
        for key in gpg.list_keys():
            primary = str(key.get("fingerprint") or "").upper()
            for subkey in key.get("subkeys") or []:
                for name in (subkey[0], subkey[2] if len(subkey) > 2 else ""):
                    if name:
                        owners[str(name).upper()] = primary
    return owners
