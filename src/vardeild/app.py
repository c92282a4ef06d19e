"""The composition root: settings -> database -> services -> web / CLI.

Everything that picks an implementation (which database, which clock, which key inspector)
happens here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vardeild.core.clock import Clock, SystemClock
from vardeild.db.engine import create_db_engine
from vardeild.db.migrate import upgrade
from vardeild.members.model import KeyInfo
from vardeild.members.openpgp import inspect_public_key
from vardeild.platform import Platform
from vardeild.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from vardeild.monitoring.background import PeriodicTask
    from vardeild.monitoring.pipeline import (
        IndicatorSource,
        Pipeline,
        SensorSeenHook,
        SensorStatsHook,
    )
    from vardeild.notify.outbox import Outbox
    from vardeild.notify.ports import MailTransport, MessageProtector
    from vardeild.notify.service import NotifyConfig


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
    from vardeild.monitoring.sensors import record_sensor_seen, record_sensor_stats
    from vardeild.web.api import create_api

    pipeline = build_pipeline(
        platform, on_sensor_stats=record_sensor_stats, on_sensor_seen=record_sensor_seen
    )
    return create_api(platform, event_sink=pipeline)


def indicator_source() -> IndicatorSource:
    """Return how one pipeline reaches the intel domain's indicators. When they change, the
    next matcher is the held one with an overlay of what changed (milliseconds), not a rebuild
    of the whole store (seconds at a million indicators); intel.matcher_source.refresh_matcher
    decides when a rebuild is needed after all (a deletion, an expiry by time, too many
    changes)."""
    from vardeild.intel import matcher_source as intel
    from vardeild.intel.matcher import IndicatorMatcher
    from vardeild.monitoring.pipeline import IndicatorSource

    held: list[IndicatorMatcher] = []

    def load(session: Session, now: datetime) -> IndicatorMatcher:
        matcher = (
            intel.refresh_matcher(session, held[0], now=now)
            if held
            else intel.load_matcher(session, now=now)
        )
        held[:] = [matcher]
        return matcher

    return IndicatorSource(
        load=load,
        is_current=lambda session, matcher, now: intel.matcher_is_current(
            session, cast(IndicatorMatcher, matcher), now=now
        ),
        record_sightings=intel.record_sightings,
    )


def build_pipeline(
    platform: Platform,
    *,
    on_sensor_stats: SensorStatsHook | None = None,
    on_sensor_seen: SensorSeenHook | None = None,
) -> Pipeline:
    """Return the monitoring pipeline of platform, matching against the intel domain's
    indicators; build one per process and share it (it caches the indexes it reads)."""
    # Imported here so that commands which never ingest do not load the parsers.
    from vardeild.monitoring.pipeline import Pipeline, PipelineConfig, tune_gc

    settings = platform.settings
    tune_gc()
    return Pipeline(
        platform.session,
        clock=platform.clock,
        config=PipelineConfig(
            alert_window=timedelta(minutes=settings.alert_window_minutes),
            store_unattributed=settings.store_unattributed_events,
            write_behind=True,  # platform.session: a pooled connection per thread
        ),
        indicators=indicator_source(),
        on_sensor_stats=on_sensor_stats,
        on_sensor_seen=on_sensor_seen,
        cache=platform.cached,
    )


def background_tasks(platform: Platform) -> list[PeriodicTask]:
    """Return what a serving process runs beside the web app, not yet started: the check for
    silent sensors every sensor_check_interval_seconds (none when that is 0), and with
    notify_in_serve the notify pass every notify_interval_seconds."""
    from vardeild.monitoring.background import PeriodicTask, silence_check

    tasks: list[PeriodicTask] = []
    interval = platform.settings.sensor_check_interval_seconds
    if interval > 0:
        check = silence_check(platform.session, platform.clock)
        tasks.append(PeriodicTask("sensor silence check", check, interval))
    if platform.settings.notify_in_serve:
        outbox = build_outbox(platform)
        tasks.append(
            PeriodicTask(
                "notify pass",
                lambda: run_notify_pass(platform, outbox=outbox),
                platform.settings.notify_interval_seconds,
            )
        )
    return tasks


def notify_config(settings: Settings) -> NotifyConfig:
    """Return what notices need from the settings."""
    from vardeild.notify.config import config_from_settings

    return config_from_settings(settings)


def build_outbox(
    platform: Platform,
    *,
    transport: MailTransport | None = None,
    protector: MessageProtector | None = None,
) -> Outbox:
    """Return the notice outbox of platform: the transport the settings name (maildir or
    SMTP), PGP/MIME with the CERT's key, contacts' keys checked by the platform's inspector."""
    from vardeild.mail.maildir import MaildirTransport
    from vardeild.mail.pgpmime import from_settings
    from vardeild.mail.smtp import SmtpSecurity, SmtpTransport
    from vardeild.notify.outbox import Outbox

    settings = platform.settings
    if transport is None and settings.mail_transport == "smtp":
        password = settings.mail_smtp_password
        transport = SmtpTransport(
            host=settings.mail_smtp_host,
            port=settings.mail_smtp_port,
            security=SmtpSecurity(settings.mail_smtp_security),
            username=settings.mail_smtp_username,
            password=password.get_secret_value() if password else None,
            timeout=settings.mail_smtp_timeout,
            ca_file=settings.mail_smtp_ca_file,
        )
    elif transport is None:
        transport = MaildirTransport(settings.mail_maildir or settings.data_dir / "outbox")
    return Outbox(
        sessions=platform.session,
        transport=transport,
        protector=protector or from_settings(settings),
        inspect_key=platform.key_inspector,
        config=notify_config(settings),
        clock=platform.clock,
    )


def run_notify_pass(
    platform: Platform,
    *,
    alerts: bool = True,
    limit: int | None = None,
    outbox: Outbox | None = None,
) -> dict[str, Any]:
    """Run one notify pass and return what it did: notices of new and grown alerts (unless
    alerts is False), held notices and digests released, the outbox sent (at most limit), and
    the CERT's daily deadline digest (once a day, from case_digest_hour)."""
    from vardeild.notify.digests import release_due
    from vardeild.notify.from_alerts import notice_alerts

    config = notify_config(platform.settings)
    made: list[int] = []
    now = platform.clock.now()
    with platform.session() as session:
        if alerts:
            made = notice_alerts(session, config=config, now=now)
        released = release_due(session, config=config, now=now)
    sender = outbox or build_outbox(platform)
    report = sender.send_due(limit=limit)
    return {
        "notices_made": len(made),
        **released,
        "deadline_digest": run_deadline_digest(platform, outbox=sender)["status"],
        "sent": report.sent,
        "deferred": report.deferred,
        "failed": report.failed,
        "by_protection": report.by_protection,
    }


def run_deadline_digest(
    platform: Platform,
    *,
    outbox: Outbox | None = None,
    dry_run: bool = False,
    scheduled: bool = True,
) -> dict[str, Any]:
    """Send the CERT's daily digest of incident deadlines through the outbox's transport and
    signing, once a day (see incidents.digest); return what was done. A transport failure is
    answered as status `deferred` with the reason: the next pass tries again."""
    from vardeild.access.model import SYSTEM
    from vardeild.incidents.config import digest_config
    from vardeild.incidents.digest import send_deadline_digest
    from vardeild.notify.model import DeliveryDeferred, DeliveryRejected

    sender = outbox if outbox is not None or dry_run else build_outbox(platform)
    try:
        with platform.session() as session:
            return send_deadline_digest(
                session,
                SYSTEM,
                clock=platform.clock,
                config=digest_config(platform.settings),
                transport=sender.transport if sender else None,
                protector=sender.protector if sender else None,
                dry_run=dry_run,
                scheduled=scheduled,
            )
    except (DeliveryDeferred, DeliveryRejected) as exc:
        return {"status": "deferred", "reason": str(exc)}
    except Exception as exc:  # signing or the server's trouble must not stop the notices' pass
        return {"status": "deferred", "reason": f"{type(exc).__name__}: {exc}"}
