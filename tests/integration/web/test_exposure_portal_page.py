"""A member reads its vulnerability overview in the portal, signed in with a password and TOTP:
the page, and the PDF and CSV from the same data; another member's answers 404."""

from __future__ import annotations

from typing import cast

from fastapi.testclient import TestClient

from support.exposure import make_member
from support.factories import CERT
from support.portal import make_user, sign_in
from vardeild.access.model import Role
from vardeild.core.clock import FixedClock
from vardeild.exposure import service
from vardeild.exposure.model import ObservedService, ParsedScan, Source
from vardeild.platform import Platform


def _member_with_an_exposure(platform: Platform, product: str) -> int:
    with platform.session() as session:
        member = make_member(session, platform.clock)
        scan = ParsedScan(
            source=Source.NMAP,
            name="test scan",
            services=[
                ObservedService(address="127.0.0.7", port=8443, product=product, version="1.0")
            ],
        )
        service.record_scan(
            session, CERT, member["id"], scan, matcher=None,
            config=service.ExposureConfig(), now=platform.clock.now(),
        )  # fmt: skip
    return int(member["id"])


def test_a_member_reads_its_own_overview_and_not_anothers(
    client: TestClient, platform: Platform
) -> None:
    clock = cast(FixedClock, platform.clock)
    own = _member_with_an_exposure(platform, "OwnProduct")
    other = _member_with_an_exposure(platform, "ForeignProduct")
    user = make_user(
        platform, email="it@medlem.example", role=Role.MEMBER_USER, organisation_id=own
    )
    assert client.get("/portal/exposure", follow_redirects=False).status_code == 303
    sign_in(client, user, clock, landing="/portal/exposure")  # back to the page asked for

    assert 'href="/portal/exposure"' in client.get("/portal").text
    page = client.get("/portal/exposure")
    assert page.status_code == 200
    assert "OwnProduct" in page.text
    assert "ForeignProduct" not in page.text
    assert page.headers["x-tlp"].startswith("TLP:")
    assert "script-src" not in page.headers["content-security-policy"]
    pdf = client.get("/portal/exposure?format=pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
    csv = client.get("/portal/exposure?format=csv")
    assert csv.status_code == 200
    assert "attachment" in csv.headers["content-disposition"]

    foreign = client.get(f"/portal/exposure?organisation={other}")
    assert foreign.status_code == 404
    assert "ForeignProduct" not in foreign.text
