"""GnuPG homes: the CERT's own, kept private, and throwaway ones for keys given per call.

python-gnupg drives the `gpg` binary. A home holds sockets whose paths must fit in 108 bytes,
so throwaway homes are made directly under /tmp, and every agent a home started is stopped
when the home is no longer needed (tests and short-lived commands must not leave them behind).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import gnupg

from vardeild.core.errors import VardeildError

GPG_TIMEOUT_SECONDS = 30.0


class GnuPGUnavailable(VardeildError, RuntimeError):
    """gpg could not be run: a problem of the host, not of any key."""


def open_home(home: Path, *, gpg_binary: str = "gpg") -> gnupg.GPG:
    """Return a GPG bound to home, creating it mode 0700 (gpg refuses to trust a group- or
    world-readable home, and the CERT's secret key lives there)."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if home.stat().st_mode & 0o077:
        home.chmod(0o700)
    return _gpg(home, gpg_binary)


@contextlib.contextmanager
def throwaway_home(*, gpg_binary: str = "gpg") -> Iterator[gnupg.GPG]:
    """Yield a GPG on a new empty home, for public keys only, removed on exit.

    gpg runs there with --no-autostart: importing and encrypting to public keys need no agent,
    and starting one (a daemon, for every message) would cost more than the encryption.
    """
    home = Path(tempfile.mkdtemp(prefix="vd-gpg-", dir="/tmp"))
    try:
        yield _gpg(home, gpg_binary, options=["--no-autostart"])
    finally:
        if any(home.glob("S.gpg-agent*")):
            stop_agent(home, gpg_binary=gpg_binary)
        shutil.rmtree(home, ignore_errors=True)


def stop_agent(home: Path, *, gpg_binary: str = "gpg") -> None:
    """Stop the gpg-agent serving home, if one runs (clean-up never hides a result)."""
    gpg = shutil.which(gpg_binary)
    gpgconf = Path(gpg).with_name("gpgconf") if gpg else None
    command = str(gpgconf) if gpgconf and gpgconf.exists() else shutil.which("gpgconf")
    if command is None:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(  # noqa: S603  (argument list, no shell)
            [command, "--homedir", str(home), "--kill", "gpg-agent"],
            capture_output=True,
            timeout=GPG_TIMEOUT_SECONDS,
            check=False,
        )


DISPLAY_UTF8 = ["--display-charset", "utf-8"]
"""The option every gpg run of ours gets, so user ids come out in UTF-8."""


def _gpg(home: Path, gpg_binary: str, *, options: list[str] | None = None) -> gnupg.GPG:
    # The C locale keeps gpg's diagnostics in English, as the messages quote them; but under it
    # gpg writes user ids in Latin-1, which python-gnupg cannot read as UTF-8, and a key named
    # "SOC Ålesund" would look damaged (and a notice to it go out unencrypted): ask for UTF-8.
    env = {"LC_ALL": "C", "LANGUAGE": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    options = [*DISPLAY_UTF8, *(options or [])]
    try:
        gpg = gnupg.GPG(gpgbinary=gpg_binary, gnupghome=str(home), env=env, options=options)
    except (OSError, ValueError, RuntimeError) as exc:
        raise GnuPGUnavailable(
            f"GnuPG ({gpg_binary}) could not be run ({exc}); install the gnupg package or set "
            "VARDEILD_GPG_BINARY"
        ) from exc
    gpg.encoding = "utf-8"
    return gpg
