"""The member API's shared indicators (JSON, CSV, MISP feed over HTTP) and the CLI's
`intel export`, `share` and `unshare`, against a real database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support.cli import Cli, migrated_platform
from support.factories import CERT_ADMIN
from support.sharing import EXPECTED, SharingWorld, make_sharing_world
from support.web import TokenMaker, bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.intel.audience import list_audience
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.platform import Platform

SHARED = "/api/v1/intel/shared"


@pytest.fixture
def client(platform: Platform) -> TestClient:
    return TestClient(create_web_app(platform))


@pytest.fixture
def token(platform: Platform) -> TokenMaker:
    def make(role: Role, organisation_id: int | None = None) -> dict[str, str]:
        with platform.session() as session:
            issued = issue_token(
                session,
                CERT_ADMIN,
                clock=platform.clock,
                name=f"share {role.value}",
                role=role,
                organisation_id=organisation_id,
            )
        return bearer(issued.secret)

    return make


@pytest.fixture
def world(platform: Platform) -> SharingWorld:
    with platform.session() as session:
        return make_sharing_world(session, platform.clock)


def test_a_member_receives_what_is_shared_with_it_as_json_and_csv(
    client: TestClient, token: TokenMaker, world: SharingWorld
) -> None:
    for who, org in (("a", world.a), ("b", world.b)):
        headers = token(Role.MEMBER_USER, org)
        answer = client.get(SHARED, headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        assert body["audience"] == f"member:{org}"
        assert world.found_in(answer.text) == EXPECTED[who]
        assert body["next"] is None
        as_csv = client.get(SHARED, params={"format": "csv"}, headers=headers)
        assert as_csv.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert world.found_in(as_csv.text) == EXPECTED[who]
        assert {row["value"] for row in rows} == {item["value"] for item in body["items"]}
        other = world.b if who == "a" else world.a
        refused = client.get(SHARED, params={"audience": f"member:{other}"}, headers=headers)
        assert refused.status_code == 404
        assert world.found_in(refused.text) == frozenset()


def test_cert_staff_see_any_audiences_view(
    client: TestClient, token: TokenMaker, world: SharingWorld
) -> None:
    headers = token(Role.CERT_READONLY)
    assert world.found_in(client.get(SHARED, headers=headers).text) == EXPECTED["cert"]
    for audience, expected in (
        (f"member:{world.a}", EXPECTED["a"]),
        (f"member:{world.b}", EXPECTED["b"]),
        ("public", EXPECTED["public"]),
        (f"named:{world.b}", {"amber_b"}),
    ):
        answer = client.get(SHARED, params={"audience": audience}, headers=headers)
        assert world.found_in(answer.text) == expected, audience
    bad = client.get(SHARED, params={"audience": "everyone"}, headers=headers)
    assert bad.status_code == 422


def test_filters_and_pages(client: TestClient, token: TokenMaker, world: SharingWorld) -> None:
    headers = token(Role.MEMBER_USER, world.a)
    seen: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        body = client.get(SHARED, params=params, headers=headers).json()
        seen += [item["value"] for item in body["items"]]
        if body["next"] is None:
            break
        params = {"limit": "3", "after": body["next"]}
    assert world.found_in(" ".join(seen)) == EXPECTED["a"]
    assert len(seen) == len(EXPECTED["a"])
    none = client.get(SHARED, params={"type": "md5"}, headers=headers).json()
    assert none["items"] == []
    later = client.get(SHARED, params={"updated_since": "2030-01-01T00:00:00Z"}, headers=headers)
    assert later.json()["items"] == []


def test_csv_cells_are_guarded_against_formulas(
    client: TestClient, token: TokenMaker, platform: Platform
) -> None:
    with platform.session() as session:
        load_indicators(
            session,
            CERT_ADMIN,
            b'value,type,tlp,description\nformula.example.no,domain,GREEN,"=HYPERLINK(""x"")"\n',
            clock=platform.clock,
            fmt="csv",
            source="formula",
        )
    answer = client.get(SHARED, params={"format": "csv"}, headers=token(Role.CERT_ANALYST))
    [row] = [r for r in csv.DictReader(io.StringIO(answer.text)) if r["source"] == "formula"]
    assert row["description"] == '\'=HYPERLINK("x")'


def test_the_misp_feed_over_http_is_the_callers(
    client: TestClient, token: TokenMaker, world: SharingWorld
) -> None:
    headers = token(Role.MEMBER_USER, world.b)
    manifest = client.get("/api/v1/intel/misp-feed/manifest.json", headers=headers)
    assert manifest.status_code == 200
    received = ""
    for uuid in manifest.json():
        event = client.get(f"/api/v1/intel/misp-feed/{uuid}.json", headers=headers)
        assert event.status_code == 200
        received += event.text
    assert world.found_in(received) == EXPECTED["b"]
    hashes = client.get("/api/v1/intel/misp-feed/hashes.csv", headers=headers).text
    assert len(hashes.splitlines()) == len(EXPECTED["b"])
    missing = client.get(
        "/api/v1/intel/misp-feed/00000000-0000-4000-8000-000000000000.json", headers=headers
    )
    assert missing.status_code == 404
    assert client.get("/api/v1/intel/misp-feed/..%2Fsecret.json", headers=headers).status_code in (
        404,
    )


def test_cli_share_unshare_and_export(fresh_database_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with migrated_platform(fresh_database_url, data_dir) as platform, platform.session() as s:
        world = make_sharing_world(s, platform.clock)
    cli = Cli(fresh_database_url, data_dir)
    green = str(world.ids["green"])
    amber = str(world.ids["amber_b"])
    refused = cli("intel", "share", green, "--with", str(world.a), code=2)
    assert "only AMBER and AMBER+STRICT" in refused.stdout + refused.stderr
    cli("intel", "share", amber, "--with", str(world.a), "--note", "targeted")
    with migrated_platform(fresh_database_url, data_dir) as platform, platform.session() as s:
        named = list_audience(s, CERT_ADMIN, world.ids["amber_b"])
        assert [m.organisation_id for m in named] == [world.a, world.b]
        found, _ = list_indicators(s, CERT_ADMIN, IndicatorFilter(source="canary"))
        assert len(found) == 8
    out = tmp_path / "out"
    summary = json.loads(
        cli(
            "intel",
            "export",
            "--format",
            "json",
            "--for",
            str(world.a),
            "--out",
            str(out),
            "--json",
        ).stdout
    )
    assert summary["audience"] == f"member:{world.a}"
    text = (out / "indicators.json").read_text()
    assert world.found_in(text) == EXPECTED["a"] | {"amber_b"}
    cli("intel", "unshare", amber, "--with", str(world.a))
    cli("intel", "export", "--format", "json", "--for", str(world.a), "--out", str(out))
    assert world.found_in((out / "indicators.json").read_text()) == EXPECTED["a"]
    cli("intel", "export", "--format", "csv", "--out", str(out), code=2)  # no recipients
    cli("intel", "export", "--format", "csv", "--audience", "cert", "--out", str(out), code=2)
