"""`vardeild sensors ship`: run on a sensor box, ship its EVE to the centre over NATS JetStream."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from vardeild.bus.nats import NatsConfig, NatsTransport
from vardeild.bus.shipper import SENSOR_NAME, Connect, Shipper, ShipperConfig, ShipStats
from vardeild.bus.spool import SpoolCorrupt
from vardeild.bus.transport import Transport
from vardeild.cli.context import cli_context
from vardeild.cli.output import EXIT_INVALID, CliFailure, say

app = typer.Typer(
    help="Commands that run on a sensor box.",
    no_args_is_help=True,
)


@app.command("ship")
def ship(
    ctx: typer.Context,
    eve_file: Annotated[
        Path,
        typer.Argument(
            help="The EVE JSON file Suricata writes; followed like `tail -F` (rotation and "
            "truncation included). It need not exist yet.",
            dir_okay=False,
            show_default=False,
        ),
    ],
    sensor: Annotated[
        str,
        typer.Option(
            "--sensor",
            help="This sensor's name (letters, digits, '-', '_'): its subject is "
            "<nats_subject>.<name>.",
            show_default=False,
        ),
    ],
    spool: Annotated[
        Path | None,
        typer.Option(
            "--spool",
            help="Directory of the on-disk buffer and read position. Default: "
            "<data_dir>/spool/<sensor>.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    from_end: Annotated[
        bool,
        typer.Option(
            "--from-end",
            help="On a first start, skip what the file already holds (later starts resume "
            "where they stopped).",
        ),
    ] = False,
    once: Annotated[
        bool,
        typer.Option(
            "--once",
            help="Ship what the file holds now, wait until the centre acknowledged all of it, "
            "and exit.",
        ),
    ] = False,
    lines: Annotated[
        int,
        typer.Option("--lines", min=1, max=10_000, help="Lines per message, at most."),
    ] = 100,
) -> None:
    """Tail an EVE file and publish it to the centre's JetStream stream, buffering on disk
    while the centre is unreachable. Stops on SIGTERM or Ctrl+C; a restart resumes exactly."""
    if not SENSOR_NAME.match(sensor):
        raise CliFailure(f"--sensor {sensor!r}: use 1-64 letters, digits, '-' or '_'", EXIT_INVALID)
    settings = cli_context(ctx).settings
    nats = NatsConfig.from_settings(settings)
    config = ShipperConfig(
        sensor=sensor,
        path=eve_file.absolute(),
        subject=nats.subject_for(sensor),
        spool_dir=spool or settings.data_dir / "spool" / sensor,
        spool_max_bytes=settings.spool_max_bytes,
        max_records=lines,
        from_end=from_end,
        once=once,
    )
    _configure_logging()

    async def connect() -> Transport:
        return await NatsTransport.connect(nats, name=f"vardeild-ship-{sensor}")

    try:
        stats = asyncio.run(_run(config, connect))
    except SpoolCorrupt as exc:
        raise CliFailure(f"the spool is damaged: {exc}; move it aside to start afresh") from exc
    say(
        f"Shipped {stats.messages_published} messages ({stats.duplicates} already stored); "
        f"read {stats.lines} lines."
    )


async def _run(config: ShipperConfig, connect: Connect) -> ShipStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    shipper = Shipper(config, connect)
    return await shipper.run(stop)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
