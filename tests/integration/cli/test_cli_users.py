"""`vardeild users` end to end on a fresh database: add (password from stdin), list, set-role,
reset-totp, set-password and disable, each checked against what the service then answers."""

from __future__ import annotations

from support.cli import Cli, migrated_platform
from vardeild.accounts import service as accounts

PASSWORD = "fjell-og-fjord-2026"


def test_users_commands(cli: Cli) -> None:
    cli("init")
    added = cli(
        "users", "add", "Ada@CERT.example", "--name", "Ada", "--role", "cert_analyst",
        "--password-stdin", "--json", input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert '"email": "ada@cert.example"' in added.stdout
    assert PASSWORD not in added.stdout
    refused = cli(
        "users", "add", "b@cert.example", "--name", "B", "--role", "member_user",
        "--password-stdin", code=2, input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert "organisation" in refused.output
    listed = cli.json("users", "list")
    assert [u["email"] for u in listed] == ["ada@cert.example"]
    assert "password_hash" not in listed[0]
    cli("users", "set-role", "ada@cert.example", "--role", "cert_admin")
    cli("users", "reset-totp", "1")
    cli("users", "set-password", "ada@cert.example", "--password-stdin", input="nytt-passord-99\n")
    with migrated_platform(cli.database_url, cli.data_dir) as platform, platform.session() as s:
        config = accounts.AccountsConfig()
        old = accounts.check_password(
            s, email="ada@cert.example", password=PASSWORD, clock=platform.clock, config=config
        )
        new = accounts.check_password(
            s, email="ada@cert.example", password="nytt-passord-99", clock=platform.clock,
            config=config,
        )  # fmt: skip
        assert old.outcome is accounts.SignIn.REFUSED
        assert new.outcome is accounts.SignIn.DONE
        assert new.user is not None
        assert new.user.role.value == "cert_admin"
    cli("users", "disable", "ada@cert.example")
    assert cli.json("users", "list")[0]["disabled"] is True
    cli("users", "disable", "nobody@cert.example", code=3)
