"""`vardeild pgp`: the CERT key made, shown, exported and imported from the command line, and
the keys about to expire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli
from support.pgp_keys import key_home, make_key
from vardeild.mail.gnupg_home import stop_agent


@pytest.fixture
def pgp_cli(cli: Cli) -> Iterator[Cli]:
    """The CLI with its CERT key home in a short directory (gpg's sockets live there)."""
    with key_home() as root:
        cli.env["VARDEILD_PGP_HOME"] = str(root / "gnupg")
        cli.env["VARDEILD_PGP_PASSPHRASE"] = "korrekt hest"
        yield cli
        stop_agent(root / "gnupg")


def test_generate_show_export_and_import(pgp_cli: Cli, tmp_path: Path) -> None:
    missing = pgp_cli("pgp", "show", code=3)
    assert "vardeild pgp generate" in missing.stderr

    made = pgp_cli.json("pgp", "generate", "--email", "cert@helsecert.example", "--days", "60")
    fingerprint = made["fingerprint"]
    assert made["user_ids"] == ["Vardeild Demo CERT <cert@helsecert.example>"]
    assert made["algorithm"] == "ed25519"
    assert "/.well-known/openpgpkey/hu/" in made["published"][2]
    assert pgp_cli.json("pgp", "show")["fingerprint"] == fingerprint
    shown = pgp_cli("pgp", "show").stdout
    assert fingerprint in shown

    again = pgp_cli("pgp", "generate", "--email", "cert@helsecert.example", code=4)
    assert "--new" in again.stderr

    public = pgp_cli("pgp", "export").stdout
    assert public.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    backup = tmp_path / "backup.asc"
    pgp_cli("pgp", "export", "--secret", "-o", str(backup))
    assert backup.stat().st_mode & 0o777 == 0o600
    assert backup.read_bytes().startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----")

    with key_home() as other:
        pgp_cli.env["VARDEILD_PGP_HOME"] = str(other / "gnupg")
        imported = pgp_cli.json("pgp", "import", str(backup))
        assert imported["fingerprint"] == fingerprint
        stop_agent(other / "gnupg")


def test_import_refuses_a_public_key(pgp_cli: Cli, tmp_path: Path) -> None:
    with key_home() as home:
        someone = make_key(home, "someone@x.example")
    public = tmp_path / "public.asc"
    public.write_text(someone.public, encoding="utf-8")
    refused = pgp_cli("pgp", "import", str(public), code=1)
    assert "only a public key" in refused.stderr


def test_expiring_lists_contacts_keys_and_the_cert_key(pgp_cli: Cli, tmp_path: Path) -> None:
    pgp_cli("init")
    assert "No key expires within 30 days" in pgp_cli("pgp", "expiring").stdout
    with key_home() as home:
        soon = make_key(home, "vakt@snart.example", expire="10d")
        registry = tmp_path / "registry.json"
        registry.write_text(
            '[{"name": "Snart AS", "sector": "hospital_trust", "contacts": [{"name": "Vakt", '
            f'"email": "vakt@snart.example", "pgp_key": {json.dumps(soon.public)}}}]}}]',
            encoding="utf-8",
        )
        pgp_cli("members", "import", str(registry))
    pgp_cli("pgp", "generate", "--email", "cert@helsecert.example", "--days", "30")
    listed = pgp_cli.json("pgp", "expiring")
    assert [item["owner"] for item in listed["items"]] == ["vakt@snart.example", "CERT"]
    assert listed["items"][0]["organisation"] == "Snart AS"
    assert listed["items"][0]["fingerprint"] == soon.fingerprint
    assert [i["owner"] for i in pgp_cli.json("pgp", "expiring", "--days", "5")["items"]] == []
    table = pgp_cli("pgp", "expiring").stdout
    assert "vakt@snart.example" in table
    assert "Snart AS" in table
