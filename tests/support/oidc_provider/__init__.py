"""A real OpenID Connect provider for the tests: oidc-provider 8 (npm, pinned in this
directory's package-lock.json, installed by scripts/bootstrap.sh --test) run by Node from
provider.mjs on a free loopback port, with one static client and the accounts the test names.
Skips when Node or the package is missing, or fails instead under VARDEILD_REQUIRE_OIDC=1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CLIENT_ID = "vardeild-test"
CLIENT_SECRET = "a-client-secret-for-the-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_provider(redirect_uri: str, accounts: dict[str, dict[str, Any]]) -> Iterator[str]:
    """Run the provider while in the block; yield its issuer URL. Any password signs in on
    its login page; the login names the account (accounts: login -> claims)."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        message = "no OIDC provider for the tests: node or its npm packages (scripts/bootstrap.sh)"
        if os.environ.get("VARDEILD_REQUIRE_OIDC") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": redirect_uri,
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    process = subprocess.Popen(
        [node, "provider.mjs", str(_free_port())], cwd=HERE, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening "), f"the provider did not start: {line!r}"
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
