"""The TAXII 2.1 server: collections per audience, each caller seeing only its own; objects
with added_after, match[type], match[id], limit and next; the manifest; media types; and
taxii2-client, a client nobody here wrote, reading every collection from `vardeild serve`
over loopback, the STIX it receives passing stix2-validator."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import Server, as_pages

from support.cli import migrated_platform
from support.factories import CERT_ADMIN
from support.sensors import free_port
from support.sharing import EXPECTED, SharingWorld, make_sharing_world
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.core.tlp import Tlp
from vardeild.intel.sharing import Audience
from vardeild.intel.stix_out import TLP_MARKING_IDS
from vardeild.platform import Platform
from vardeild.web.routes.taxii import TAXII_MEDIA_TYPE, collection_id

ROOT = "/taxii2/api"
ACCEPT = {"Accept": TAXII_MEDIA_TYPE}


def _token(platform: Platform, role: Role, organisation_id: int | None = None) -> str:
    with platform.session() as session:
        issued = issue_token(
            session,
            CERT_ADMIN,
            clock=platform.clock,
            name=f"taxii {role.value}",
            role=role,
            organisation_id=organisation_id,
        )
    return issued.secret


@pytest.fixture
def world(platform: Platform) -> SharingWorld:
    with platform.session() as session:
        return make_sharing_world(session, platform.clock)


@pytest.fixture
def client(platform: Platform) -> TestClient:
    return TestClient(create_web_app(platform))


def _headers(secret: str | None) -> dict[str, str]:
    return {**ACCEPT, **({"Authorization": f"Bearer {secret}"} if secret else {})}


def _all_objects(client: TestClient, cid: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get(f"{ROOT}/collections/{cid}/objects/", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json().get("objects", [])


def test_discovery_and_api_root_answer_in_taxii_json(client: TestClient) -> None:
    found = client.get("/taxii2/", headers=ACCEPT)
    assert found.status_code == 200
    assert found.headers["content-type"] == TAXII_MEDIA_TYPE
    assert found.json()["api_roots"] == ["http://testserver/taxii2/api/"]
    root = client.get(f"{ROOT}/", headers=ACCEPT).json()
    assert root["versions"] == [TAXII_MEDIA_TYPE]
    refused = client.get("/taxii2/", headers={"Accept": "application/taxii+json;version=2.0"})
    assert refused.status_code == 406
    assert refused.json()["http_status"] == "406"


def test_each_caller_lists_only_its_collections(
    client: TestClient, platform: Platform, world: SharingWorld
) -> None:
    a = _token(platform, Role.MEMBER_USER, world.a)
    cert = _token(platform, Role.CERT_READONLY)
    public, members = collection_id(Audience.public()), collection_id(Audience.all_members())
    named_a, named_b = (
        collection_id(Audience.named(world.a)),
        collection_id(Audience.named(world.b)),
    )

    def listed(secret: str | None) -> set[str]:
        answer = client.get(f"{ROOT}/collections/", headers=_headers(secret))
        assert answer.status_code == 200
        return {c["id"] for c in answer.json()["collections"]}

    assert listed(None) == {public}
    assert listed(a) == {public, members, named_a}
    assert {public, members, named_a, named_b} <= listed(cert)
    assert client.get(f"{ROOT}/collections/{named_b}/", headers=_headers(a)).status_code == 404
    for path in ("", "objects/", "manifest/"):
        assert (
            client.get(f"{ROOT}/collections/{named_b}/{path}", headers=_headers(a)).status_code
            == 404
        )
        anonymous = client.get(f"{ROOT}/collections/{members}/{path}", headers=ACCEPT)
        assert anonymous.status_code == 401
        assert "Basic" in anonymous.headers["www-authenticate"]
    bad = client.get(f"{ROOT}/collections/", headers=_headers("vdt_not-a-token"))
    assert bad.status_code == 401


def test_collections_hold_exactly_their_canaries(
    client: TestClient, platform: Platform, world: SharingWorld
) -> None:
    a = _token(platform, Role.MEMBER_USER, world.a)
    cases = {
        (collection_id(Audience.public()), None): EXPECTED["public"],
        (collection_id(Audience.all_members()), a): frozenset({"green", "clear"}),
        (collection_id(Audience.named(world.a)), a): frozenset({"amber_strict_a", "amber_a"}),
    }
    for (cid, secret), expected in cases.items():
        objects = _all_objects(client, cid, _headers(secret))
        assert world.found_in(str(objects)) == expected
        markings = {o["id"] for o in objects if o["type"] == "marking-definition"}
        used = {ref for o in objects for ref in o.get("object_marking_refs", [])}
        assert used <= markings
        assert TLP_MARKING_IDS[Tlp.RED] not in markings


def test_paging_with_limit_next_and_the_date_headers(
    client: TestClient, platform: Platform, world: SharingWorld
) -> None:
    cert = _token(platform, Role.CERT_ANALYST)
    cid = collection_id(Audience.named(world.a))
    whole = _all_objects(client, cid, _headers(cert))
    assert len(whole) == 5  # identity, AMBER and AMBER+STRICT markings, two indicators
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    pages = 0
    while True:
        answer = client.get(
            f"{ROOT}/collections/{cid}/objects/", params=params, headers=_headers(cert)
        )
        body = answer.json()
        seen += [o["id"] for o in body["objects"]]
        assert (
            answer.headers["X-TAXII-Date-Added-First"] <= answer.headers["X-TAXII-Date-Added-Last"]
        )
        pages += 1
        if not body["more"]:
            break
        params = {"limit": "2", "next": body["next"]}
    assert pages == 3
    assert seen == [o["id"] for o in whole]
    manifest = client.get(f"{ROOT}/collections/{cid}/manifest/", headers=_headers(cert)).json()
    assert [m["id"] for m in manifest["objects"]] == seen
    assert {m["media_type"] for m in manifest["objects"]} == {"application/stix+json;version=2.1"}


def test_filters(client: TestClient, platform: Platform, world: SharingWorld) -> None:
    cert = _token(platform, Role.CERT_ANALYST)
    cid = collection_id(Audience.all_members())
    url = f"{ROOT}/collections/{cid}/objects/"
    indicators = client.get(url, params={"match[type]": "indicator"}, headers=_headers(cert))
    found = indicators.json()["objects"]
    assert {o["type"] for o in found} == {"indicator"}
    assert world.found_in(str(found)) == {"green", "clear"}
    one = found[0]["id"]
    by_id = client.get(url, params={"match[id]": one}, headers=_headers(cert)).json()["objects"]
    assert [o["id"] for o in by_id] == [one]
    single = client.get(f"{url}{one}/", headers=_headers(cert))
    assert [o["id"] for o in single.json()["objects"]] == [one]
    versions = client.get(f"{url}{one}/versions/", headers=_headers(cert)).json()
    assert versions["versions"] == [found[0]["modified"]]
    later = (platform.clock.now() + timedelta(minutes=1)).isoformat()
    assert (
        "objects"
        not in client.get(url, params={"added_after": later}, headers=_headers(cert)).json()
    )
    red = world.canaries["red"]
    assert (
        client.get(
            f"{url}indicator--00000000-0000-4000-8000-000000000000/", headers=_headers(cert)
        ).status_code
        == 404
    )
    assert red not in str(found)
    assert (
        client.get(url, params={"added_after": "yesterday"}, headers=_headers(cert)).status_code
        == 400
    )


# --- a real client over a real server -------------------------------------------------------


@contextmanager
def _serve(database_url: str, data_dir: Path, log: Path) -> Iterator[str]:
    """Run `vardeild serve` on a free loopback port; yield its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VARDEILD_")}
    env.update(VARDEILD_DATABASE_URL=database_url, VARDEILD_DATA_DIR=str(data_dir))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "vardeild.cli.main", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not come up in 30 s"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _read_all(server: Server) -> dict[str, list[dict[str, Any]]]:
    """Read every object of every collection the server lists, page by page."""
    found: dict[str, list[dict[str, Any]]] = {}
    for root in server.api_roots:
        for collection in root.collections:
            objects: list[dict[str, Any]] = []
            for envelope in as_pages(collection.get_objects, per_request=2):
                objects += envelope.get("objects", [])
            found[collection.id] = objects
    return found


def test_taxii2_client_reads_every_collection_and_the_stix_validates(
    fresh_database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with migrated_platform(fresh_database_url, data_dir) as platform:
        with platform.session() as session:
            world = make_sharing_world(session, platform.clock)
        a = _token(platform, Role.MEMBER_USER, world.a)
        b = _token(platform, Role.MEMBER_ADMIN, world.b)
    with _serve(fresh_database_url, data_dir, tmp_path / "serve.log") as base:
        readers = {
            "public": Server(f"{base}/taxii2/"),
            "a": Server(f"{base}/taxii2/", user="anything", password=a),
            "b": Server(f"{base}/taxii2/", auth=_Bearer(b)),
        }
        for who, server in readers.items():
            assert server.title.endswith("TAXII")
            collections = _read_all(server)
            received = set()
            for objects in collections.values():
                received |= world.found_in(str(objects))
                made = {
                    "type": "bundle",
                    "id": "bundle--6a0b9c2e-7d4f-4b1a-8c3e-2f5d6e7a8b9c",
                    "objects": objects,
                }
                result = validate_instance(made, ValidationOptions(version="2.1"))
                assert result.is_valid, [str(e) for e in result.errors]
            assert received == EXPECTED[who], who
        named_b = collection_id(Audience.named(world.b))
        answer = requests.get(
            f"{base}{ROOT}/collections/{named_b}/objects/",
            headers={**ACCEPT, "Authorization": f"Bearer {a}"},
            timeout=10,
        )
        assert answer.status_code == 404


class _Bearer(requests.auth.AuthBase):
    """A bearer token, as taxii2-client takes any requests auth."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.secret}"
        return request


def test_bad_parameters_and_version_matching(
    client: TestClient, platform: Platform, world: SharingWorld
) -> None:
    cert = _token(platform, Role.CERT_ANALYST)
    url = f"{ROOT}/collections/{collection_id(Audience.all_members())}/objects/"
    for params in ({"limit": "0"}, {"limit": "many"}, {"next": "not-ours"}):
        answer = client.get(url, params=params, headers=_headers(cert))
        assert answer.status_code == 400, params
        assert answer.headers["content-type"] == TAXII_MEDIA_TYPE
    older = client.get(url, params={"match[spec_version]": "2.0"}, headers=_headers(cert))
    assert "objects" not in older.json()
    indicators = client.get(url, params={"match[type]": "indicator"}, headers=_headers(cert))
    first = indicators.json()["objects"][0]
    same = client.get(
        url,
        params={"match[id]": first["id"], "match[version]": first["modified"]},
        headers=_headers(cert),
    ).json()["objects"]
    assert [o["id"] for o in same] == [first["id"]]
    other = client.get(
        url,
        params={"match[id]": first["id"], "match[version]": "2020-01-01T00:00:00.000Z"},
        headers=_headers(cert),
    ).json()
    assert "objects" not in other
    capped = client.get(url, params={"limit": "100000"}, headers=_headers(cert))
    assert capped.status_code == 200  # more than page_size_max is served as the maximum
