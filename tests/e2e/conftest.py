"""Fixtures of the browser tests: the platform served by uvicorn on a loopback port, and real
headless Chromium (Debian's, through Selenium and chromedriver) that never goes online on its
own. Skips when Chromium is not installed (scripts/bootstrap.sh --test installs it), or fails
instead under VARDEILD_REQUIRE_BROWSER=1. Screenshots go to ARTIFACTS (test-artifacts/)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn

from vardeild.app import build_platform, create_web_app
from vardeild.platform import Platform
from vardeild.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_or_skip() -> None:
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if missing:
        message = f"no browser for the e2e tests: {missing} absent (scripts/bootstrap.sh)"
        if os.environ.get("VARDEILD_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Platform]]:
    """The platform on a fresh SQLite database, served by uvicorn on a loopback port."""
    _browser_or_skip()
    platform = build_platform(Settings(data_dir=tmp_path / "data"), migrate=True)
    port = _free_port()
    config = uvicorn.Config(
        create_web_app(platform), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", platform
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        platform.engine.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    """Headless Chromium that never goes online on its own."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1000,800",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def artifacts() -> Path:
    """The directory screenshots go to (CI keeps it as the run's artifacts)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def arrive(browser: object, served: tuple[str, Platform]) -> Callable[[str], None]:
    """Return a function that waits (at most 15 s) until the browser shows path, loaded: a
    click returns before the next page has loaded."""
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    assert isinstance(browser, WebDriver)
    base = served[0]

    def wait(path: str) -> None:
        WebDriverWait(browser, 15).until(expected_conditions.url_to_be(f"{base}{path}"))
        WebDriverWait(browser, 15).until(
            lambda b: b.execute_script("return document.readyState") == "complete"
        )

    return wait
