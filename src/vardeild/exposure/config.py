"""The exposure settings as the domain uses them: read once from the typed settings object."""

from __future__ import annotations

from datetime import timedelta

from vardeild.exposure.model import Priority, SlaDays
from vardeild.exposure.nmap import ScanOptions
from vardeild.exposure.service import ExposureConfig
from vardeild.exposure.vulndb_sync import SyncConfig
from vardeild.settings import Settings


def config_from_settings(settings: Settings) -> ExposureConfig:
    """Return what the exposure domain needs from the settings (exposure_*)."""
    return ExposureConfig(
        sla=SlaDays(
            p1=settings.exposure_sla_days_p1,
            p2=settings.exposure_sla_days_p2,
            p3=settings.exposure_sla_days_p3,
            p4=settings.exposure_sla_days_p4,
        ),
        scan=ScanOptions(
            ports=settings.exposure_scan_ports, max_rate=settings.exposure_scan_max_rate
        ),
        max_addresses=settings.exposure_scan_max_addresses,
        window=settings.exposure_scan_window,
        notify_from=Priority(settings.exposure_notify_from),
        scan_timeout_seconds=settings.exposure_scan_timeout_seconds,
        scan_every=timedelta(days=settings.exposure_scan_every_days),
    )


def sync_config(settings: Settings) -> SyncConfig:
    """Return the vulnerability knowledge sync's sources and bounds from the settings."""
    key = settings.vulndb_nvd_api_key
    return SyncConfig(
        nvd_url=settings.vulndb_nvd_url,
        nvd_api_key=key.get_secret_value() if key is not None else None,
        kev_url=settings.vulndb_kev_url,
        epss_url=settings.vulndb_epss_url,
        max_bytes=settings.vulndb_download_max_bytes,
        timeout=settings.vulndb_download_timeout_seconds,
        nvd_pause=settings.vulndb_nvd_pause_seconds,
    )
