"""One typed settings object. Values come, in this order of precedence, from VARDEILD_*
environment variables, then a TOML file (VARDEILD_CONFIG, else ./vardeild.toml if present),
then the defaults below. `vardeild settings` prints the effective values."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vardeild"


def _config_file() -> Path | None:
    named = os.environ.get("VARDEILD_CONFIG")
    if named:
        return Path(named)
    local = Path("vardeild.toml")
    return local if local.exists() else None


# "critical=1,high=4": hours per severity (the case service targets).
_SEVERITY_HOURS = r"^\s*((critical|high|medium|low|info)\s*=\s*\d+(\.\d+)?\s*(,\s*|$))*$"


class Settings(BaseSettings):
    """Everything an operator can set. Each field says what it does."""

    model_config = SettingsConfigDict(env_prefix="VARDEILD_", extra="forbid")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the embedded database and stored files live.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/vardeild. "
            "Empty means the embedded SQLite database in data_dir."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `vardeild serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `vardeild serve` uses.")
    cert_name: str = Field(
        default="Vardeild Demo CERT", description="The CERT's name as members see it."
    )
    cert_email: str = Field(
        default="cert@vardeild.example",
        description=(
            "The CERT's e-mail address for incident reports, shown on the public pages and in "
            "the RFC 2350 description."
        ),
    )
    cert_phone: str = Field(
        default="+47 22 00 00 00 (demo)",
        description="The CERT's telephone number, shown on the public pages and in RFC 2350.",
    )
    cert_address: str = Field(
        default="Vardeild Demo CERT, Postboks 0, 0001 Oslo, Norway",
        description="The CERT's postal address (RFC 2350 §2.2).",
    )
    cert_timezone: str = Field(
        default="Europe/Oslo (CET, UTC+1; CEST, UTC+2 in summer)",
        description="The CERT's time zone as RFC 2350 §2.3 asks: a name and its UTC offsets.",
    )
    cert_hours: str = Field(
        default=(
            "Mondays to Fridays 08:00-16:00 Norwegian time, except public holidays. Members "
            "reach the duty officer by telephone outside those hours."
        ),
        description="When the CERT answers (RFC 2350 §2.11), shown on the public pages.",
    )
    cert_team_members: str = Field(
        default="",
        description="Who the team is (RFC 2350 §2.9, optional); empty leaves the section out.",
    )
    cert_mission: str = Field(
        default=(
            "To help our members prevent, detect and handle information security incidents, "
            "and to share what we learn so that the whole sector is better protected."
        ),
        description="The CERT's mission statement (RFC 2350 §3.1).",
    )
    cert_constituency: str = Field(
        default="The organisations of the sector that are members of the CERT.",
        description="Whom the CERT serves (RFC 2350 §3.2).",
    )
    cert_sponsorship: str = Field(
        default="Funded by its members (demo).",
        description="Who funds the CERT and what it is affiliated with (RFC 2350 §3.3).",
    )
    cert_authority: str = Field(
        default=(
            "The CERT acts by agreement with its members; it has no authority over their "
            "systems and advises rather than directs."
        ),
        description="Under what authority the CERT acts (RFC 2350 §3.4).",
    )
    cert_description_updated: date = Field(
        default=date(2026, 11, 28),
        description=(
            "Date of the last update of the RFC 2350 description (§1.1); set it when any "
            "cert_* setting changes."
        ),
    )
    intake_reports_per_address: int = Field(
        default=10,
        gt=0,
        description=(
            "Incident reports the public form takes from one client address per "
            "intake_rate_window_minutes; more are answered 429."
        ),
    )
    intake_rate_window_minutes: int = Field(
        default=60, gt=0, description="The window of intake_reports_per_address, in minutes."
    )
    page_size_max: int = Field(
        default=500, ge=10, le=10_000, description="Largest page an API list may return."
    )
    import_max_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="Largest registry import file accepted, in bytes.",
    )
    ingest_max_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest body `POST /api/v1/ingest/eve` accepts, in bytes: both as sent and, when "
            "gzip-compressed, once decompressed."
        ),
    )
    ingest_rate_per_second: float = Field(
        default=50.0,
        ge=0,
        description=(
            "Requests per second one sensor may make to `POST /api/v1/ingest/eve`, on average "
            "(a token bucket per sensor); above it the answer is 429 with Retry-After. 0 "
            "means no limit."
        ),
    )
    ingest_rate_burst: int = Field(
        default=100,
        ge=1,
        description="Requests one sensor may make at once before ingest_rate_per_second applies.",
    )
    sensor_check_interval_seconds: int = Field(
        default=60,
        ge=0,
        description=(
            "How often `vardeild serve` looks for sensors that have fallen silent and raises "
            "their alerts (as `vardeild sensors check` does). 0 turns the check off."
        ),
    )
    gpg_binary: str = Field(default="gpg", description="The GnuPG executable to use.")
    pgp_home: Path | None = Field(
        default=None,
        description=(
            "GnuPG home holding the CERT's own OpenPGP key (kept mode 0700). Empty means "
            "`<data_dir>/gnupg`."
        ),
    )
    pgp_key_fingerprint: str | None = Field(
        default=None,
        description=(
            "Fingerprint of the CERT's key in pgp_home, the one that signs notices and is "
            "published. Empty means the only secret key there."
        ),
    )
    pgp_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase of the CERT's secret key; empty for a key without one.",
    )
    pgp_passphrase_file: Path | None = Field(
        default=None,
        description=(
            "A file holding the passphrase (first line), e.g. a systemd credential; used when "
            "pgp_passphrase is empty."
        ),
    )
    pgp_key_algorithm: Literal["ed25519", "rsa3072"] = Field(
        default="ed25519",
        description=(
            "Algorithm of a key `vardeild pgp generate` makes: ed25519 (with a cv25519 "
            "encryption subkey), or rsa3072 for correspondents whose software is older than "
            "GnuPG 2.1."
        ),
    )
    pgp_key_valid_days: int = Field(
        default=730,
        ge=30,
        le=3650,
        description="How long a key `vardeild pgp generate` makes stays valid, in days.",
    )
    pgp_public_url: str | None = Field(
        default=None,
        description=(
            "The public https:// address of this site, used in security.txt (Canonical, "
            "Encryption). Empty means the address the request came to."
        ),
    )
    pgp_security_policy_url: str | None = Field(
        default=None,
        description=(
            "The CERT's disclosure policy, named as Policy in security.txt. Empty means this "
            "site's RFC 2350 description, /rfc2350."
        ),
    )
    pgp_security_txt_days: int = Field(
        default=180,
        ge=1,
        le=365,
        description=(
            "security.txt's Expires lies this many days ahead (at most a year, RFC 9116), "
            "and never after the CERT key expires."
        ),
    )
    pgp_expiry_warning_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description=(
            "Keys (contacts' and the CERT's) expiring within this many days are listed by "
            "`vardeild pgp expiring`."
        ),
    )
    store_unattributed_events: bool = Field(
        default=False,
        description=(
            "Store events that touch no member in full. Off: they are only counted per hour, "
            "feed and sensor (ingest_counters), which keeps the events table to what members "
            "are warned about."
        ),
    )
    ingest_batch_records: int = Field(
        default=50_000,
        ge=100,
        le=500_000,
        description=(
            "Records per transaction when `vardeild ingest` reads files (a batch also ends after "
            "a second when following). Larger batches cost less per record (each commit "
            "rewrites the index pages its inserts touched); smaller ones commit sooner."
        ),
    )
    alert_window_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description=(
            "Length of an alert's time window: repeats of one classification between one member "
            "and one external party within a window fold into one alert."
        ),
    )
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        description=(
            "NATS server(s) of the scale-out path (`vardeild worker`, `vardeild sensors ship`); "
            "several as a comma-separated list, tls:// for TLS."
        ),
    )
    nats_credentials: Path | None = Field(
        default=None,
        description="A NATS .creds file (JWT and NKey) to authenticate with; empty for none.",
    )
    nats_stream: str = Field(
        default="VARDEILD_EVENTS",
        description="The JetStream stream sensors publish event batches to (a work queue).",
    )
    nats_subject: str = Field(
        default="vardeild.events.eve",
        description=(
            "Subject prefix of the stream: a sensor publishes to `<prefix>.<sensor name>`, "
            "and the stream takes `<prefix>.>`."
        ),
    )
    nats_consumer: str = Field(
        default="vardeild-workers",
        description="The durable pull consumer every `vardeild worker` shares.",
    )
    nats_dead_letter_subject: str = Field(
        default="vardeild.dead.eve",
        description=(
            "Where a batch goes after nats_max_deliver failed attempts (kept in the stream "
            "`<nats_stream>_DEAD`), with the reason in its headers."
        ),
    )
    nats_ack_wait: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Seconds JetStream waits for a worker's ack before redelivering a batch; workers "
            "extend it while a long batch is still being stored."
        ),
    )
    nats_max_deliver: int = Field(
        default=10,
        ge=1,
        description=(
            "Attempts at a batch before it is moved to the dead-letter subject (a batch that "
            "fails, or kills its worker, this many times)."
        ),
    )
    nats_duplicate_window: float = Field(
        default=120.0,
        gt=0,
        description=(
            "Seconds within which JetStream drops a re-published batch with the same message "
            "id; after it, the pipeline's batch keys still skip it."
        ),
    )
    nats_stream_max_bytes: int = Field(
        default=8 * 1024**3,
        ge=1024**2,
        description=(
            "Most bytes the stream holds; when full it refuses new batches (shippers keep them "
            "in their spool) rather than drop old ones."
        ),
    )
    nats_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of the stream in a NATS cluster (3 for a durable deployment).",
    )
    spool_max_bytes: int = Field(
        default=1024**3,
        ge=1024**2,
        description=(
            "Largest on-disk spool of `vardeild sensors ship`; when full it stops reading and "
            "says so, never dropping a line."
        ),
    )
    mail_transport: Literal["maildir", "smtp"] = Field(
        default="maildir",
        description=(
            "How notices leave: `maildir` writes them to mail_maildir (the embedded default, "
            "no mail server needed), `smtp` sends them through mail_smtp_host."
        ),
    )
    mail_maildir: Path | None = Field(
        default=None,
        description="The maildir notices are written to. Empty means <data_dir>/outbox.",
    )
    mail_from: str = Field(
        default="cert@vardeild.example",
        description="The address notices come from (the envelope sender and From).",
    )
    mail_reply_to: str | None = Field(
        default=None,
        description="Where members' replies go. Empty means mail_from.",
    )
    mail_smtp_host: str = Field(default="localhost", description="The SMTP server (relay).")
    mail_smtp_port: int = Field(
        default=587, ge=1, le=65535, description="The SMTP server's port (465 for tls)."
    )
    mail_smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description=(
            "`starttls` (required, no fallback), `tls` (implicit TLS, port 465), or `none` "
            "(only for a relay on loopback)."
        ),
    )
    mail_smtp_username: str | None = Field(
        default=None, description="Login at the SMTP server; empty for none."
    )
    mail_smtp_password: SecretStr | None = Field(
        default=None, description="Password for mail_smtp_username."
    )
    mail_smtp_ca_file: Path | None = Field(
        default=None,
        description="A CA certificate to trust for the SMTP server's TLS; empty: the system's.",
    )
    mail_smtp_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the SMTP server before deferring."
    )
    mail_inbound_protocol: Literal["smtp", "lmtp"] = Field(
        default="lmtp",
        description=(
            "What `vardeild mail receive` speaks: `lmtp` (behind the CERT's own mail server, "
            "which hands every message on over LMTP) or `smtp`."
        ),
    )
    mail_inbound_host: str = Field(
        default="127.0.0.1",
        description=(
            "Address `vardeild mail receive` listens on; loopback, so only the local mail "
            "server can deliver to it."
        ),
    )
    mail_inbound_port: int = Field(
        default=8024, ge=1, le=65535, description="Port `vardeild mail receive` listens on."
    )
    mail_inbound_max_bytes: int = Field(
        default=26_214_400,
        gt=0,
        description=(
            "Largest inbound message kept, in bytes (25 MiB); a larger one is refused "
            "during the SMTP/LMTP transaction (552), so the sending server keeps and bounces it."
        ),
    )
    mail_inbound_max_parts: int = Field(
        default=200, gt=0, description="Most MIME parts an inbound message may have."
    )
    mail_inbound_max_depth: int = Field(
        default=8, gt=0, description="Deepest nesting of multiparts an inbound message may have."
    )
    mail_inbound_max_unzipped_bytes: int = Field(
        default=104_857_600,
        gt=0,
        description=(
            "Most bytes a zip attachment may unpack to (100 MiB) before it is refused as a "
            "zip bomb; counted while reading, never unpacked to disk."
        ),
    )
    mail_inbound_max_zip_ratio: int = Field(
        default=100,
        gt=0,
        description="Highest unpacked-to-packed ratio of a zip attachment's member.",
    )
    mail_imap_host: str | None = Field(
        default=None,
        description=(
            "The IMAP server holding the CERT's mailbox, for `vardeild mail poll` (a mailbox "
            "that cannot deliver over LMTP); empty: no polling."
        ),
    )
    mail_imap_port: int = Field(
        default=993, ge=1, le=65535, description="The IMAP server's port (993 tls, 143 starttls)."
    )
    mail_imap_security: Literal["tls", "starttls", "none"] = Field(
        default="tls",
        description=(
            "`tls` (implicit TLS, port 993), `starttls` (required, no fallback), or `none` "
            "(refused unless the server is on loopback)."
        ),
    )
    mail_imap_username: str | None = Field(default=None, description="Login at the IMAP server.")
    mail_imap_password: SecretStr | None = Field(
        default=None, description="Password for mail_imap_username."
    )
    mail_imap_mailbox: str = Field(
        default="INBOX", description="The mailbox `vardeild mail poll` takes messages from."
    )
    mail_imap_done_mailbox: str = Field(
        default="Vardeild",
        description=(
            "Where each message is moved once kept (created if missing), so the mailbox holds "
            "only what is still to fetch."
        ),
    )
    mail_imap_ca_file: Path | None = Field(
        default=None,
        description="A CA certificate to trust for the IMAP server's TLS; empty: the system's.",
    )
    mail_imap_interval_seconds: float = Field(
        default=60.0, gt=0, description="Seconds between passes of `vardeild mail poll`."
    )
    notify_public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address members reach Vardeild at: acknowledgement and portal links.",
    )
    notify_timezone: str = Field(
        default="Europe/Oslo",
        description=(
            "The time zone of policies' digest times and quiet hours, and of times in notices."
        ),
    )
    notify_default_tlp: str = Field(
        default="AMBER+STRICT",
        description="The TLP 2.0 label of notices made from alerts.",
    )
    notify_retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Wait after a delivery's first temporary failure; doubled after each next one.",
    )
    notify_retry_max_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="Longest wait between two delivery attempts."
    )
    notify_max_attempts: int = Field(
        default=12,
        ge=1,
        description=(
            "Attempts at a delivery before it fails (`vardeild notify retry` queues it again)."
        ),
    )
    notify_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description=(
            "How long a sender holds a delivery it is sending; a sender killed mid-way leaves it "
            "to be taken again after this."
        ),
    )
    notify_alert_lookback_hours: int = Field(
        default=72,
        ge=1,
        description="Alerts last seen within this many hours are checked for new notices.",
    )
    notify_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Pause between passes of `vardeild notify run --loop` and notify_in_serve.",
    )
    notify_in_serve: bool = Field(
        default=False,
        description=(
            "Run the notify pass inside `vardeild serve` every notify_interval_seconds, so that "
            "no cron job or `vardeild notify run --loop` is needed (safe beside them)."
        ),
    )
    vulndb_nvd_url: str = Field(
        default="https://services.nvd.nist.gov/rest/json/cves/2.0",
        description=(
            "NVD CVE API 2.0 endpoint `vardeild vulndb sync` asks for CVEs changed since the last "
            "sync (lastModStartDate/lastModEndDate windows); an offline mirror may serve the same "
            "API."
        ),
    )
    vulndb_nvd_api_key: SecretStr | None = Field(
        default=None,
        description="NVD API key (sent as the apiKey header); without one, NVD allows fewer calls.",
    )
    vulndb_nvd_pause_seconds: float = Field(
        default=6.0,
        ge=0,
        description="Pause between NVD requests: NVD asks for 6 s without an API key (0.6 s with).",
    )
    vulndb_kev_url: str = Field(
        default="https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
        description="CISA Known Exploited Vulnerabilities catalogue (JSON) the sync fetches whole.",
    )
    vulndb_epss_url: str = Field(
        default="https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
        description="FIRST EPSS daily scores (CSV, gzip allowed) the sync fetches whole.",
    )
    intel_fetch_allow_private: bool = Field(
        default=False,
        description=(
            "Let intel feeds fetch from loopback, private, link-local and reserved addresses "
            "(off: every address a feed host resolves to, and every redirect hop, is checked)."
        ),
    )
    intel_fetch_max_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest answer an intel feed fetch accepts."
    )
    intel_fetch_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Longest an intel feed fetch may take in all."
    )
    intel_sync_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Pause between passes of `vardeild intel sync --loop` over the due feeds.",
    )
    vulndb_download_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="Largest download the vulnerability sync accepts, in bytes (gzip as sent).",
    )
    vulndb_download_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Longest a single vulnerability-sync download may take.",
    )
    exposure_scan_ports: str = Field(
        default="21,22,23,25,53,80,110,143,443,445,993,995,1433,3306,3389,5432,5900,8080,8443",
        description="Ports an exposure scan probes (nmap -p syntax: 22,80,8000-8100).",
    )
    exposure_scan_max_rate: int = Field(
        default=100, gt=0, description="Packets per second an exposure scan sends at most."
    )
    exposure_scan_max_addresses: int = Field(
        default=4096, gt=0, description="Most addresses one exposure scan may cover."
    )
    exposure_scan_window: str = Field(
        default="",
        pattern=r"^$|^\d\d:\d\d-\d\d:\d\d$",
        description="Local hours scans may run, e.g. 22:00-06:00 (notify_timezone); empty: any.",
    )
    exposure_scan_every_days: int = Field(
        default=7,
        ge=0,
        description=(
            "Days between scheduled scans of a member (`vardeild exposure scan --due`, run "
            "hourly from cron or a timer); 0: no schedule."
        ),
    )
    exposure_scan_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="Longest an exposure scan may run before it is stopped."
    )
    exposure_sla_days_p1: int = Field(default=7, gt=0, description="Days to fix a P1 finding.")
    exposure_sla_days_p2: int = Field(default=30, gt=0, description="Days to fix a P2 finding.")
    exposure_sla_days_p3: int = Field(default=90, gt=0, description="Days to fix a P3 finding.")
    exposure_sla_days_p4: int = Field(default=180, gt=0, description="Days to fix a P4 finding.")
    exposure_notify_from: Literal["P1", "P2", "P3", "P4"] = Field(
        default="P2", description="New findings at or above this priority send a notice."
    )
    portal_secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that binds the portal's CSRF tokens to the browser. Empty means a random key "
            "kept in <data_dir>/portal-secret (mode 0600), made on first use."
        ),
    )
    portal_trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses of reverse proxies whose X-Forwarded-Proto and "
            "X-Forwarded-For the portal believes (for HSTS, Secure cookies and rate limits)."
        ),
    )
    portal_session_idle_minutes: int = Field(
        default=30, gt=0, description="A portal session ends after this long without a request."
    )
    portal_session_max_hours: int = Field(
        default=12, gt=0, description="A portal session ends this long after sign-in at the latest."
    )
    portal_signin_max_failures: int = Field(
        default=5, gt=0, description="Failed sign-ins in a row that lock an account."
    )
    portal_lockout_minutes: int = Field(
        default=15, gt=0, description="How long a locked account stays locked."
    )
    portal_address_max_failures: int = Field(
        default=20,
        gt=0,
        description="Failed sign-ins from one client address per 15 minutes before it must wait.",
    )
    portal_reset_link_minutes: int = Field(
        default=30, gt=0, description="How long an e-mailed password-reset link works (once)."
    )
    oidc_issuer: str = Field(
        default="",
        description=(
            "Issuer URL of the OpenID Connect provider (its discovery document is "
            "<issuer>/.well-known/openid-configuration). Empty: no OIDC sign-in."
        ),
    )
    oidc_client_id: str = Field(default="", description="Client id Vardeild has at the provider.")
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="Client secret Vardeild has at the provider (client_secret_basic).",
    )
    oidc_provider_name: str = Field(
        default="OpenID Connect",
        description="Name of the provider on the sign-in page's button, e.g. the sector's IdP.",
    )
    oidc_scopes: str = Field(
        default="openid email profile",
        description="Scopes asked for (space-separated; openid is always sent).",
    )
    oidc_email_claim: str = Field(
        default="email",
        description="Claim that holds the e-mail address (from the ID token, else userinfo).",
    )
    oidc_link_by_email: bool = Field(
        default=True,
        description=(
            "Link a first-time identity to the local user with the same address, only when the "
            "provider says email_verified is true. Off: only identities linked already sign in."
        ),
    )
    oidc_allowed_email_domains: str = Field(
        default="",
        description=(
            "Comma-separated e-mail domains that may be linked or created through OIDC; "
            "empty: any domain."
        ),
    )
    oidc_role_claim: str = Field(
        default="",
        description=(
            "Claim holding groups or roles (a list or a string), read only by oidc_role_map. "
            "Empty: nobody is created through OIDC."
        ),
    )
    oidc_role_map: str = Field(
        default="",
        description=(
            "Users created at first OIDC sign-in, from the role claim: `value=role` or "
            "`value=role@organisation_id`, separated by `;`, first match wins, e.g. "
            "`cert-analysts=cert_analyst;hf-a=member_user@12`. Empty: none created; existing "
            "users keep their local role."
        ),
    )
    oidc_requires_local_totp: bool = Field(
        default=False,
        description=(
            "Ask users with a local TOTP enrolled for their code after OIDC sign-in too. Off: "
            "the provider's own authentication (its MFA) counts."
        ),
    )
    oidc_allow_private: bool = Field(
        default=False,
        description=(
            "Let the provider's endpoints be on loopback, private or link-local addresses (an "
            "IdP on the internal network). Off: every address they resolve to is checked."
        ),
    )
    oidc_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest one request to the provider may take."
    )
    case_attachment_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest evidence attachment a case takes, in bytes; stored under "
            "<data_dir>/case-evidence by SHA-256."
        ),
    )
    case_early_warning_hours: float = Field(
        default=24, gt=0, description="A significant incident's early warning is due this many "
        "hours after the CERT became aware of it."
    )  # fmt: skip
    case_notification_hours: float = Field(
        default=72, gt=0, description="A significant incident's notification is due this many "
        "hours after the CERT became aware of it."
    )  # fmt: skip
    case_final_report_months: int = Field(
        default=1, ge=1, le=12, description="A significant incident's final report is due this "
        "many months after the notification (or its deadline, while not made)."
    )  # fmt: skip
    case_sla_acknowledge_hours: str = Field(
        default="critical=1,high=4,medium=24,low=72,info=168",
        pattern=_SEVERITY_HOURS,
        description="Service target per severity: hours until a new case is acknowledged "
        "(leaves new). A severity left out, or 0, has no target.",
    )
    case_sla_resolve_hours: str = Field(
        default="critical=24,high=72,medium=240,low=720,info=2160",
        pattern=_SEVERITY_HOURS,
        description="Service target per severity: hours until a case is resolved.",
    )
    case_digest_hour: int = Field(
        default=7,
        ge=-1,
        le=23,
        description="Local hour (notify_timezone) from which the notify pass mails the CERT's "
        "daily digest of incident deadlines (overdue or due within case_digest_within_hours, "
        "and overdue tasks) to case_digest_email, once a day; -1: no digest.",
    )
    case_digest_within_hours: float = Field(
        default=24, gt=0, description="The CERT's deadline digest names deadlines due within "
        "this many hours, besides those overdue."
    )  # fmt: skip
    case_digest_email: str = Field(
        default="", description="Where the CERT's deadline digest goes. Empty means cert_email."
    )

    @field_validator("database_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator(
        "nats_credentials",
        "pgp_home",
        "pgp_key_fingerprint",
        "pgp_passphrase",
        "pgp_passphrase_file",
        "pgp_public_url",
        "pgp_security_policy_url",
        "mail_maildir",
        "mail_reply_to",
        "mail_smtp_username",
        "mail_smtp_password",
        "mail_smtp_ca_file",
        "mail_imap_host",
        "mail_imap_username",
        "mail_imap_password",
        "mail_imap_ca_file",
        "portal_secret_key",
        "oidc_client_secret",
        mode="before",
    )
    @classmethod
    def _empty_path_is_none(cls, value: Any) -> Any:
        return value or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    @property
    def effective_pgp_home(self) -> Path:
        """Return the GnuPG home of the CERT's key: pgp_home, else <data_dir>/gnupg."""
        return self.pgp_home or self.data_dir / "gnupg"

    @property
    def effective_database_url(self) -> str:
        """Return the database URL in use: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'vardeild.sqlite3'}"

    def public_dict(self) -> dict[str, Any]:
        """Return the settings with secrets in URLs masked, for display."""
        values = self.model_dump(mode="json")
        values["effective_database_url"] = _mask_password(self.effective_database_url)
        if values.get("database_url"):
            values["database_url"] = _mask_password(values["database_url"])
        return values


def _mask_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


def settings_reference() -> str:
    """Return the Markdown reference of every setting (docs/settings.md is this, verbatim)."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated: python -m vardeild.settings > docs/settings.md (a test keeps it true) -->",
        "",
        "Each setting is read from its environment variable, else from the TOML file named by",
        "`VARDEILD_CONFIG` (or `./vardeild.toml` when present), else takes its default.",
        "`vardeild settings` prints the values in effect.",
        "",
        "| setting | environment variable | default | what it does |",
        "|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        if info.default_factory is not None:
            default = "`~/.local/share/vardeild` (`$XDG_DATA_HOME/vardeild`)"
        elif info.default is None:
            default = "(empty)"
        else:
            default = f"`{info.default}`"
        env = f"`VARDEILD_{name.upper()}`"
        lines.append(f"| `{name}` | {env} | {default} | {info.description} |")
    lines += [
        "",
        "Example `vardeild.toml`:",
        "",
        "```toml",
        'data_dir = "/var/lib/vardeild"',
        'database_url = "postgresql+psycopg://vardeild@db.example/vardeild"',
        'host = "127.0.0.1"',
        "port = 8000",
        'cert_name = "HelseCERT"',
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_reference(), end="")
