"""`vardeild notify`: a message queued, sent to the maildir outbox signed with the CERT key,
listed, inspected, previewed, retried; policies shown and changed; the alert pass run."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator

import pytest

from support.cli import Cli
from support.notify import add_member
from support.pgp_keys import key_home
from vardeild.mail.gnupg_home import stop_agent


@pytest.fixture
def notify_cli(cli: Cli) -> Iterator[Cli]:
    """The CLI with a CERT key, in a short home directory."""
    with key_home() as root:
        cli.env["VARDEILD_PGP_HOME"] = str(root / "gnupg")
        cli.env["VARDEILD_PGP_PASSPHRASE"] = "korrekt hest"
        cli("init")
        cli("pgp", "generate", "--email", "cert@vardeild.example")
        yield cli
        stop_agent(root / "gnupg")


def test_a_message_goes_to_the_maildir_signed_and_shows_in_list_and_status(
    notify_cli: Cli,
) -> None:
    platform = notify_cli.platform()
    try:
        member = add_member(
            platform,
            [{"name": "Ola", "email": "ola@medlem.example", "roles": ["management"]}],
        )
    finally:
        platform.engine.dispose()
    queued = notify_cli(
        "notify", "message", str(member), "--title", "Planlagt vedlikehold", "--text", "I kveld."
    )
    assert "queued" in queued.stdout
    sent = notify_cli.json("notify", "send")
    assert (sent["sent"], sent["failed"], sent["by_protection"]) == (1, 0, {"signed": 1})
    [stored] = list((notify_cli.data_dir / "outbox" / "new").iterdir())
    message = email.message_from_bytes(stored.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/signed"
    assert "Planlagt vedlikehold" in str(message["Subject"])
    [notice] = notify_cli.json("notify", "list")
    assert (notice["status"], notice["organisation_id"]) == ("sent", member)
    status = notify_cli.json("notify", "status", str(notice["id"]))
    assert [d["status"] for d in status["deliveries"]] == ["sent"]
    assert [e["status"] for e in status["log"]] == ["created", "queued", "sent"]
    preview = notify_cli.json("notify", "preview", str(notice["id"]), "--language", "en")
    assert "TLP:AMBER" in preview["subject"]
    assert "HOW TO REPLY" in preview["body"]
    assert notify_cli.json("notify", "status")["deliveries"]["sent"] == 1
    refused = notify_cli("notify", "retry", str(notice["id"]), code=4)
    assert "no failed delivery" in refused.stderr
    assert notify_cli.json("notify", "run")["notices_made"] == 0


def test_policies_are_shown_changed_and_bad_fields_named(notify_cli: Cli) -> None:
    platform = notify_cli.platform()
    try:
        member = add_member(platform, [{"name": "Ola", "email": "ola@medlem.example"}])
    finally:
        platform.engine.dispose()
    assert notify_cli.json("notify", "policy", str(member))["schedule"] == "immediate"
    changed = notify_cli.json(
        "notify", "policy", str(member), "--set", '{"schedule": "daily", "cap_per_hour": 3}'
    )
    assert (changed["schedule"], changed["cap_per_hour"]) == ("daily", 3)
    bad = notify_cli("notify", "policy", str(member), "--set", '{"digest_times": ["8 am"]}', code=2)
    assert "digest_times[0]" in bad.stderr
    assert notify_cli.json("notify", "tasks") == []
