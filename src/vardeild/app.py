"""The composition root: settings -> database -> services -> web / CLI.

Everything that picks an implementation (which database, which clock, which key inspector)
happens here and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from vardeild.core.clock import Clock, SystemClock
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import upgrade
from vardeild.members.model import KeyInfo
from vardeild.members.openpgp import inspect_public_key
from vardeild.platform import Platform
from vardeild.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def build_platform(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    migrate: bool = False,
) -> Platform:
    """Return the platform for settings (read from the environment when None).

    With migrate=True the database is created or upgraded first, as `vardeild init` does.
    """
    settings = settings or Settings()
    engine = engine or create_db_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    gpg_binary = settings.gpg_binary

    def inspect_key(armoured: str) -> KeyInfo:
        return inspect_public_key(armoured, now=clock.now(), gpg_binary=gpg_binary)

    return Platform(
        settings=settings,
        engine=engine,
        session_factory=sessionmaker(engine, expire_on_commit=False),
        clock=clock,
        key_inspector=inspect_key,
    )


def create_web_app(platform: Platform) -> FastAPI:
    """Return the ASGI application serving the API (and later the portal) for platform, with
    the pipeline that takes what sensors deliver over HTTP."""
    from vardeild.monitoring.pipeline import Pipeline, PipelineConfig
    from vardeild.monitoring.sensors import record_sensor_seen, record_sensor_stats
    from vardeild.web.api import create_api

    settings = platform.settings
    pipeline = Pipeline(
        platform.session,
        clock=platform.clock,
        config=PipelineConfig(
            alert_window=timedelta(minutes=settings.alert_window_minutes),
            store_unattributed=settings.store_unattributed_events,
        ),
        on_sensor_stats=record_sensor_stats,
        on_sensor_seen=record_sensor_seen,
        cache=platform.cached,
    )
    return create_api(platform, event_sink=pipeline)
