"""What the member registry derives from a contact's OpenPGP public key.

The registry stores the armoured key exactly as the contact gave it; `inspect_public_key` checks
that it is one usable public key and derives its fingerprint, the date it stops being usable for
encryption, and its user ids. The real `gpg` does the parsing, run in a throwaway home directory
so that the user's keyring is never read or written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from vardeild.core.errors import VardeildError
from vardeild.core.identifiers import normalise_domain
from vardeild.members.model import KeyInfo

# A public key with a few subkeys and self-signatures is a few KiB; 64 KiB leaves room for many
# third-party signatures while keeping a pasted key from turning into a denial of service.
MAX_KEY_BYTES = 64 * 1024
GPG_TIMEOUT_SECONDS = 15.0

_BEGIN_PUBLIC = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
_END_PUBLIC = "-----END PGP PUBLIC KEY BLOCK-----"
_PRIVATE_MARKERS = ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "-----BEGIN PGP SECRET KEY BLOCK-----")
_EXPORT_HINT = "export it with gpg --armor --export ADDRESS"
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
# gpg --with-colons escapes the delimiter, backslash and control characters C-style.
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[nrfvb0\\])")
_NAMED_ESCAPES = {b"n": b"\n", b"r": b"\r", b"f": b"\f", b"v": b"\v", b"b": b"\b", b"0": b"\0"}
# gpg's own chatter that says nothing about the key; left out of messages shown to a person.
_NOISE = ("no gpg-agent running", "keybox", "trustdb created", "invalid radix64 character")


class GnuPGError(VardeildError, RuntimeError):
    """gpg could not be run (missing, broken or too slow): a problem of the host, not the key."""


@dataclass
class _Key:
    """One primary key or subkey as gpg lists it."""

    validity: str
    expires_at: datetime | None
    capabilities: str
    fingerprint: str = ""


@dataclass
class _Listing:
    """The records of gpg's colon listing that the checks need, in order."""

    primaries: list[_Key] = field(default_factory=list)
    subkeys: list[_Key] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    secret: bool = False


def inspect_public_key(armoured: str, *, now: datetime, gpg_binary: str = "gpg") -> KeyInfo:
    """Return the fingerprint, encryption expiry and user ids of one armoured public key.

    Raises ValueError, with a message saying what to do, when the text is not exactly one
    usable public key at `now`; raises GnuPGError when gpg itself cannot be run.
    """
    if now.utcoffset() is None:
        raise TypeError("now must be a timezone-aware datetime")
    _check_armour(armoured)
    listing = _parse_listing(_run_gpg_show_only(armoured, gpg_binary))
    if listing.secret:
        raise ValueError(_private_key_message())
    if len(listing.primaries) != 1:
        raise ValueError(
            f"holds {len(listing.primaries)} keys, but one contact has one key; "
            f"send only this contact's key ({_EXPORT_HINT})"
        )
    primary = listing.primaries[0]
    if not _FINGERPRINT.fullmatch(primary.fingerprint):
        raise ValueError(
            f"gpg reported no usable fingerprint ({primary.fingerprint or 'none'}); {_EXPORT_HINT}"
        )
    if primary.validity == "r":
        raise ValueError(
            f"key {primary.fingerprint} has been revoked by its owner; ask the contact for their "
            "current key"
        )
    if primary.validity == "i":
        raise ValueError(
            f"key {primary.fingerprint} has no valid self-signature; {_EXPORT_HINT} "
            "and send it again"
        )
    if _expired(primary, now):
        raise ValueError(
            f"key {primary.fingerprint} expired on {_day(primary.expires_at)}; ask the contact to "
            "extend its expiry (gpg --quick-set-expire) or to send a new key"
        )
    encryption = [
        key
        for key in [primary, *listing.subkeys]
        if "e" in key.capabilities and key.validity not in {"r", "i"} and not _expired(key, now)
    ]
    if not encryption:
        raise ValueError(
            f"key {primary.fingerprint} cannot be used to encrypt: it has no valid encryption "
            "subkey (none, or all expired or revoked); ask the contact to add one "
            "(gpg --quick-add-key FINGERPRINT cv25519 encr) and send the key again"
        )
    return KeyInfo(
        fingerprint=primary.fingerprint,
        expires_at=_usable_until(primary, encryption),
        user_ids=tuple(listing.user_ids),
    )


def key_matches_email(info: KeyInfo, email: str) -> bool:
    """Return True if one of the key's user ids carries the e-mail address (case-insensitive)."""
    wanted = _comparable_address(email)
    if wanted is None:
        return False
    return any(_comparable_address(_address_of(uid)) == wanted for uid in info.user_ids)


def _check_armour(armoured: str) -> None:
    """Refuse, before gpg sees it, anything that is not one armoured public-key block."""
    # Checked first: a private key must be refused whatever else is wrong with the text.
    if any(marker in armoured for marker in _PRIVATE_MARKERS):
        raise ValueError(_private_key_message())
    size = len(armoured.encode("utf-8", errors="surrogatepass"))
    if size > MAX_KEY_BYTES:
        raise ValueError(
            f"is {size // 1024} KiB, more than the {MAX_KEY_BYTES // 1024} KiB allowed for a "
            "public key; export it without other people's signatures with gpg --armor "
            "--export-options export-minimal --export ADDRESS"
        )
    text = armoured.strip()
    begin = text.find(_BEGIN_PUBLIC)
    if begin == -1:
        raise ValueError(f"is not an ASCII-armoured OpenPGP public key; {_EXPORT_HINT}")
    end = text.rfind(_END_PUBLIC)
    if end == -1:
        raise ValueError(
            f"is incomplete: the line {_END_PUBLIC} is missing; copy the whole block, "
            f"or {_EXPORT_HINT}"
        )
    if begin != 0 or end + len(_END_PUBLIC) != len(text):
        raise ValueError(
            f"has text outside the armoured block; keep only the lines from {_BEGIN_PUBLIC} "
            f"to {_END_PUBLIC}"
        )


def _private_key_message() -> str:
    return (
        "is a PRIVATE key: never send a private key to anyone. Send the public key instead "
        f"({_EXPORT_HINT}); if the private key left its owner's hands, revoke it and make a new one"
    )


def _run_gpg_show_only(armoured: str, gpg_binary: str) -> bytes:
    """Return gpg's colon listing of the keys in `armoured`, imported nowhere."""
    gpg = shutil.which(gpg_binary)
    if gpg is None:
        raise GnuPGError("GnuPG (gpg) is not installed; install the gnupg package")
    # A short path: gpg's sockets must fit in 108 bytes, and deep temp dirs do not.
    home = tempfile.mkdtemp(prefix="vd-gpg-", dir="/tmp")
    # The C locale keeps gpg's diagnostics in English, as the messages here quote them.
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C"}
    env.pop("GNUPGHOME", None)
    try:
        try:
            completed = subprocess.run(  # noqa: S603  (argument list, no shell)
                [
                    gpg,
                    "--homedir",
                    home,
                    "--batch",
                    "--no-tty",
                    "--no-options",
                    # Listing public keys needs no agent; never start one that could outlive us.
                    "--no-autostart",
                    "--with-colons",
                    "--import-options",
                    "show-only",
                    "--import",
                ],
                input=armoured.encode("utf-8", errors="surrogatepass"),
                capture_output=True,
                timeout=GPG_TIMEOUT_SECONDS,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GnuPGError(
                f"gpg did not answer within {GPG_TIMEOUT_SECONDS:g} s while reading a key"
            ) from exc
        except OSError as exc:
            raise GnuPGError(
                f"GnuPG (gpg) could not be run ({exc}); install the gnupg package"
            ) from exc
    finally:
        _kill_agent(gpg, home)
        shutil.rmtree(home, ignore_errors=True)
    if completed.returncode < 0:
        raise GnuPGError(f"gpg was killed by signal {-completed.returncode} while reading a key")
    if completed.returncode != 0 or not completed.stdout.strip():
        raise ValueError(_unreadable_message(completed.stderr))
    return completed.stdout


def _kill_agent(gpg: str, home: str) -> None:
    """Stop any agent gpg started for `home`, so that none outlives the check."""
    gpgconf = Path(gpg).with_name("gpgconf")
    command = str(gpgconf) if gpgconf.exists() else shutil.which("gpgconf")
    if command is None:
        return
    # With --no-autostart nothing should be running; a failed clean-up must not hide the result.
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(  # noqa: S603  (argument list, no shell)
            [command, "--homedir", home, "--kill", "gpg-agent"],
            capture_output=True,
            timeout=GPG_TIMEOUT_SECONDS,
            check=False,
        )


def _unreadable_message(stderr: bytes) -> str:
    lines = [
        line.removeprefix("gpg:").strip()
        for line in stderr.decode("utf-8", errors="replace").splitlines()
        if line.strip() and not any(noise in line for noise in _NOISE)
    ]
    if any("CRC error" in line for line in lines):
        return (
            "is damaged: the armour's checksum does not match, so the text was changed or cut "
            f"while being copied; {_EXPORT_HINT} and send the file as it is"
        )
    reason = f" (gpg: {lines[0][:200]})" if lines else ""
    return f"holds no OpenPGP public key that gpg can read{reason}; {_EXPORT_HINT}"


def _parse_listing(stdout: bytes) -> _Listing:
    """Read gpg's --with-colons records (see GnuPG's doc/DETAILS)."""
    listing = _Listing()
    last: _Key | None = None
    for raw in stdout.splitlines():
        fields = raw.split(b":")
        kind = fields[0].decode("ascii", errors="replace")
        if kind in {"pub", "sec", "sub", "ssb"}:
            last = _Key(
                validity=_field(fields, 1),
                expires_at=_timestamp(_field(fields, 6)),
                capabilities=_field(fields, 11),
            )
            if kind in {"pub", "sec"}:
                listing.primaries.append(last)
            else:
                listing.subkeys.append(last)
            listing.secret = listing.secret or kind in {"sec", "ssb"}
        elif kind == "fpr" and last is not None and not last.fingerprint:
            last.fingerprint = _field(fields, 9).upper()
        elif kind == "uid" and _field(fields, 1) not in {"r", "i"}:
            # Revoked or invalid user ids no longer speak for the key's owner.
            listing.user_ids.append(_unescape(fields[9] if len(fields) > 9 else b""))
    return listing


def _field(fields: list[bytes], index: int) -> str:
    return fields[index].decode("utf-8", errors="replace") if len(fields) > index else ""


def _unescape(value: bytes) -> str:
    def replace(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code.startswith(b"x"):
            return bytes([int(code[1:], 16)])
        return _NAMED_ESCAPES.get(code, code)

    # User ids are UTF-8 by the standard; a broken one is shown, not refused.
    return _ESCAPE.sub(replace, value).decode("utf-8", errors="replace")


def _timestamp(value: str) -> datetime | None:
    """gpg writes seconds since the epoch, or ISO 8601 basic form under --fixed-list-mode."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value), tz=UTC)
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def _expired(key: _Key, now: datetime) -> bool:
    # Judged against `now`, not gpg's own 'e' flag, so callers (and tests) choose the moment.
    return key.expires_at is not None and key.expires_at <= now


def _usable_until(primary: _Key, encryption: list[_Key]) -> datetime | None:
    """Return when the key stops being usable for encryption, None if it never does.

    That is the earlier of the primary key's expiry and the latest expiry among the valid
    encryption (sub)keys (a sender picks any of them while one is valid); this is the date a
    notice to the contact can no longer be encrypted, which is what the registry warns about.
    """
    ends = [key.expires_at for key in encryption]
    subkeys_end = None if None in ends else max(end for end in ends if end is not None)
    candidates = [end for end in (primary.expires_at, subkeys_end) if end is not None]
    return min(candidates) if candidates else None


def _address_of(user_id: str) -> str:
    """Return the address of 'Name (comment) <addr>', or the user id itself if it is bare."""
    if "<" in user_id and user_id.rstrip().endswith(">"):
        return user_id[user_id.rfind("<") + 1 : user_id.rstrip().rfind(">")]
    return user_id


def _comparable_address(text: str) -> str | None:
    # The domain is lower-cased and IDNA-encoded as the registry stores contacts (a user id may
    # carry the Unicode form); the local part is compared case-insensitively too, since mail
    # systems in practice ignore its case and this only decides whether to warn.
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or any(ch.isspace() or ch in "<>," for ch in local):
        return None
    try:
        return f"{local.casefold()}@{normalise_domain(domain)}"
    except ValueError:
        return None


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else "an unknown date"
