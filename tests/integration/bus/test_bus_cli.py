"""The bus commands as an operator runs them: `vardeild dead-letters list|replay`, and
`vardeild worker` / `vardeild sensors ship` when NATS cannot be reached."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

from support.nats import closed_port_url
from vardeild.bus.memory import MemoryTransport
from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.transport import OutMessage
from vardeild.cli.main import app


def _env(config: NatsConfig, tmp_path: Path, **extra: str) -> dict[str, str | None]:
    return {
        "VARDEILD_CONFIG": None,
        "VARDEILD_DATA_DIR": str(tmp_path / "data"),
        "VARDEILD_NATS_URL": config.url,
        "VARDEILD_NATS_STREAM": config.stream,
        "VARDEILD_NATS_SUBJECT": config.subject,
        "VARDEILD_NATS_CONSUMER": config.consumer,
        "VARDEILD_NATS_DEAD_LETTER_SUBJECT": config.dead_letter_subject,
        "COLUMNS": "200",
        **extra,
    }


def _dead_letter_two(config: NatsConfig) -> None:
    async def run() -> None:
        transport = await NatsTransport.connect(config)
        try:
            await transport.ensure_stream()
            await transport.publish(
                [
                    OutMessage(config.subject_for("s1"), "s1:a:0-10", b"\x07one"),
                    OutMessage(config.subject_for("s2"), "s2:b:0-10", b"\x07two"),
                ]
            )
            for message in await transport.fetch(2, 2.0):
                await transport.dead_letter(message, "cannot decode the batch: test")
                await message.term()
        finally:
            await transport.close()

    asyncio.run(run())


def test_dead_letters_are_listed_and_replayed(nats_config: NatsConfig, tmp_path: Path) -> None:
    _dead_letter_two(nats_config)
    runner = CliRunner()
    env = _env(nats_config, tmp_path)
    listed = runner.invoke(app, ["dead-letters", "list", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.stdout)
    assert [(x["msg_id"], x["attempts"], x["records"]) for x in letters] == [
        ("s1:a:0-10", 1, None),
        ("s2:b:0-10", 1, None),
    ]
    assert letters[0]["reason"] == "cannot decode the batch: test"
    table = runner.invoke(app, ["dead-letters", "list"], env=env)
    assert "s2:b:0-10" in table.stdout

    missing = runner.invoke(app, ["dead-letters", "replay", "999"], env=env)
    assert missing.exit_code == 3
    replayed = runner.invoke(app, ["dead-letters", "replay", str(letters[1]["sequence"])], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert "Replayed 1 dead letter." in replayed.stdout
    left = json.loads(runner.invoke(app, ["dead-letters", "list", "--json"], env=env).stdout)
    assert [x["msg_id"] for x in left] == ["s1:a:0-10"]

    async def back_on_the_stream() -> list[tuple[str, str, bytes]]:
        transport = await NatsTransport.connect(nats_config)
        try:
            taken = await transport.fetch(5, 2.0)
            return [(m.msg_id, m.subject, m.payload) for m in taken]
        finally:
            await transport.close()

    assert asyncio.run(back_on_the_stream()) == [
        ("s2:b:0-10", nats_config.subject_for("s2"), b"\x07two")
    ]


def test_worker_and_shipper_report_an_unreachable_server(
    nats_config: NatsConfig, tmp_path: Path, fresh_database_url: str
) -> None:
    runner = CliRunner()
    down = dataclasses.replace(nats_config, url=closed_port_url())
    env = _env(down, tmp_path, VARDEILD_DATABASE_URL=fresh_database_url)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    worker = runner.invoke(app, ["worker"], env=env)
    assert worker.exit_code == 1
    assert "cannot reach NATS" in worker.stderr
    listing = runner.invoke(app, ["dead-letters", "list"], env=env)
    assert listing.exit_code == 1
    assert "cannot reach NATS" in listing.stderr


def test_memory_and_nats_transports_agree_on_duplicates(nats_config: NatsConfig) -> None:
    # The two implementations of the one interface, side by side on the same publishes.
    messages = [OutMessage(nats_config.subject_for("s1"), f"id{i % 3}", b"x") for i in range(6)]

    async def run() -> tuple[list[bool], list[bool]]:
        memory = MemoryTransport()
        nats = await NatsTransport.connect(nats_config)
        try:
            await nats.ensure_stream()
            on_nats = [a.duplicate for a in await nats.publish(messages)]
        finally:
            await nats.close()
        return [a.duplicate for a in await memory.publish(messages)], on_nats

    in_memory, on_nats = asyncio.run(run())
    assert in_memory == on_nats == [False, False, False, True, True, True]
