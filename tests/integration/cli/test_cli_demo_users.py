"""`vardeild demo` leaves two portal accounts whose passwords it writes to the data directory;
signing in with them through the real pages works, and running the demo again keeps them."""

from __future__ import annotations

import stat

from fastapi.testclient import TestClient

from support.cli import Cli, migrated_platform
from support.portal import PortalUser, sign_in
from vardeild.app import create_web_app
from vardeild.cli.demo_users import USERS_FILE


def test_demo_portal_accounts_sign_in(cli: Cli) -> None:
    cli("demo", "--no-serve", "--no-stream")
    path = cli.data_dir / USERS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    assert [r[0] for r in rows] == ["cert_analyst", "member_admin"]
    cli("demo", "--no-serve", "--no-stream")
    assert [line.split("\t") for line in path.read_text().splitlines()][1:] == rows
    with migrated_platform(cli.database_url, cli.data_dir) as platform:
        for role, email, password in rows:
            client = TestClient(create_web_app(platform))
            sign_in(client, PortalUser(0, email, password, None), platform.clock)
            page = client.get("/portal").text
            assert email in page
            label = "CERT-analytiker" if role == "cert_analyst" else "Medlemsadministrator"
            assert label in page
