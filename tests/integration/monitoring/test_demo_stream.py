"""The demo's live stream: every line the generator writes is read by the real EVE parser,
its member side lies in a demo member's network and its other side outside every one, and
`vardeild demo` replays it through the real pipeline into alerts of demo members, which grow
while the live feed runs."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.cli import Cli, migrated_platform
from vardeild.cli.demo_feed import DEMO_SENSORS, demo_feed, live_task
from vardeild.members.demo import demo_constituency
from vardeild.monitoring.demo_stream import DEMO_INDICATORS, DemoStream, demo_members
from vardeild.monitoring.model import Event, EventKind, SensorStats
from vardeild.monitoring.parsers.eve import EveParser
from vardeild.platform import Platform

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SENSORS = [name for name, _, _, _ in DEMO_SENSORS]


def demo_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n["cidr"]) for org in demo_constituency() for n in org["networks"]]


def inside(
    address: str | None, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    assert address is not None
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def test_every_line_parses_and_touches_one_demo_member() -> None:
    stream = DemoStream(demo_members(demo_constituency()), SENSORS, seed=7)
    parser = EveParser()
    networks = demo_networks()
    kinds: Counter[str] = Counter()
    types: Counter[str] = Counter()
    stats = 0
    for _sensor, lines in stream.batches(3000, start=NOW - timedelta(hours=6), end=NOW):
        for line in lines:
            parsed = parser.parse_line(line, observed_at=NOW)  # raises on a bad line
            types[json.loads(line)["event_type"]] += 1
            if isinstance(parsed, SensorStats):
                stats += 1
                continue
            assert isinstance(parsed, Event)
            kinds[parsed.kind.value] += 1
            sides = [inside(parsed.source_ip, networks), inside(parsed.destination_ip, networks)]
            assert sides.count(True) == 1, line  # a demo member on one side, outside the other
            assert NOW - timedelta(hours=6, seconds=31) <= parsed.time_source <= NOW
    assert stats == len(SENSORS)
    assert kinds[EventKind.ALERT.value] > 900
    assert set(types) == {"alert", "dns", "http", "tls", "flow", "stats"}


def test_the_same_seed_gives_the_same_lines() -> None:
    members = demo_members(demo_constituency())
    first = DemoStream(members, SENSORS, seed=3).batches(50, start=NOW, end=NOW)
    again = DemoStream(members, SENSORS, seed=3).batches(50, start=NOW, end=NOW)
    assert first == again
    assert first != DemoStream(members, SENSORS, seed=4).batches(50, start=NOW, end=NOW)


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    with migrated_platform(fresh_database_url, tmp_path / "data") as built:
        yield built


@pytest.fixture
def cli(live: Platform, fresh_database_url: str, tmp_path: Path) -> Cli:
    return Cli(fresh_database_url, tmp_path / "data")


def test_demo_replays_history_into_alerts_of_demo_members(cli: Cli, live: Platform) -> None:
    out = cli("demo", "--no-serve").stdout
    assert "Demo sensors: 3 added" in out
    assert "Replayed 6 hours of demo sensor traffic" in out
    members = {o["id"]: o["name"] for o in cli.json("members", "list")}
    assert set(members.values()) == {o["name"] for o in demo_constituency()}
    alerts = cli.json("alerts", "list")
    assert len(alerts) > 100
    assert {a["member_id"] for a in alerts} <= set(members)
    assert len({a["member_id"] for a in alerts}) > 20  # spread over the constituency
    assert max(a["count"] for a in alerts) > 3  # campaigns fold many events into one alert
    assert any(a["matched_indicator_ids"] for a in alerts)  # the demo indicators match
    assert cli.json("quarantine", "list") == []
    indicators = cli.json("intel", "list", "--source", "vardeild demo")
    assert len(indicators) == len(DEMO_INDICATORS)
    sensors = {s["name"]: s for s in cli.json("sensors", "list")}
    assert set(sensors) == set(SENSORS)
    assert all(s["last_seen_at"] and s["health"] for s in sensors.values())

    # Again: nothing new to seed, another burst of history.
    again = cli("demo", "--no-serve").stdout
    assert "The demo sensors are in place" in again
    assert len(cli.json("sensors", "list")) == len(SENSORS)
    assert len(cli.json("intel", "list", "--source", "vardeild demo")) == len(DEMO_INDICATORS)
    assert sum(a["count"] for a in cli.json("alerts", "list")) > sum(a["count"] for a in alerts)


def test_the_live_feed_makes_alerts_grow(cli: Cli, live: Platform) -> None:
    cli("demo", "--no-serve", "--no-stream")
    assert cli.json("alerts", "list") == []
    feed = demo_feed(live, seed=11)
    task = live_task(feed, per_second=200, interval=0.05)
    task.start()
    try:
        assert task.wait_for_runs(3, timeout=120)
    finally:
        task.stop()
    assert task.failures == 0
    assert feed.totals.records >= 30
    assert feed.totals.quarantined == 0
    grown = cli.json("alerts", "list")
    assert sum(a["count"] for a in grown) == feed.totals.events_stored > 0
