"""`vardeild sensors ship` against NATS: while the centre is unreachable (a closed port) lines
are buffered in the spool; pointed at the real server, the spool drains and the stream holds
every line once; a shipper killed mid-way resends under the same ids, which JetStream drops."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from support.nats import closed_port_url
from vardeild.bus.codec import decode_batch
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.shipper import Connect, Shipper, ShipperConfig
from vardeild.bus.transport import Transport
from vardeild.cli.main import app

LINES = 3000


def _write_eve(path: Path, start: int, count: int) -> None:
    with path.open("ab") as handle:
        for n in range(start, start + count):
            pad = hashlib.sha256(b"%d" % n).hexdigest()
            handle.write(b'{"event_type":"alert","n":%d,"pad":"%s"}\n' % (n, pad.encode()))


def _shipper_config(tmp_path: Path, nats: NatsConfig, **overrides: object) -> ShipperConfig:
    values: dict[str, object] = {
        "sensor": "s1",
        "path": tmp_path / "eve.json",
        "subject": nats.subject_for("s1"),
        "spool_dir": tmp_path / "spool",
        "spool_max_bytes": 10**8,
        "poll_interval": 0.02,
    }
    values.update(overrides)
    return ShipperConfig(**values)  # type: ignore[arg-type]


def _connector(config: NatsConfig) -> Connect:
    async def connect() -> Transport:
        return await NatsTransport.connect(config, connect_timeout=1)

    return connect


async def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def _stream_contents(config: NatsConfig) -> tuple[list[str], list[int]]:
    """Return the message ids and the line numbers the stream holds, acking them."""
    transport = await NatsTransport.connect(config)
    ids: list[str] = []
    numbers: list[int] = []
    try:
        while taken := await transport.fetch(500, 1.0):
            for message in taken:
                ids.append(message.msg_id)
                batch = decode_batch(message.payload, source="x")
                assert batch.sensor == "s1"
                numbers.extend(int(r.data.split(b'"n":')[1].split(b",")[0]) for r in batch.records)
                await message.ack()
    finally:
        await transport.close()
    return ids, numbers


def test_buffers_while_unreachable_and_drains_without_loss_or_duplicates(
    nats_config: NatsConfig, tmp_path: Path
) -> None:
    eve = tmp_path / "eve.json"
    _write_eve(eve, 0, LINES)
    unreachable = dataclasses.replace(nats_config, url=closed_port_url())

    async def run() -> None:
        ensure = await NatsTransport.connect(nats_config)
        await ensure.ensure_stream()
        await ensure.close()

        stop = asyncio.Event()
        offline = Shipper(
            _shipper_config(tmp_path, nats_config),
            _connector(unreachable),
        )
        task = asyncio.create_task(offline.run(stop))
        await _until(lambda: offline.stats.lines == LINES)
        _write_eve(eve, LINES, 500)  # Suricata keeps writing during the outage
        await _until(lambda: offline.stats.lines == LINES + 500)
        stop.set()
        stats = await task
        assert stats.messages_published == 0
        assert stats.messages_spooled == offline.spool.pending_entries == 35

        online = Shipper(
            _shipper_config(tmp_path, nats_config, once=True),
            _connector(nats_config),
        )
        stats = await asyncio.wait_for(online.run(asyncio.Event()), 60)
        assert stats.lines == 0  # everything came from the spool
        assert stats.messages_published == 35
        assert stats.duplicates == 0

        ids, numbers = await _stream_contents(nats_config)
        assert numbers == list(range(LINES + 500))
        assert len(set(ids)) == len(ids) == 35

    asyncio.run(run())


def test_a_killed_shipper_resends_under_the_same_ids(
    nats_config: NatsConfig, tmp_path: Path
) -> None:
    eve = tmp_path / "eve.json"
    _write_eve(eve, 0, LINES)

    async def run() -> None:
        ensure = await NatsTransport.connect(nats_config)
        await ensure.ensure_stream()
        await ensure.close()
        first = Shipper(
            _shipper_config(tmp_path, nats_config, once=True),
            _connector(nats_config),
        )
        await asyncio.wait_for(first.run(asyncio.Event()), 60)
        # The process died after JetStream stored the last window but before the spool heard:
        # put the acknowledged cursor back to where it stood before.
        (tmp_path / "spool" / "acked.json").unlink()
        second = Shipper(
            _shipper_config(tmp_path, nats_config, once=True),
            _connector(nats_config),
        )
        stats = await asyncio.wait_for(second.run(asyncio.Event()), 60)
        assert stats.messages_published == stats.duplicates == 30  # all resent, all dropped
        ids, numbers = await _stream_contents(nats_config)
        assert sorted(numbers) == list(range(LINES))
        assert not [i for i, c in Counter(ids).items() if c > 1]

    asyncio.run(run())


@pytest.mark.parametrize("group", ["sensors", "sensor"])  # the name, and its first name
def test_ship_cli_refuses_a_bad_sensor_name(tmp_path: Path, group: str) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, [group, "ship", str(tmp_path / "eve.json"), "--sensor", "a.b", "--once"]
    )
    assert result.exit_code == 2
    assert "use 1-64 letters" in result.stderr


def test_the_first_name_of_sensors_ship_is_hidden() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    root = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert " sensors " in root.stdout
    assert " sensor " not in root.stdout
    listed = runner.invoke(app, ["sensors", "--help"], env={"COLUMNS": "200"})
    assert " ship " in listed.stdout
