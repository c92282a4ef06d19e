"""Fixtures for the case API and pages: the app on the test's platform, a client, a token
maker, and two members with a contact each."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN, org_data
from support.web import Headers, TokenMaker, bearer
from vardeild.access.model import Role
from vardeild.access.service import issue_token
from vardeild.app import create_web_app
from vardeild.members import service
from vardeild.platform import Platform


@pytest.fixture
def app(platform: Platform) -> FastAPI:
    """The web application on the test's platform."""
    return create_web_app(platform)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    """A client of the app; server errors surface as exceptions in the test."""
    return TestClient(app)


@pytest.fixture
def token(platform: Platform) -> TokenMaker:
    """Return a function that issues a token and answers with its Authorization header."""

    def make(role: Role = Role.CERT_ADMIN, organisation_id: int | None = None) -> Headers:
        with platform.session() as session:
            issued = issue_token(
                session, CERT_ADMIN, clock=platform.clock, name=f"test {role.value}", role=role,
                organisation_id=organisation_id,
            )  # fmt: skip
        return bearer(issued.secret)

    return make


@pytest.fixture
def members(platform: Platform) -> tuple[int, int]:
    """Members A and B, each with a security contact (B's reads English)."""
    made = []
    for name, language in (("a", "nb"), ("b", "en")):
        contact = {"name": f"SOC {name}", "email": f"soc@{name}.case.example",
                   "roles": ["security"], "language": language}  # fmt: skip
        with platform.session() as session:
            org = service.create_organisation(
                session, CERT_ADMIN, org_data(contacts=[contact]), clock=platform.clock,
                key_inspector=platform.key_inspector,
            )  # fmt: skip
        made.append(int(org["id"]))
    return made[0], made[1]
