"""`vardeild worker`: store batches from the NATS JetStream stream through the pipeline; and
`vardeild dead-letters`: the batches it gave up on."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from vardeild.app import build_pipeline
from vardeild.bus.codec import CodecError, decode_batch
from vardeild.bus.nats import DeadLetterInfo, NatsConfig, NatsTransport
from vardeild.bus.transport import BusUnavailable
from vardeild.bus.worker import describe, run_worker
from vardeild.cli.context import cli_context
from vardeild.cli.output import CliFailure, JsonOption, print_json, print_table, say
from vardeild.monitoring.ingest import EventSink
from vardeild.monitoring.sensors import record_sensor_seen, record_sensor_stats
from vardeild.platform import Platform

T = TypeVar("T")


def worker(
    ctx: typer.Context,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            max=1000,
            help="Messages (of ~100 events each) to pull at a time and store in one transaction.",
        ),
    ] = 10,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=64,
            help="Groups of messages stored at once by this process (each group in its own "
            "transaction, on its own thread).",
        ),
    ] = 1,
    report_every: Annotated[
        float,
        typer.Option("--report-every", min=0.5, help="Seconds between rate reports on stderr."),
    ] = 10.0,
) -> None:
    """Pull event batches from the stream's durable consumer, store each through the
    pipeline, and acknowledge it only after the database commit. Run any number, on any
    number of machines: they share the consumer. SIGTERM (or Ctrl+C) finishes the batches in
    hand, acknowledges them and exits."""
    state = cli_context(ctx)
    platform = state.platform()
    config = NatsConfig.from_settings(state.settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        summary = asyncio.run(
            _run(platform, config, batch=batch, concurrency=concurrency, report=report_every)
        )
    except BusUnavailable as exc:
        raise CliFailure(str(exc)) from exc
    say(f"Stopped: {summary}")


async def _run(
    platform: Platform, config: NatsConfig, *, batch: int, concurrency: int, report: float
) -> str:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # One pipeline for the process, shared by its ingest threads: it caches the attribution
    # index and the indicator matcher, which are large.
    sink = build_sink(platform)
    transport = await NatsTransport.connect(config, name="vardeild-worker")
    try:
        await transport.ensure_stream()
        logging.getLogger("vardeild.worker").info(
            "consuming %s as %s (batch %d, concurrency %d)",
            config.stream,
            config.consumer,
            batch,
            concurrency,
        )
        stats, _ = await run_worker(
            transport,
            lambda: sink,
            stop=stop,
            batch=batch,
            concurrency=concurrency,
            sensor_of=config.sensor_of,
            report_every=report,
        )
    finally:
        await transport.close()
    return describe(stats)


def build_sink(platform: Platform) -> EventSink:
    """Return the pipeline, recording the sensors it hears from as the HTTP way in does."""
    return build_pipeline(
        platform, on_sensor_stats=record_sensor_stats, on_sensor_seen=record_sensor_seen
    )


dead_letters_app = typer.Typer(
    help="Batches the workers gave up on (see docs/scale-out.md): list them, replay them.",
    no_args_is_help=True,
)


@dead_letters_app.command("list")
def list_dead_letters(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List the dead letters, oldest first, with why each was given up on."""
    config = NatsConfig.from_settings(cli_context(ctx).settings)
    letters = asyncio.run(_with_transport(config, lambda t: t.dead_letters(limit)))
    rows = [_letter_dict(letter) for letter in letters]
    if as_json:
        print_json(rows)
        return
    print_table(
        f"Dead letters in {config.dead_letter_stream}",
        ["seq", "time", "message id", "subject", "attempts", "records", "reason"],
        [
            [
                r["sequence"],
                r["time"],
                r["msg_id"],
                r["subject"],
                r["attempts"],
                r["records"],
                r["reason"],
            ]
            for r in rows
        ],
    )


@dead_letters_app.command("replay")
def replay_dead_letters(
    ctx: typer.Context,
    sequences: Annotated[
        list[int] | None,
        typer.Argument(
            help="Sequence numbers (from `list`) of the letters to replay.", show_default=False
        ),
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Replay every dead letter.")] = False,
) -> None:
    """Put dead letters back on the stream as the batches they were (the same batch keys, so
    one already stored is skipped), and remove them from the dead letters."""
    if not sequences and not replay_all:
        raise CliFailure("name the letters to replay by sequence number, or give --all", 2)
    config = NatsConfig.from_settings(cli_context(ctx).settings)
    wanted = set(sequences or [])

    async def replay(transport: NatsTransport) -> int:
        letters = await transport.dead_letters(limit=1_000_000)
        chosen = [one for one in letters if replay_all or one.sequence in wanted]
        missing = wanted - {letter.sequence for letter in chosen}
        if missing:
            raise CliFailure(f"no dead letter has the sequence {min(missing)}", 3)
        for letter in chosen:
            await transport.replay_dead_letter(letter)
        return len(chosen)

    count = asyncio.run(_with_transport(config, replay))
    say(f"Replayed {count} dead letter{'s' if count != 1 else ''}.")


async def _with_transport(config: NatsConfig, use: Callable[[NatsTransport], Awaitable[T]]) -> T:
    try:
        transport = await NatsTransport.connect(config, name="vardeild-cli")
    except BusUnavailable as exc:
        raise CliFailure(str(exc)) from exc
    try:
        return await use(transport)
    finally:
        await transport.close()


def _letter_dict(letter: DeadLetterInfo) -> dict[str, Any]:
    try:
        records: int | None = len(decode_batch(letter.payload, source="").records)
    except CodecError:
        records = None
    return {
        "sequence": letter.sequence,
        "time": letter.time,
        "msg_id": letter.msg_id,
        "subject": letter.subject,
        "attempts": letter.attempts,
        "records": records,
        "reason": letter.reason,
    }
