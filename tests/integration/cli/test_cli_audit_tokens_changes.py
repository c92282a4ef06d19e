"""`vardeild audit list`, `tokens issue|list|revoke` and `changes list|show|propose|approve|
reject`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.cli import Cli
from vardeild.access.service import authenticate
from vardeild.platform import Platform


@pytest.fixture
def one_org(cli: Cli) -> Cli:
    """The CLI with one organisation, id 1, added and then edited."""
    cli("init")
    cli(
        "members", "add", "--name", "Fjelltun legesenter", "--sector", "gp_clinic",
        "--network", "203.0.113.240/29", "--contact", "Kari Nordmann <kari@fjelltun.test>",
    )  # fmt: skip
    cli("members", "edit", "1", "--set", "criticality=high")
    return cli


def test_audit_list_shows_the_changes_with_before_and_after(one_org: Cli) -> None:
    entries = one_org.json("audit", "list")
    assert [e["action"] for e in entries] == ["organisation.update", "organisation.create"]
    update, create = entries
    assert update["actor"].startswith("cli:")
    assert update["before"]["criticality"] == "medium"
    assert update["after"]["criticality"] == "high"
    assert create["before"] is None
    table = one_org("audit", "list").stdout
    assert "organisation.update" in table
    assert "criticality" in table
    assert "2 of 2 entries shown" in table


def test_audit_list_filters(one_org: Cli) -> None:
    created = one_org.json("audit", "list", "--action", "organisation.create")
    assert len(created) == 1
    assert len(one_org.json("audit", "list", "--org", "Fjelltun legesenter")) == 2
    assert len(one_org.json("audit", "list", "--limit", "1")) == 1
    actor = created[0]["actor"]
    assert len(one_org.json("audit", "list", "--actor", actor)) == 2
    assert one_org.json("audit", "list", "--actor", "someone-else") == []
    assert one_org.json("audit", "list", "--since", "2999-01-01") == []
    assert len(one_org.json("audit", "list", "--until", "2999-01-01")) == 2
    assert one_org.json("audit", "list", "--until", "2000-01-01T00:00:00+01:00") == []
    bad = one_org("audit", "list", "--since", "yesterday", code=2)
    assert "'yesterday' is not a date or time" in bad.stderr


def test_audit_keeps_a_removed_organisation_by_id(one_org: Cli) -> None:
    one_org("members", "remove", "1", "--yes")
    entries = one_org.json("audit", "list", "--org", "1")
    assert entries[0]["action"] == "organisation.delete"
    assert entries[0]["after"] is None


def test_tokens_issue_list_revoke(one_org: Cli, platform_of: Platform) -> None:
    cert = one_org.json("tokens", "issue", "--name", "SOC sync", "--role", "cert_analyst")
    assert cert["secret"].startswith("vdt_")
    assert cert["organisation_id"] is None
    member = one_org.json(
        "tokens", "issue", "--name", "Fjelltun portal", "--role", "member_admin",
        "--org", "Fjelltun legesenter", "--expires", "2999-12-31",
    )  # fmt: skip
    assert member["organisation_id"] == 1
    assert member["expires_at"].startswith("2999-12-31T00:00:00")
    with platform_of.session() as session:
        principal = authenticate(session, member["secret"], clock=platform_of.clock)
    assert principal is not None
    assert principal.organisation_id == 1

    listed = one_org.json("tokens", "list")
    assert [t["name"] for t in listed] == ["SOC sync", "Fjelltun portal"]
    assert all("secret" not in t for t in listed)
    assert "SOC sync" in one_org("tokens", "list").stdout

    human = one_org("tokens", "issue", "--name", "once", "--role", "cert_readonly").stdout
    assert "shown this once" in human
    assert "vdt_" in human

    revoked = one_org.json("tokens", "revoke", str(cert["id"]))
    assert revoked["revoked_at"] is not None
    with platform_of.session() as session:
        assert authenticate(session, cert["secret"], clock=platform_of.clock) is None
    assert "Revoked token" in one_org("tokens", "revoke", str(cert["id"])).stdout
    one_org("tokens", "revoke", "999", code=3)


def test_tokens_issue_errors(one_org: Cli) -> None:
    no_org = one_org("tokens", "issue", "--name", "x", "--role", "member_user", code=2)
    assert "token: organisation: a member_user token needs one" in no_org.stderr
    past = one_org(
        "tokens", "issue", "--name", "x", "--role", "cert_analyst", "--expires", "2001-01-01",
        code=2,
    )  # fmt: skip
    assert "token: expires_at: lies in the past" in past.stderr
    bad_role = one_org("tokens", "issue", "--name", "x", "--role", "root", code=2)
    assert "root" in bad_role.stderr
    one_org("tokens", "issue", "--name", "x", "--role", "member_user", "--org", "Ingen", code=3)


def test_change_requests_propose_show_approve_reject(one_org: Cli, tmp_path: Path) -> None:
    changes = tmp_path / "changes.json"
    changes.write_text(
        json.dumps({"networks": {"add": ["198.51.100.240/28"], "remove": ["203.0.113.240/29"]}}),
        encoding="utf-8",
    )
    proposed = one_org.json(
        "changes", "propose", "Fjelltun legesenter", "--file", str(changes),
        "--comment", "New line from the ISP",
    )  # fmt: skip
    assert proposed["status"] == "pending"
    listed = one_org.json("changes", "list", "--status", "pending")
    assert [r["id"] for r in listed] == [proposed["id"]]
    assert "networks +1 -1" in one_org("changes", "list").stdout
    shown = one_org("changes", "show", str(proposed["id"])).stdout
    assert "198.51.100.240/28" in shown
    assert "New line from the ISP" in shown

    approved = one_org.json("changes", "approve", str(proposed["id"]), "--reason", "ok")
    assert approved["status"] == "approved"
    cidrs = {n["cidr"] for n in one_org.json("members", "show", "1")["networks"]}
    assert cidrs == {"198.51.100.240/28"}
    again = one_org("changes", "approve", str(proposed["id"]), code=4)
    assert f"change request {proposed['id']} is approved, not pending" in again.stderr

    # The same request again no longer fits the entry: refused whole, every problem named.
    stale = one_org("changes", "propose", "1", "--file", str(changes), code=2)
    assert "networks.add[0]: 198.51.100.240/28 is registered already" in stale.stderr
    assert "networks.remove[0]: 203.0.113.240/29 is not registered" in stale.stderr


def test_change_request_that_does_not_fit_and_rejection(one_org: Cli, tmp_path: Path) -> None:
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"domains": {"add": ["fjelltun.test"]}}), encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"networks": {"remove": ["192.0.2.0/24"]}}), encoding="utf-8")
    refused = one_org("changes", "propose", "1", "--file", str(bad), code=2)
    assert "networks.remove[0]: 192.0.2.0/24 is not registered" in refused.stderr
    request = one_org.json("changes", "propose", "1", "--file", str(ok))
    no_reason = one_org("changes", "reject", str(request["id"]), "--reason", " ", code=2)
    assert "reason: say why it is rejected" in no_reason.stderr
    rejected = one_org("changes", "reject", str(request["id"]), "--reason", "Not yours")
    assert "Rejected change request" in rejected.stdout
    assert one_org.json("changes", "show", str(request["id"]))["decision_reason"] == "Not yours"
    assert one_org.json("members", "show", "1")["domains"] == []
    one_org("changes", "show", "999", code=3)


def test_change_request_withdrawn_on_the_members_behalf(one_org: Cli, tmp_path: Path) -> None:
    wanted = tmp_path / "wanted.json"
    wanted.write_text(json.dumps({"domains": {"add": ["fjelltun.test"]}}), encoding="utf-8")
    request = one_org.json("changes", "propose", "1", "--file", str(wanted))
    withdrawn = one_org("changes", "withdraw", str(request["id"]), "--reason", "Asked by phone")
    assert f"Withdrew change request {request['id']}." in withdrawn.stdout
    shown = one_org.json("changes", "show", str(request["id"]))
    assert (shown["status"], shown["decision_reason"]) == ("withdrawn", "Asked by phone")
    late = one_org("changes", "approve", str(request["id"]), code=4)
    assert f"change request {request['id']} is withdrawn, not pending" in late.stderr
    assert one_org.json("members", "show", "1")["domains"] == []
