"""The scan scope: from the registry only; a target outside it is refused and never scanned."""

from __future__ import annotations

from typing import Any

import pytest

from vardeild.exposure.nmap import ScanOptions, build_command, check_ports, in_window
from vardeild.exposure.scope import OutOfScope, resolve_targets, scope_from_snapshot


def organisation(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": 7,
        "name": "Testsykehuset",
        "membership": {"state": "active"},
        "services": ["monitoring", "vulnerability_overview"],
        "networks": [
            {"cidr": "127.0.10.0/24", "exposure": "internet"},
            {"cidr": "127.0.20.0/28", "exposure": "internet"},
            {"cidr": "127.0.30.0/24", "exposure": "internal"},
        ],
    }
    data.update(overrides)
    return data


def test_scope_is_the_internet_facing_networks() -> None:
    scope, why = scope_from_snapshot(organisation())
    assert why == ""
    assert scope is not None
    assert [str(n) for n in scope.networks] == ["127.0.10.0/24", "127.0.20.0/28"]
    assert scope.covers_address("127.0.10.5")
    assert not scope.covers_address("127.0.30.5")


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"services": ["monitoring"]}, "does not take the vulnerability-overview service"),
        ({"membership": {"state": "suspended"}}, "is not an active member (state: suspended)"),
        ({"networks": [{"cidr": "127.0.30.0/24", "exposure": "internal"}]}, "no registered"),
    ],
)
def test_no_scope(overrides: dict[str, Any], why: str) -> None:
    scope, reason = scope_from_snapshot(organisation(**overrides))
    assert scope is None
    assert why in reason


def test_targets_inside_are_kept_and_none_means_all() -> None:
    scope, _ = scope_from_snapshot(organisation())
    assert scope is not None
    assert resolve_targets(scope, ["127.0.10.8/29", "127.0.20.3"], max_addresses=4096) == [
        "127.0.10.8/29",
        "127.0.20.3/32",
    ]
    assert resolve_targets(scope, [], max_addresses=4096) == ["127.0.10.0/24", "127.0.20.0/28"]


def test_targets_outside_are_refused_all_named() -> None:
    scope, _ = scope_from_snapshot(organisation())
    assert scope is not None
    with pytest.raises(OutOfScope) as caught:
        resolve_targets(
            scope,
            ["127.0.10.0/24", "127.0.0.0/8", "127.0.30.1", "127.0.10.1/24", "not-an-ip"],
            max_addresses=4096,
        )
    problems = {p.record: p.message for p in caught.value.problems}
    assert set(problems) == {
        "target '127.0.0.0/8'",
        "target '127.0.30.1'",
        "target '127.0.10.1/24'",
        "target 'not-an-ip'",
    }
    assert (
        "outside the registered Internet-facing networks of Testsykehuset"
        in problems["target '127.0.30.1'"]
    )
    assert "host bits set" in problems["target '127.0.10.1/24'"]


def test_size_cap() -> None:
    scope, _ = scope_from_snapshot(organisation())
    assert scope is not None
    with pytest.raises(OutOfScope, match="256 addresses is more than the 100"):
        resolve_targets(scope, ["127.0.10.0/24"], max_addresses=100)


def test_command_line_is_exact() -> None:
    options = ScanOptions(ports="22,80,8000-8010", max_rate=50, host_timeout_seconds=60)
    assert build_command(["127.0.10.8/29"], options) == [
        "nmap", "-sV", "--version-intensity", "7", "-n", "-Pn", "--max-rate", "50",
        "--host-timeout", "60s", "--stats-every", "2s", "--script",
        "ssl-cert,ssl-enum-ciphers,http-title", "-p", "22,80,8000-8010", "-oX", "-",
        "127.0.10.8/29",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a canonical CIDR"):
        build_command(["--script=evil", "127.0.0.1/32"], options)
    with pytest.raises(ValueError, match="not a port list"):
        check_ports("22;rm -rf")
    with pytest.raises(ValueError, match="port 70000 is outside"):
        check_ports("1-70000")


def test_window() -> None:
    from datetime import datetime

    assert in_window("", datetime(2026, 1, 1, 12, 0))
    assert in_window("22:00-06:00", datetime(2026, 1, 1, 23, 0))
    assert in_window("22:00-06:00", datetime(2026, 1, 1, 5, 59))
    assert not in_window("22:00-06:00", datetime(2026, 1, 1, 12, 0))
    assert in_window("09:00-17:00", datetime(2026, 1, 1, 9, 0))
