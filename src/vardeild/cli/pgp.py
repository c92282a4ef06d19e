"""`vardeild pgp`: the CERT's own OpenPGP key (make, import, export, show) and the keys that
are about to expire."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context
from vardeild.cli.output import CliFailure, JsonOption, print_json, print_table, say, when
from vardeild.mail.cert_key import Algorithm, CertKey, CertKeyError, CertKeyInfo, CertKeyMissing
from vardeild.mail.expiring import expiring_dict, list_expiring_keys
from vardeild.mail.gnupg_home import GnuPGUnavailable
from vardeild.mail.publish import wkd_hash

app = typer.Typer(
    name="pgp",
    help="The CERT's OpenPGP key: generate, import, export, show; keys about to expire.",
    no_args_is_help=True,
)


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Turn the key's own errors into one line on stderr (NotFound and Conflict pass through
    to the root command, which gives them their exit codes)."""
    try:
        yield
    except (CertKeyError, GnuPGUnavailable) as exc:
        raise CliFailure(str(exc)) from exc


def _key(ctx: typer.Context) -> CertKey:
    with _reported():
        key = CertKey.from_settings(cli_context(ctx).settings)
    # gpg starts an agent for the home; a one-off command must not leave it running (a
    # server using the same home starts its own again when it next signs).
    ctx.call_on_close(key.stop_agent)
    return key


def info_dict(info: CertKeyInfo) -> dict[str, Any]:
    """Return the key's details as --json prints them, with where they are published."""
    return {
        "fingerprint": info.fingerprint,
        "user_ids": list(info.user_ids),
        "algorithm": info.algorithm,
        "created_at": info.created_at.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
        "home": str(info.home),
        "published": [
            "/pgp-key.asc",
            "/.well-known/security.txt",
            *(
                f"/.well-known/openpgpkey/hu/{wkd_hash(email.rpartition('@')[0])} ({email})"
                for email in info.emails
            ),
        ],
    }


def _print_info(info: CertKeyInfo, *, as_json: bool) -> None:
    data = info_dict(info)
    if as_json:
        print_json(data)
        return
    print_table(
        "The CERT's OpenPGP key",
        ["field", "value"],
        [
            ["fingerprint", info.fingerprint],
            ["user ids", "\n".join(info.user_ids)],
            ["algorithm", info.algorithm],
            ["created", when(info.created_at)],
            ["expires", when(info.expires_at) if info.expires_at else "never"],
            ["home", str(info.home)],
            ["published at", "\n".join(data["published"])],
        ],
    )


@app.command("generate")
def generate(
    ctx: typer.Context,
    email: Annotated[
        str, typer.Option("--email", help="The CERT's address the key is for, e.g. cert@x.no.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Name in the user id (default: cert_name).")
    ] = None,
    algorithm: Annotated[
        str | None,
        typer.Option("--algorithm", help="ed25519 or rsa3072 (default: pgp_key_algorithm)."),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=30, max=3650, help="Days it stays valid (default: pgp_key_valid_days)."
        ),
    ] = None,
    new: Annotated[
        bool,
        typer.Option(
            "--new", help="Make a new key beside an existing one (to rotate; see docs/openpgp.md)."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make the CERT's key in pgp_home, protected by pgp_passphrase (if set)."""
    settings = cli_context(ctx).settings
    chosen = algorithm or settings.pgp_key_algorithm
    if chosen not in ("ed25519", "rsa3072"):
        raise CliFailure(f"--algorithm {chosen!r}: use ed25519 or rsa3072", code=2)
    key = _key(ctx)
    algo: Algorithm = "rsa3072" if chosen == "rsa3072" else "ed25519"
    with _reported():
        info = key.generate(
            name=name or settings.cert_name,
            email=email,
            algorithm=algo,
            valid_days=days or settings.pgp_key_valid_days,
            replace=new,
        )
    if not as_json:
        say(f"Made the CERT key {info.fingerprint}.")
        if key.passphrase is None:
            say(
                "Warning: the key has no passphrase; set VARDEILD_PGP_PASSPHRASE (or "
                "pgp_passphrase_file) before generating a production key.",
                style="yellow",
            )
        if new:
            say(f"Set VARDEILD_PGP_KEY_FINGERPRINT={info.fingerprint} to start using it.")
    _print_info(info, as_json=as_json)


@app.command("import")
def import_key(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="An exported secret key (armoured or binary)."
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Import an existing secret key as the CERT's key (its passphrase in pgp_passphrase)."""
    key = _key(ctx)
    with _reported():
        info = key.import_key(file.read_bytes())
    if not as_json:
        say(f"Imported the CERT key {info.fingerprint}.")
    _print_info(info, as_json=as_json)


@app.command("export")
def export(
    ctx: typer.Context,
    secret: Annotated[
        bool, typer.Option("--secret", help="The secret key, for a backup (keep it offline).")
    ] = False,
    binary: Annotated[
        bool, typer.Option("--binary", help="Binary instead of ASCII armour (public key only).")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Print the CERT's public key (armoured), or with --secret its secret key."""
    if secret and binary:
        raise CliFailure("--binary is for the public key; a secret key is exported armoured", 2)
    key = _key(ctx)
    with _reported():
        data = key.export_secret() if secret else key.export_public(armor=not binary)
    if output is not None:
        output.touch(mode=0o600 if secret else 0o644)
        output.write_bytes(data)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the CERT's key: fingerprint, user ids, expiry, and where it is published."""
    key = _key(ctx)
    with _reported():
        info = key.info()
    _print_info(info, as_json=as_json)


@app.command("expiring")
def expiring(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", min=1, max=365, help="Horizon (default: pgp_expiry_warning_days, 30)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List contacts' keys and the CERT's own that expire within the horizon or have."""
    cli = cli_context(ctx)
    horizon = days or cli.settings.pgp_expiry_warning_days
    platform = cli.platform()
    key = _key(ctx)
    cert_info: CertKeyInfo | None
    try:
        with _reported():
            cert_info = key.info()
    except CertKeyMissing:
        cert_info = None
    with platform.session() as session:
        items = list_expiring_keys(
            session, cert_key=cert_info, now=platform.clock.now(), days=horizon
        )
    if as_json:
        print_json({"days": horizon, "items": [expiring_dict(item) for item in items]})
        return
    if cert_info is None:
        say("The CERT has no key of its own yet: vardeild pgp generate --email ADDRESS.")
    if not items:
        say(f"No key expires within {horizon} days.")
        return
    print_table(
        f"Keys expiring within {horizon} days",
        ["owner", "organisation", "fingerprint", "expires", "days left"],
        [
            [
                item.key.owner,
                item.key.organisation,
                item.key.fingerprint,
                when(item.key.expires_at),
                "expired" if item.expired else str(item.days_left),
            ]
            for item in items
        ],
    )
