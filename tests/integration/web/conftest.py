"""Fixtures for the HTTP API: the app on the test's platform, a client, and token makers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.factories import CERT_ADMIN, org_data
from support.web import Headers, OrgMaker, TokenMaker, token_maker
from vardeild.access.model import Role
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
    return token_maker(platform)


@pytest.fixture
def cert(token: TokenMaker) -> Headers:
    """A CERT analyst's token."""
    return token(Role.CERT_ANALYST)


@pytest.fixture
def make_org(platform: Platform) -> OrgMaker:
    """Return a function that registers an organisation (as the CERT) and answers its
    snapshot."""

    def make(**overrides: Any) -> dict[str, Any]:
        with platform.session() as session:
            return service.create_organisation(
                session,
                CERT_ADMIN,
                org_data(**overrides),
                clock=platform.clock,
                key_inspector=platform.key_inspector,
            )

    return make
