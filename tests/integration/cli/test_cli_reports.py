"""`vardeild reports` end to end: a report sent through the public form of an app on the same
database and data directory is listed (no content) and shown decrypted (the reading audited)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.cli import Cli, migrated_platform
from support.portal import csrf_token
from vardeild.app import create_web_app


def test_reports_list_and_show(cli: Cli) -> None:
    cli("init")
    with migrated_platform(cli.database_url, cli.data_dir) as platform:
        browser = TestClient(create_web_app(platform))
        token = csrf_token(browser.get("/report").text)
        answer = browser.post(
            "/report",
            data={
                "csrf_token": token, "name": "Per Melder", "email": "per@eksempel.no",
                "what_happened": "Skanning mot 192.0.2.7 hele natten", "tlp": "GREEN",
            },
        )  # fmt: skip
        assert answer.status_code == 200
    listed = cli.json("reports", "list")
    assert listed["total"] == 1
    [item] = listed["items"]
    assert item["status"] == "new"
    assert item["reference"] in answer.text
    assert "Per Melder" not in cli("reports", "list").stdout
    shown = cli.json("reports", "show", item["reference"].lower())
    assert shown["content"]["name"] == "Per Melder"
    assert shown["content"]["what_happened"] == "Skanning mot 192.0.2.7 hele natten"
    assert shown["content"]["tlp"] == "GREEN"
    assert "Per Melder" in cli("reports", "show", str(item["id"])).stdout
    reads = cli.json("audit", "list", "--action", "incident_report.read")
    assert len(reads) == 2
    assert all(entry["actor"].startswith("cli:") for entry in reads)
    assert cli.json("reports", "list", "--status", "triaged")["total"] == 0
    cli("reports", "show", "VR-2026-NOTHERE", code=3)
    # Under another portal key the report does not open: said plainly, exit 1, nothing shown.
    cli.env["VARDEILD_PORTAL_SECRET_KEY"] = "a-different-portal-key"
    refused = cli("reports", "show", str(item["id"]), code=1)
    assert "the portal's key has changed" in refused.output
    assert "Per Melder" not in refused.output
