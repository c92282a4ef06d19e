"""`vardeild mail` in-process against a fresh database: import keeps and files messages (the
same bytes twice kept once), list and show report outcomes and problems, show --raw gives the
bytes as received, show --attachment a kept attachment by its hash, reprocess retries the
failed, reverify reports what it checked again."""

from __future__ import annotations

import hashlib
from pathlib import Path

from support.cli import Cli
from support.mail_intake import plain_message
from support.pgp_keys import shared_cert_home


def test_import_list_show_reprocess_and_reverify(fresh_database_url: str, tmp_path: Path) -> None:
    cli = Cli(
        fresh_database_url, tmp_path / "data", env={"VARDEILD_PGP_HOME": str(shared_cert_home())}
    )
    cli("init")
    report = plain_message(sender="meldar@example.org", subject="Phishing", text="See 192.0.2.9")
    report.add_attachment(
        b"log line\n", maintype="text", subtype="plain", filename="/var/log/../../auth.log"
    )
    good = tmp_path / "report.eml"
    good.write_bytes(report.as_bytes())
    broken = tmp_path / "encrypted.eml"
    broken.write_bytes(
        b"From: x@example.org\r\nSubject: locked\r\nMessage-ID: <locked@example.org>\r\n"
        b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=B'
        b"\r\n\r\n--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--B\r\n"
        b"Content-Type: application/octet-stream\r\n\r\nnot really ciphertext\r\n--B--\r\n"
    )
    first = cli.json("mail", "import", str(good), str(broken), str(good))
    assert [(r["status"], r["duplicate"]) for r in first] == [
        ("processed", False),
        ("failed", False),
        ("processed", True),
    ]
    assert first[0]["id"] == first[2]["id"]
    listed = cli.json("mail", "list")
    assert len(listed) == 2
    flagged = cli.json("mail", "list", "--flagged")
    assert {m["subject"] for m in flagged} == {"locked", "Phishing"}  # the traversal name too
    shown = cli.json("mail", "show", str(first[0]["id"]))
    assert shown["case_id"] is not None
    assert {"type": "ipv4", "value": "192.0.2.9"} in shown["observables"]
    [attachment] = shown["attachments"]
    assert attachment["filename"] == "auth.log"
    raw = cli("mail", "show", str(first[0]["id"]), "--raw").stdout_bytes
    assert hashlib.sha256(raw).hexdigest() == shown["sha256"]
    content = cli("mail", "show", "1", "--attachment", attachment["sha256"]).stdout_bytes
    assert content == b"log line\n"
    failed = cli.json("mail", "show", str(first[1]["id"]))
    assert any("cannot be decrypted" in p for p in failed["problems"])
    assert cli.json("mail", "reprocess") == {"processed": [first[1]["id"]]}
    assert cli.json("mail", "show", str(first[1]["id"]))["attempts"] == 2
    assert cli.json("mail", "reverify") == []
    assert "0 signatures checked again" in cli("mail", "reverify").stdout
    cli("mail", "show", "999", code=3)
