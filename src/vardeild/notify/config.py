"""The notify settings as the domain uses them: read once from the typed settings object."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from vardeild.core.tlp import Tlp
from vardeild.notify.service import NotifyConfig
from vardeild.settings import Settings


def config_from_settings(settings: Settings) -> NotifyConfig:
    """Return what notices need from the settings (mail_* and notify_*)."""
    return NotifyConfig(
        zone=ZoneInfo(settings.notify_timezone),
        default_tlp=Tlp.parse(settings.notify_default_tlp),
        public_url=settings.notify_public_url,
        sender=settings.mail_from,
        sender_name=settings.cert_name,
        reply_to=settings.mail_reply_to or settings.mail_from,
        retry_base_seconds=settings.notify_retry_base_seconds,
        retry_max_seconds=settings.notify_retry_max_seconds,
        max_attempts=settings.notify_max_attempts,
        lease_seconds=settings.notify_lease_seconds,
        alert_lookback=timedelta(hours=settings.notify_alert_lookback_hours),
    )
