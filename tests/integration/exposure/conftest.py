"""Fixtures for the exposure tests: members with loopback networks (127.0.0.0/8 only)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from support.exposure import make_member
from vardeild.core.clock import FixedClock


@pytest.fixture
def member(session: Session, clock: FixedClock) -> dict[str, Any]:
    """A member in the programme with 127.0.0.0/24 facing the Internet."""
    return make_member(session, clock)


@pytest.fixture
def other_member(session: Session, clock: FixedClock) -> dict[str, Any]:
    """A second member, with 127.0.1.0/24."""
    return make_member(session, clock, networks=["127.0.1.0/24"], domains=["klinikk.test.no"])
