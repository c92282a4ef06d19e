"""Bench the portal's sign-in: what one password check costs, and the pages' answer times.

    .venv/bin/python benches/portal_signin.py [--rounds 20] [--json]

On a fresh SQLite database in a temporary directory, through the real app (Starlette's
TestClient, in process, so no network is timed), it reports medians of:

- an argon2id hash and a verification at the parameters the accounts service uses (these set
  the price of every sign-in, right or wrong, and of an unknown address);
- GET /signin (template rendering, the CSRF seed);
- a full sign-in: POST /signin (password) and POST /signin/totp (code), each a 303;
- GET /portal signed in (the session looked up by its hash).

The machine's load is printed beside the figures: on a busy machine they grow.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from vardeild.access.model import SYSTEM, Role
from vardeild.accounts import service as accounts
from vardeild.accounts.model import new_totp_secret, totp_code
from vardeild.accounts.service import _HASHER
from vardeild.app import build_platform, create_web_app
from vardeild.core.clock import FixedClock, SystemClock
from vardeild.settings import Settings
from vardeild.web.pages.context import build_state

_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
PASSWORD = "fjell-og-fjord-2026"  # noqa: S105 - a bench account's, made here


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def run(rounds: int) -> dict[str, Any]:
    """Return the medians, in milliseconds, over rounds."""
    hashes, verifies = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        stored = _HASHER.hash(PASSWORD)
        hashes.append(time.perf_counter() - start)
        start = time.perf_counter()
        _HASHER.verify(stored, PASSWORD)
        verifies.append(time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(SystemClock().now())
        platform = build_platform(
            Settings(data_dir=Path(tmp), portal_address_max_failures=10_000),
            clock=clock,
            migrate=True,
        )
        secret = new_totp_secret()
        with platform.session() as session:
            user = accounts.create_user(
                session, SYSTEM, clock=clock, email="bench@cert.example", display_name="Bench",
                role=Role.CERT_ANALYST, organisation_id=None, password=PASSWORD,
            )  # fmt: skip
            accounts.enrol_totp_secret(
                session, user.id, secret, config=build_state(platform).config
            )
        app = create_web_app(platform)
        render, signin, home = [], [], []
        for _ in range(rounds):
            clock.advance(timedelta(seconds=30))  # a new code each round (no replay)
            client = TestClient(app)
            start = time.perf_counter()
            page = client.get("/signin")
            render.append(time.perf_counter() - start)
            found = _TOKEN.search(page.text)
            assert found
            start = time.perf_counter()
            first = client.post(
                "/signin",
                data={"csrf_token": found.group(1), "email": user.email, "password": PASSWORD},
                follow_redirects=False,
            )
            step = _TOKEN.search(client.get("/signin/totp").text)
            assert first.status_code == 303
            assert step
            second = client.post(
                "/signin/totp",
                data={"csrf_token": step.group(1), "code": totp_code(secret, clock.now())},
                follow_redirects=False,
            )
            signin.append(time.perf_counter() - start)
            assert second.headers["location"] == "/portal"
            start = time.perf_counter()
            assert client.get("/portal").status_code == 200
            home.append(time.perf_counter() - start)
        platform.engine.dispose()
    return {
        "rounds": rounds,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "argon2id_hash_ms": _median_ms(hashes),
        "argon2id_verify_ms": _median_ms(verifies),
        "get_signin_ms": _median_ms(render),
        "full_signin_ms": _median_ms(signin),
        "get_portal_signed_in_ms": _median_ms(home),
    }


def main() -> None:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:26} {value}")


if __name__ == "__main__":
    main()
