"""Commands that run the platform itself: init, serve and settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vardeild.app import background_tasks, create_web_app
from vardeild.cli.context import cli_context
from vardeild.cli.output import JsonOption, print_json, print_table, say
from vardeild.db.migrate import current_revision
from vardeild.platform import Platform
from vardeild.settings import Settings

if TYPE_CHECKING:
    from vardeild.monitoring.background import PeriodicTask

HostOption = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Address to listen on. Default: the `host` setting (127.0.0.1).",
        show_default=False,
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=1,
        max=65535,
        help="Port to listen on. Default: the `port` setting (8000).",
        show_default=False,
    ),
]


def init(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Create the database, or upgrade it to this version's schema. Safe to run again."""
    state = cli_context(ctx)
    before = current_revision(state.engine())
    platform = state.platform(migrate=True)
    after = current_revision(platform.engine)
    if as_json:
        print_json(
            {"database": state.database_label, "revision": after, "previous_revision": before}
        )
        return
    if before is None:
        what = "created"
    elif before == after:
        what = "already up to date"
    else:
        what = f"upgraded from revision {before}"
    say(f"Database {what}: {state.database_label}")
    say(f"Schema revision: {after}")
    say(f"Data directory: {state.settings.data_dir}")


def run_server(
    platform: Platform, host: str, port: int, *, tasks: Sequence[PeriodicTask] = ()
) -> None:
    """Serve the platform's web application with uvicorn until interrupted, running its
    background tasks (the silent-sensor check, and any tasks given) beside it."""
    import uvicorn

    from vardeild.monitoring.background import stop_all

    web_app = create_web_app(platform)
    background = [*background_tasks(platform), *tasks]
    say(f"Serving Vardeild on http://{host}:{port} (database: {_label(platform.settings)})")
    say("Press Ctrl+C to stop.")
    for task in background:
        task.start()
    try:
        uvicorn.run(web_app, host=host, port=port, log_level="info")
    finally:
        stop_all(background)


def _label(settings: Settings) -> str:
    return str(settings.public_dict()["effective_database_url"])


def serve(ctx: typer.Context, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the API, TAXII, the portal and the public pages over HTTP. Creates or upgrades
    the database first, then listens until interrupted."""
    state = cli_context(ctx)
    platform = state.platform(migrate=True)
    run_server(platform, host or state.settings.host, port or state.settings.port)


_DERIVED = {
    "effective_database_url": (
        "The database in use: database_url, else the SQLite file in data_dir (derived)."
    ),
}


def show_settings(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the effective settings (environment, settings file and defaults combined), with
    passwords in database URLs masked."""
    settings = cli_context(ctx).settings
    values: dict[str, Any] = settings.public_dict()
    if as_json:
        print_json(values)
        return
    fields = type(settings).model_fields
    rows = []
    for name, value in values.items():
        info = fields.get(name)
        description = info.description if info is not None else _DERIVED.get(name, "")
        rows.append((name, "" if value is None else value, description))
    print_table("Settings", ("name", "value", "description"), rows)
