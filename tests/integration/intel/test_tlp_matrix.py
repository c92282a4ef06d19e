"""The TLP matrix: no TLP:RED and no out-of-audience AMBER indicator reaches anyone by any way
out.

One canary indicator at every TLP and audience (tests/support/sharing.py: RED, AMBER+STRICT
named to no one, AMBER+STRICT and AMBER named to A, AMBER named to B, GREEN, CLEAR, expired
GREEN). For each way out (a row of WAYS) and each recipient (member A, member B, an anonymous
caller, the CERT), the test collects everything the recipient receives and asserts exactly
which canaries it shows. A new way out is one row.

The world is committed once per backend to a real database; the HTTP ways go through the web
app, the CLI ways through `vardeild intel export`.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from support.cli import Cli, migrated_platform
from support.databases import postgres_schema, postgres_url_or_skip
from support.factories import CERT_ADMIN
from support.sharing import EXPECTED, LEVELS, SharingWorld, make_sharing_world
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.web.routes.taxii import TAXII_MEDIA_TYPE

RECIPIENTS = ("a", "b", "public", "cert")
# The CERT lists every member's AMBER collection over TAXII: it named those members itself.
CERT_ALL_NAMED = frozenset({"amber_strict_a", "amber_a", "amber_b", "green", "clear"})
NEVER = frozenset({"red", "amber_strict_unnamed", "expired_green"})


@dataclass
class Matrix:
    """The world, and how each recipient calls the API and the CLI."""

    world: SharingWorld
    client: TestClient
    headers: dict[str, dict[str, str]]  # recipient -> Authorization (none for public)
    cli: Cli
    audience: dict[str, list[str]]  # recipient -> the export's recipient options
    out: Path


Collect = Callable[[Matrix, str], str]


@dataclass(frozen=True)
class Way:
    """A way out: how to collect what a recipient receives, and whether it serves anonymous
    callers (an API that needs a token answers 401 and gives them nothing)."""

    name: str
    collect: Collect
    anonymous: bool = True
    cert_sees_all_named: bool = False


# --- the ways out -----------------------------------------------------------------------


def _taxii_collections(m: Matrix, who: str) -> list[str]:
    headers = {"Accept": TAXII_MEDIA_TYPE, **m.headers[who]}
    answer = m.client.get("/taxii2/api/collections/", headers=headers)
    assert answer.status_code == 200
    return [c["id"] for c in answer.json()["collections"]]


def _taxii_objects(m: Matrix, who: str) -> str:
    headers = {"Accept": TAXII_MEDIA_TYPE, **m.headers[who]}
    text = ""
    for cid in _taxii_collections(m, who):
        params: dict[str, str] = {"limit": "3"}
        while True:
            answer = m.client.get(
                f"/taxii2/api/collections/{cid}/objects/", params=params, headers=headers
            )
            assert answer.status_code == 200, answer.text
            text += answer.text
            body = answer.json()
            if not body.get("more"):
                break
            params = {"limit": "3", "next": body["next"]}
    return text


def _taxii_manifest(m: Matrix, who: str) -> str:
    headers = {"Accept": TAXII_MEDIA_TYPE, **m.headers[who]}
    text = ""
    for cid in _taxii_collections(m, who):
        base = f"/taxii2/api/collections/{cid}"
        manifest = m.client.get(f"{base}/manifest/", headers=headers).json()
        for entry in manifest.get("objects", []):
            answer = m.client.get(f"{base}/objects/{entry['id']}/", headers=headers)
            assert answer.status_code == 200
            text += answer.text
    return text


def _api(params: dict[str, str]) -> Collect:
    def collect(m: Matrix, who: str) -> str:
        answer = m.client.get("/api/v1/intel/shared", params=params, headers=m.headers[who])
        if who == "public":
            assert answer.status_code == 401
            return answer.text
        assert answer.status_code == 200
        return answer.text

    return collect


def _api_misp_feed(m: Matrix, who: str) -> str:
    base = "/api/v1/intel/misp-feed"
    manifest = m.client.get(f"{base}/manifest.json", headers=m.headers[who])
    if who == "public":
        assert manifest.status_code == 401
        return manifest.text
    text = manifest.text + m.client.get(f"{base}/hashes.csv", headers=m.headers[who]).text
    for uuid in manifest.json():
        text += m.client.get(f"{base}/{uuid}.json", headers=m.headers[who]).text
    return text


def _api_suricata(m: Matrix, who: str) -> str:
    base = "/api/v1/intel/suricata"
    index = m.client.get(base, headers=m.headers[who])
    if who == "public":
        assert index.status_code == 401
        return index.text
    assert index.status_code == 200, index.text
    text = ""
    for name in index.json()["files"]:
        content = m.client.get(f"{base}/{name}", headers=m.headers[who]).content
        text += _with_base64_decoded(name, content)
    return text


def _with_base64_decoded(name: str, content: bytes) -> str:
    """The file's text, and the values of a string dataset (base64 lines) decoded."""
    text = content.decode()
    if name.endswith(".lst"):
        for line in content.split():
            with contextlib.suppress(ValueError):  # not base64: hex or an address
                text += "\n" + base64.b64decode(line, validate=True).decode()
    return text


def _cli(fmt: str) -> Collect:
    def collect(m: Matrix, who: str) -> str:
        out = m.out / f"{fmt}-{who}"
        m.cli("intel", "export", "--format", fmt, *m.audience[who], "--out", str(out))
        text = ""
        for path in sorted(out.iterdir()):
            text += _with_base64_decoded(path.name, path.read_bytes())
        return text

    return collect


WAYS: tuple[Way, ...] = (
    Way("taxii-objects", _taxii_objects, cert_sees_all_named=True),
    Way("taxii-manifest", _taxii_manifest, cert_sees_all_named=True),
    Way("api-json", _api({}), anonymous=False),
    Way("api-csv", _api({"format": "csv"}), anonymous=False),
    Way("api-misp-feed", _api_misp_feed, anonymous=False),
    Way("api-suricata", _api_suricata, anonymous=False),
    Way("cli-stix", _cli("stix")),
    Way("cli-misp-feed", _cli("misp-feed")),
    Way("cli-misp-event", _cli("misp-event")),
    Way("cli-suricata", _cli("suricata")),
    Way("cli-csv", _cli("csv")),
    Way("cli-json", _cli("json")),
)


def expected(way: Way, who: str) -> frozenset[str]:
    """Return exactly the canaries the recipient must receive by the way out."""
    if who == "public" and not way.anonymous:
        return frozenset()
    if who == "cert" and way.cert_sees_all_named:
        return CERT_ALL_NAMED
    return EXPECTED[who]


# --- the world ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """The sharing world committed to a new database of the backend under test."""
    root = tmp_path_factory.mktemp("matrix")
    if make_url(database_url).get_backend_name() == "sqlite":
        yield from _matrix(f"sqlite:///{root / 'matrix.sqlite3'}", root)
        return
    with postgres_schema(postgres_url_or_skip(), "matrix") as url:
        yield from _matrix(url, root)


def _matrix(url: str, root: Path) -> Iterator[Matrix]:
    data_dir = root / "data"
    with migrated_platform(url, data_dir) as platform:
        with platform.session() as session:
            world = make_sharing_world(session, platform.clock)
        headers: dict[str, dict[str, str]] = {"public": {}}
        with platform.session() as session:
            for who, role, org in (
                ("a", Role.MEMBER_USER, world.a),
                ("b", Role.MEMBER_ADMIN, world.b),
                ("cert", Role.CERT_READONLY, None),
            ):
                issued = issue_token(
                    session,
                    CERT_ADMIN,
                    clock=platform.clock,
                    name=f"matrix {who}",
                    role=role,
                    organisation_id=org,
                )
                headers[who] = {"Authorization": f"Bearer {issued.secret}"}
        yield Matrix(
            world=world,
            client=TestClient(create_web_app(platform)),
            headers=headers,
            cli=Cli(url, data_dir),
            audience={
                "a": ["--for", str(world.a)],
                "b": ["--for", str(world.b)],
                "public": ["--audience", "public"],
                "cert": ["--audience", "all-members"],
            },
            out=root / "out",
        )


# --- the matrix ---------------------------------------------------------------------------


def test_the_world_has_every_level() -> None:
    assert set(EXPECTED) == set(RECIPIENTS)
    assert {"red", "amber_strict_unnamed", "expired_green"} <= set(LEVELS)


@pytest.mark.parametrize("way", WAYS, ids=lambda way: way.name)
@pytest.mark.parametrize("who", RECIPIENTS)
def test_each_recipient_receives_exactly_its_canaries(matrix: Matrix, way: Way, who: str) -> None:
    received = matrix.world.found_in(way.collect(matrix, who))
    assert not received & NEVER, f"{way.name} gave {who} {sorted(received & NEVER)}"
    assert received == expected(way, who), f"{way.name} to {who}"
