"""Evidence uploaded from the console's case page: one multipart file with the page's CSRF
token, stored by its SHA-256 and listed on the case; too large is a clear 413 page and stores
nothing; without the token 403; a member may not (404 for a case it is not in, 403 in its own)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from fastapi.testclient import TestClient
from httpx import Response

from support.portal import csrf_token, make_user, sign_in
from support.web import TokenMaker
from vardeild.access.model import Role
from vardeild.platform import Platform
from vardeild.settings import Settings

API = "/api/v1"


def _case(client: TestClient, headers: dict[str, str], a: int) -> int:
    made = client.post(
        f"{API}/cases",
        json={"title": "Innbrudd i filserver", "affected_organisation_ids": [a]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _browser(
    client: TestClient, platform: Platform, email: str, *, role: Role = Role.CERT_ANALYST,
    organisation_id: int | None = None,
) -> TestClient:  # fmt: skip
    browser = TestClient(client.app)
    user = make_user(platform, email=email, totp=False, role=role, organisation_id=organisation_id)
    sign_in(browser, user, platform.clock)
    return browser


def _upload(
    browser: TestClient, case_id: int, data: bytes, *, token: str | None = None, **fields: str
) -> Response:
    if token is None:
        token = csrf_token(browser.get(f"/console/cases/{case_id}").text)
    form = {"visibility": "internal", **fields}
    if token:
        form["csrf_token"] = token
    return browser.post(
        f"/console/cases/{case_id}/attachments",
        data=form,
        files={"file": ("logg fra brannmur.txt", data, "text/plain")},
        follow_redirects=False,
    )


def test_an_analyst_uploads_evidence_from_the_case_page(
    client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    a, _ = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a)
    analyst = _browser(client, platform, "ada@cert.evidence.example")
    page = analyst.get(f"/console/cases/{case_id}")
    assert 'enctype="multipart/form-data"' in page.text
    assert 'id="upload-evidence"' in page.text

    data = b"2026-11-28 12:00 DENY 203.0.113.9 -> 10.0.0.5:445\n"
    stored = _upload(analyst, case_id, data, visibility="shared", tlp="GREEN")
    assert stored.status_code == 303, stored.text
    assert stored.headers["location"] == f"/console/cases/{case_id}?done=attachment"
    [record] = client.get(f"{API}/cases/{case_id}/attachments", headers=cert).json()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert (record["filename"], record["visibility"], record["tlp"]) == (
        "logg fra brannmur.txt",
        "shared",
        "GREEN",
    )
    assert record["sha256"] in analyst.get(f"/console/cases/{case_id}").text
    got = analyst.get(f"/console/cases/{case_id}/attachments/{record['id']}")
    assert got.content == data

    # No token, or another's: refused before anything is stored.
    assert _upload(analyst, case_id, b"x", token="").status_code == 403
    assert _upload(analyst, case_id, b"x", token="forged").status_code == 403
    # A form without a file is told so.
    form = {"csrf_token": csrf_token(analyst.get(f"/console/cases/{case_id}").text)}
    empty = analyst.post(f"/console/cases/{case_id}/attachments", data=form)
    assert empty.status_code == 422
    assert len(client.get(f"{API}/cases/{case_id}/attachments", headers=cert).json()) == 1


def test_too_large_evidence_is_a_clear_page_and_stores_nothing(
    client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    platform.settings = Settings(
        data_dir=platform.settings.data_dir, case_attachment_max_bytes=2048
    )
    a, _ = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a)
    analyst = _browser(client, platform, "ada@cert.large.example")
    # Just over the setting: read, measured and refused.
    over = _upload(analyst, case_id, b"a" * 2049)
    assert over.status_code == 413
    assert "The file is too large" in over.text or "Filen er for stor" in over.text
    assert "2,048" in over.text
    # Far over: refused from Content-Length, before the body is read.
    far = _upload(analyst, case_id, b"b" * (200 * 1024))
    assert far.status_code == 413
    assert client.get(f"{API}/cases/{case_id}/attachments", headers=cert).json() == []
    assert _upload(analyst, case_id, b"c" * 2048).status_code == 303


def test_a_member_cannot_upload_from_the_pages(
    client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    a, b = members
    cert = token(Role.CERT_ANALYST)
    case_id = _case(client, cert, a)
    for email, organisation, status in (
        ("admin@a.evidence.example", a, 403),  # its own case: the CERT's form
        ("admin@b.evidence.example", b, 404),  # another's case: as if there were none
    ):
        member = _browser(
            client, platform, email, role=Role.MEMBER_ADMIN, organisation_id=organisation
        )
        token_of_member = csrf_token(member.get("/portal/cases").text)
        answer = _upload(member, case_id, b"fra medlem", token=token_of_member)
        assert answer.status_code == status, email
    assert client.get(f"{API}/cases/{case_id}/attachments", headers=cert).json() == []


def test_who_may_not_upload_is_refused_before_the_body_is_read(
    client: TestClient, platform: Platform, token: TokenMaker, members: tuple[int, int]
) -> None:
    """The body is a stream that notes when the server takes its first part: a member's and a
    read-only analyst's uploads are refused without it being taken; an editor's is read."""
    a, _ = members
    case_id = _case(client, token(Role.CERT_ANALYST), a)
    callers = {
        "member": (
            _browser(
                client, platform, "admin@a.read.example", role=Role.MEMBER_ADMIN,
                organisation_id=a,
            ),
            403,
        ),
        "readonly": (
            _browser(client, platform, "les@cert.read.example", role=Role.CERT_READONLY),
            403,
        ),
        "analyst": (_browser(client, platform, "ada@cert.read.example"), 303),
    }  # fmt: skip
    for who, (browser, status) in callers.items():
        page_token = csrf_token(browser.get("/portal").text)
        boundary = "vardeildgrense"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{page_token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="bevis.txt"\r\nContent-Type: text/plain\r\n\r\nbevis\r\n--{boundary}--\r\n'
        ).encode()
        taken: list[bool] = []

        def stream(data: bytes = body, taken: list[bool] = taken) -> Iterator[bytes]:
            taken.append(True)
            yield data

        answer = browser.post(
            f"/console/cases/{case_id}/attachments",
            content=stream(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(body)),
            },
            follow_redirects=False,
        )
        assert answer.status_code == status, f"{who}: {answer.status_code} {answer.text[:200]}"
        assert bool(taken) is (who == "analyst"), f"{who}: body taken {bool(taken)}"
