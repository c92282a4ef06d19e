"""The CERT's own OpenPGP key: made or imported once, kept in a private GnuPG home, used to
sign every notice and security.txt, and published for members to verify them with.

ed25519 (signing, certifying) with a cv25519 encryption subkey is the default: signatures are
64 bytes and fast to make (every notice is signed), the published key is a few hundred bytes,
and every OpenPGP implementation in use today (GnuPG >= 2.1 from 2014, Thunderbird, Sequoia,
OpenPGP.js, GopenPGP) reads it. rsa3072 is there for correspondents on older software.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import gnupg

from vardeild.core.errors import Conflict, NotFound, VardeildError
from vardeild.mail.gnupg_home import open_home, stop_agent
from vardeild.settings import Settings

Algorithm = Literal["ed25519", "rsa3072"]

# Hash algorithm ids of RFC 4880 §9.4, as RFC 3156 names them in micalg.
MICALG = {2: "pgp-sha1", 8: "pgp-sha256", 9: "pgp-sha384", 10: "pgp-sha512", 11: "pgp-sha224"}
_DIGEST = "SHA256"
AGENT_S2K_COUNT = 1_048_576  # iterations of the passphrase's S2K (see _configure_agent)

_KEY_PARAMETERS: dict[str, str] = {
    "ed25519": (
        "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\n"
        "Subkey-Type: ecdh\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n"
    ),
    "rsa3072": (
        "Key-Type: RSA\nKey-Length: 3072\nKey-Usage: sign\n"
        "Subkey-Type: RSA\nSubkey-Length: 3072\nSubkey-Usage: encrypt\n"
    ),
}


class CertKeyMissing(NotFound):
    """The CERT has no usable key of its own yet."""


class CertKeyError(VardeildError):
    """The CERT's key could not be used (wrong passphrase, expired, gpg refused)."""


@dataclass(frozen=True)
class CertKeyInfo:
    """What the CERT's key is: its fingerprint, user ids and lifetime."""

    fingerprint: str
    user_ids: tuple[str, ...]
    algorithm: str
    created_at: datetime
    expires_at: datetime | None
    home: Path

    @property
    def emails(self) -> tuple[str, ...]:
        """Return the e-mail addresses of the user ids, in order, lower-cased."""
        found: list[str] = []
        for uid in self.user_ids:
            if "<" in uid and uid.rstrip().endswith(">"):
                address = uid[uid.rfind("<") + 1 : uid.rstrip().rfind(">")].strip().lower()
                if address and address not in found:
                    found.append(address)
        return tuple(found)


class CertKey:
    """The CERT's key in its GnuPG home; nothing runs gpg until a method needs it."""

    def __init__(
        self,
        home: Path,
        *,
        fingerprint: str | None = None,
        passphrase: str | None = None,
        gpg_binary: str = "gpg",
    ) -> None:
        self.home = home
        self.wanted_fingerprint = fingerprint.replace(" ", "").upper() if fingerprint else None
        self.passphrase = passphrase or None
        self.gpg_binary = gpg_binary
        self._gpg: gnupg.GPG | None = None
        self._info: tuple[tuple[int, int], CertKeyInfo] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CertKey:
        """Return the CERT key the settings describe (pgp_home, pgp_key_fingerprint, ...)."""
        passphrase = settings.pgp_passphrase.get_secret_value() if settings.pgp_passphrase else None
        if passphrase is None and settings.pgp_passphrase_file is not None:
            try:
                lines = settings.pgp_passphrase_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CertKeyError(
                    f"pgp_passphrase_file {settings.pgp_passphrase_file}: cannot be read "
                    f"({exc.strerror}); fix the path or its permissions"
                ) from exc
            passphrase = lines[0] if lines else None
        return cls(
            settings.effective_pgp_home,
            fingerprint=settings.pgp_key_fingerprint,
            passphrase=passphrase,
            gpg_binary=settings.gpg_binary,
        )

    @property
    def gpg(self) -> gnupg.GPG:
        """Return the GPG bound to the CERT's home (made mode 0700 if absent)."""
        if self._gpg is None:
            self._gpg = open_home(self.home, gpg_binary=self.gpg_binary)
            _configure_agent(self.home)
        return self._gpg

    def exists(self) -> bool:
        """Return True if the home holds a secret key this CertKey would use."""
        try:
            self.info()
        except CertKeyMissing:
            return False
        return True

    def info(self) -> CertKeyInfo:
        """Return the CERT key's details; raises CertKeyMissing if there is none (or, with
        several secret keys and no pgp_key_fingerprint, if it is ambiguous)."""
        if not self.home.exists():
            raise CertKeyMissing(_missing(self.home))
        secrets = [key["fingerprint"] for key in self.gpg.list_keys(secret=True)]
        if self.wanted_fingerprint is not None:
            if self.wanted_fingerprint not in secrets:
                raise CertKeyMissing(
                    f"CERT key {self.wanted_fingerprint}: no secret key with this fingerprint in "
                    f"{self.home}; import it (vardeild pgp import) or correct "
                    "VARDEILD_PGP_KEY_FINGERPRINT"
                )
            chosen = self.wanted_fingerprint
        elif not secrets:
            raise CertKeyMissing(_missing(self.home))
        elif len(secrets) > 1:
            raise CertKeyMissing(
                f"CERT key: {self.home} holds {len(secrets)} secret keys "
                f"({', '.join(secrets)}); set VARDEILD_PGP_KEY_FINGERPRINT to the one to use"
            )
        else:
            chosen = secrets[0]
        public = self.gpg.list_keys(keys=[chosen])
        if not public:
            raise CertKeyMissing(
                f"CERT key {chosen}: the secret key has no public key beside it in {self.home}; "
                "import the whole key again (vardeild pgp import)"
            )
        return _info(public[0], self.home)

    def fingerprint(self) -> str:
        """Return the fingerprint of the key in use; raises CertKeyMissing without one.

        Remembered until the keyring files change: every signature needs it, and asking gpg
        costs two processes.
        """
        stamp = self._keyring_stamp()
        if stamp is None:
            return self.info().fingerprint
        if self._info is None or self._info[0] != stamp:
            self._info = (stamp, self.info())
        return self._info[1].fingerprint

    def _keyring_stamp(self) -> tuple[int, int] | None:
        try:
            public = (self.home / "pubring.kbx").stat().st_mtime_ns
            secret = (self.home / "private-keys-v1.d").stat().st_mtime_ns
        except OSError:
            return None
        return (public, secret)

    def generate(
        self,
        *,
        name: str,
        email: str,
        algorithm: Algorithm = "ed25519",
        valid_days: int = 730,
        replace: bool = False,
    ) -> CertKeyInfo:
        """Make a new key for name <email>, protected by the passphrase if one is set.

        Raises Conflict when a secret key is already there and replace is False.
        """
        for field_name, value in (("name", name), ("email", email)):
            if not value.strip() or any(ch in value for ch in "\r\n<>%:"):
                raise CertKeyError(
                    f"CERT key: {field_name} {value!r} is empty or holds one of < > % : or a "
                    "line break; give a plain name and address"
                )
        if "@" not in email:
            raise CertKeyError(f"CERT key: {email!r} is not an e-mail address")
        existing = [key["fingerprint"] for key in self.gpg.list_keys(secret=True)]
        if existing and not replace:
            raise Conflict(
                f"CERT key: {self.home} already holds {', '.join(existing)}; to rotate, generate "
                "with --new and then set VARDEILD_PGP_KEY_FINGERPRINT to the new key"
            )
        protection = f"Passphrase: {self.passphrase}\n" if self.passphrase else "%no-protection\n"
        if self.passphrase and any(ch in self.passphrase for ch in "\r\n"):
            raise CertKeyError("CERT key: the passphrase must be one line")
        parameters = (
            _KEY_PARAMETERS[algorithm]
            + f"Name-Real: {name.strip()}\nName-Email: {email.strip()}\n"
            + f"Expire-Date: {valid_days}d\n"
            + protection
            + "%commit\n"
        )
        result = self.gpg.gen_key(parameters)
        if not result.fingerprint:
            raise CertKeyError(f"CERT key: gpg could not make the key: {_last_error(result)}")
        made = CertKey(
            self.home,
            fingerprint=result.fingerprint,
            passphrase=self.passphrase,
            gpg_binary=self.gpg_binary,
        )
        return made.info()

    def import_key(self, data: bytes) -> CertKeyInfo:
        """Import an exported secret key (armoured or binary) as the CERT's key.

        Raises CertKeyError unless data holds exactly one secret key.
        """
        result = self.gpg.import_keys(data, passphrase=self.passphrase)
        secrets = {
            fpr
            for fpr, entry in zip(result.fingerprints, result.results, strict=False)
            if int(entry.get("ok") or 0) & 16
        }
        if not result.fingerprints:
            raise CertKeyError(
                "CERT key import: the file holds no OpenPGP key gpg can read; export it with "
                "gpg --armor --export-secret-keys FINGERPRINT"
            )
        fingerprints = set(result.fingerprints)
        if not secrets and not result.sec_imported and not result.sec_read:
            raise CertKeyError(
                f"CERT key import: {', '.join(sorted(fingerprints))} is only a public key; the "
                "CERT signs with its key, so import the secret key (gpg --armor "
                "--export-secret-keys FINGERPRINT)"
            )
        if len(fingerprints) > 1:
            raise CertKeyError(
                f"CERT key import: the file holds {len(fingerprints)} keys; export only the "
                "CERT's key"
            )
        fingerprint = next(iter(fingerprints))
        return CertKey(
            self.home,
            fingerprint=fingerprint,
            passphrase=self.passphrase,
            gpg_binary=self.gpg_binary,
        ).info()

    def export_public(self, *, armor: bool = True) -> bytes:
        """Return the public key, minimal (no third-party signatures), armoured or binary."""
        fingerprint = self.fingerprint()
        exported = self.gpg.export_keys([fingerprint], armor=armor, minimal=True)
        data = exported.encode("ascii") if isinstance(exported, str) else exported
        if not data:
            raise CertKeyError(f"CERT key {fingerprint}: gpg exported nothing")
        return bytes(data)

    def export_secret(self) -> bytes:
        """Return the armoured secret key (for a backup); needs the passphrase if it has one."""
        fingerprint = self.fingerprint()
        exported = self.gpg.export_keys(
            [fingerprint],
            secret=True,
            armor=True,
            passphrase=self.passphrase,
            expect_passphrase=self.passphrase is not None,
        )
        if not exported:
            raise CertKeyError(
                f"CERT key {fingerprint}: gpg would not export the secret key; check "
                "VARDEILD_PGP_PASSPHRASE"
            )
        return exported.encode("ascii") if isinstance(exported, str) else bytes(exported)

    def sign_detached(self, data: bytes) -> tuple[str, str]:
        """Return an armoured detached signature of data and its RFC 3156 micalg.

        Raises CertKeyError when gpg will not sign (wrong passphrase, key expired).
        """
        result = self._sign(data, detach=True)
        micalg = MICALG.get(int(result.hash_algo or 0))
        if micalg is None:
            raise CertKeyError(f"CERT key: gpg signed with unknown hash {result.hash_algo!r}")
        return str(result), micalg

    def clearsign(self, text: str) -> str:
        """Return text clear-signed (RFC 4880 §7) by the CERT key."""
        return str(self._sign(text.encode("utf-8"), detach=False, clearsign=True))

    def stop_agent(self) -> None:
        """Stop the gpg-agent of the CERT's home (it forgets the cached passphrase)."""
        stop_agent(self.home, gpg_binary=self.gpg_binary)

    def _sign(self, data: bytes, *, detach: bool, clearsign: bool = False) -> Any:
        fingerprint = self.fingerprint()
        result = self.gpg.sign(
            data,
            keyid=fingerprint,
            passphrase=self.passphrase,
            detach=detach,
            clearsign=clearsign,
            extra_args=["--digest-algo", _DIGEST],
        )
        if not result or result.status != "signature created":
            raise CertKeyError(
                f"CERT key {fingerprint}: gpg did not sign ({_last_error(result)}); check "
                "VARDEILD_PGP_PASSPHRASE and that the key has not expired (vardeild pgp show)"
            )
        return result


def ensure_demo_key(settings: Settings, *, email: str = "cert@vardeild.example") -> CertKeyInfo:
    """Return the CERT key of settings, generating one for the demo if there is none yet."""
    key = CertKey.from_settings(settings)
    try:
        return key.info()
    except CertKeyMissing:
        return key.generate(
            name=settings.cert_name,
            email=email,
            algorithm=settings.pgp_key_algorithm,
            valid_days=settings.pgp_key_valid_days,
        )
    finally:
        # Listing secret keys and generating start an agent; signing starts one again when
        # needed, so none outlives a `vardeild demo --no-serve`.
        key.stop_agent()


def _configure_agent(home: Path) -> None:
    """Give a new CERT home a gpg-agent.conf with a moderate S2K count (an operator's own
    file is left alone).

    gpg-agent derives the key from the passphrase anew for every signature, with an iteration
    count it calibrates to take some 100-300 ms; at that rate a busy CERT could sign only a few
    notices a second. 2^20 iterations take about a millisecond: the passphrase still guards the
    key file and its backups, and whoever can read the home can read the passphrase in the
    settings too. Applies to keys generated or imported after the file exists.
    """
    conf = home / "gpg-agent.conf"
    if not conf.exists():
        conf.write_text(
            "# Written by Vardeild: see vardeild.mail.cert_key._configure_agent.\n"
            f"s2k-count {AGENT_S2K_COUNT}\n",
            encoding="utf-8",
        )
        conf.chmod(0o600)


def _missing(home: Path) -> str:
    return (
        f"CERT key: there is no secret key in {home}; make one with `vardeild pgp generate "
        "--email ADDRESS` or import one with `vardeild pgp import FILE`"
    )


def _info(key: dict[str, Any], home: Path) -> CertKeyInfo:
    algorithm = key.get("curve") or f"rsa{key.get('length')}"
    return CertKeyInfo(
        fingerprint=key["fingerprint"],
        user_ids=tuple(key.get("uids") or ()),
        algorithm=str(algorithm),
        created_at=_when(key.get("date")) or datetime.fromtimestamp(0, UTC),
        expires_at=_when(key.get("expires")),
        home=home,
    )


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def _last_error(result: Any) -> str:
    lines = [
        line.removeprefix("gpg:").strip()
        for line in str(getattr(result, "stderr", "") or "").splitlines()
        if line.startswith("gpg:")
    ]
    status = getattr(result, "status", None)
    return (lines[-1] if lines else "") or str(status or "no answer")
