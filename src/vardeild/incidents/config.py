"""What incident handling needs from the settings: the deadline policy and where evidence
lives."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from vardeild.incidents.attachments import EvidenceStore
from vardeild.incidents.deadlines import DeadlinePolicy, parse_severity_hours
from vardeild.incidents.digest import DigestConfig
from vardeild.settings import Settings


def deadline_policy(settings: Settings) -> DeadlinePolicy:
    """Return the regulatory clocks and service targets the settings set."""
    return DeadlinePolicy(
        early_warning_hours=settings.case_early_warning_hours,
        notification_hours=settings.case_notification_hours,
        final_report_months=settings.case_final_report_months,
        acknowledge_hours=parse_severity_hours(settings.case_sla_acknowledge_hours),
        resolve_hours=parse_severity_hours(settings.case_sla_resolve_hours),
    )


def evidence_store(settings: Settings) -> EvidenceStore:
    """Return the evidence store under the data directory (outside any web root)."""
    return EvidenceStore(
        root=settings.data_dir / "case-evidence", max_bytes=settings.case_attachment_max_bytes
    )


def digest_config(settings: Settings) -> DigestConfig:
    """Return the CERT's deadline digest settings: to case_digest_email (else cert_email), from
    the notices' sender, at case_digest_hour in the notices' time zone."""
    return DigestConfig(
        recipient=settings.case_digest_email or settings.cert_email,
        sender=settings.mail_from,
        sender_name=settings.cert_name,
        reply_to=settings.mail_reply_to or settings.mail_from,
        zone=ZoneInfo(settings.notify_timezone),
        hour=settings.case_digest_hour,
        within=timedelta(hours=settings.case_digest_within_hours),
        policy=deadline_policy(settings),
    )
