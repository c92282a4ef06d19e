"""`vardeild demo` opens its incident work once: a coordinated case for the first two demo
members and a report from the public form; the demo member admin sees the case's shared entry
in the portal and never the internal one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.cli import Cli, migrated_platform
from support.factories import CERT_ADMIN
from support.portal import PortalUser, sign_in
from vardeild.app import create_web_app
from vardeild.cli.demo_cases import TITLE
from vardeild.cli.demo_users import USERS_FILE
from vardeild.incidents import service as cases
from vardeild.incidents.coordination import list_involved
from vardeild.intake.service import list_reports


def test_demo_opens_its_cases_once_and_members_see_only_shared_entries(cli: Cli) -> None:
    first = cli("demo", "--no-serve", "--no-stream")
    assert "Demo incident cases: 1 opened." in first.output
    again = cli("demo", "--no-serve", "--no-stream")
    assert "The demo incident cases are in place." in again.output
    rows = [
        line.split("\t")
        for line in (cli.data_dir / USERS_FILE).read_text().splitlines()
        if not line.startswith("#")
    ]
    with migrated_platform(cli.database_url, cli.data_dir) as platform:
        with platform.session() as session:
            found, total = cases.list_cases(session, CERT_ADMIN, query=cases.CaseQuery(text=TITLE))
            assert total == 1
            involved = list_involved(session, CERT_ADMIN, int(found[0]["id"]))
            assert [i["role"] for i in involved] == ["affected", "affected"]
            _, reports = list_reports(session, CERT_ADMIN)
            assert reports == 1
        [(_, email, password)] = [r for r in rows if r[0] == "member_admin"]
        client = TestClient(create_web_app(platform))
        sign_in(client, PortalUser(0, email, password, None), platform.clock)
        page = client.get(f"/portal/cases/{found[0]['id']}")
        assert page.status_code == 200, page.text
        assert "Koble fra integrasjonen" in page.text  # the shared entry
        assert "Internt:" not in page.text  # the internal note never
