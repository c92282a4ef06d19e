"""`vardeild vulndb load|sync|stats`, run in-process against a fresh database of the backend
under test (the CLI commits for real)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.cli import Cli, migrated_platform
from support.vulndb import cpe_match, epss_csv, kev_catalogue, nvd_cve, nvd_response
from vardeild.platform import Platform

SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"


@pytest.fixture
def platform_(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


@pytest.fixture
def cli(platform_: Platform, fresh_database_url: str, tmp_path: Path) -> Cli:
    return Cli(fresh_database_url, tmp_path / "data")


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """An offline mirror: an NVD page, a KEV catalogue, gzip EPSS and a file of no known kind."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "nvd.json").write_bytes(
        nvd_response(
            nvd_cve("CVE-2099-4001", [cpe_match(SSH, end_ex="9.3p2")]),
            {"cve": {"id": "CVE-2099-4002", "configurations": "not a list"}},
        )
    )
    (folder / "kev.json").write_bytes(kev_catalogue(("CVE-2099-4001", True)))
    (folder / "epss.csv.gz").write_bytes(gzip.compress(epss_csv(("CVE-2099-4001", 0.4, 0.9))))
    return folder


def test_load_a_mirror_then_stats(cli: Cli, mirror: Path) -> None:
    result = cli("vulndb", "load", str(mirror))
    assert "nvd.json: nvd, 1 read: 1 new, 0 changed, 0 unchanged." in result.stdout
    assert "kev.json: kev, 1 read: 1 new" in result.stdout
    assert "epss.csv.gz: epss, 1 read: 1 new" in result.stdout
    assert "vulnerabilities[1] (CVE-2099-4002): 'configurations' is not a list" in result.stderr
    again = cli.json("vulndb", "load", str(mirror / "nvd.json"))
    assert again["loaded"][0]["unchanged"] == 1
    stats = cli.json("vulndb", "stats")
    assert (stats["cves"], stats["kev"], stats["kev_ransomware"], stats["epss"]) == (1, 1, 1, 1)
    assert "CVEs" in cli("vulndb", "stats").stdout


def test_a_file_of_no_known_kind_is_refused_and_the_others_load(cli: Cli, mirror: Path) -> None:
    (mirror / "notes.json").write_text('{"hello": "world"}')
    result = cli("vulndb", "load", str(mirror), code=2)
    assert "notes.json: JSON, but not an NVD response" in result.stderr
    assert cli.json("vulndb", "stats")["kev"] == 1


def test_sync_from_a_loopback_mirror(cli: Cli, mirror: Path) -> None:
    handler = partial(SimpleHTTPRequestHandler, directory=str(mirror))
    SimpleHTTPRequestHandler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        cli.env |= {
            "VARDEILD_VULNDB_KEV_URL": f"{base}/kev.json",
            "VARDEILD_VULNDB_EPSS_URL": f"{base}/epss.csv.gz",
            "VARDEILD_VULNDB_NVD_URL": f"{base}/nvd.json",
            "VARDEILD_VULNDB_NVD_PAUSE_SECONDS": "0",
        }
        done = cli.json("vulndb", "sync", "--source", "kev", "--source", "epss", "--source", "nvd")
        assert [(d["kind"], d["created"]) for d in done] == [("kev", 1), ("epss", 1), ("nvd", 1)]
        cli.env["VARDEILD_VULNDB_KEV_URL"] = f"{base}/gone.json"
        failed = cli("vulndb", "sync", "--source", "kev", code=1)
        assert "sync failed" in failed.stderr
        assert "gone.json: HTTP 404" in failed.stderr
        cli("vulndb", "sync", "--source", "nothing", code=2)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_match_says_which_cves_apply_and_why(cli: Cli, mirror: Path) -> None:
    assert (
        "no vulnerability knowledge is stored yet"
        in cli("vulndb", "match", "--cpe", "cpe:/a:openbsd:openssh:9.1").stdout
    )
    cli("vulndb", "load", str(mirror))
    [match] = cli.json("vulndb", "match", "--cpe", "cpe:/a:openbsd:openssh:9.1")
    assert match["cve_id"] == "CVE-2099-4001"
    assert "9.3p2" in match["reason"]
    assert match["kev"] is True
    assert match["kev_ransomware"] is True
    assert match["epss"] == 0.4
    by_name = cli.json(
        "vulndb", "match", "--vendor", "openbsd", "--product", "openssh", "--version", "9.4"
    )
    assert by_name == []  # 9.4 is after the range's end
    table = cli("vulndb", "match", "--product", "openssh", "--version", "9.1").stdout
    assert "CVE-2099-4001" in table
    refused = cli("vulndb", "match", "--product", "openssh", code=2)
    assert "give --cpe, or --product and --version" in refused.stderr
