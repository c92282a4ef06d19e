"""Bench notices: rendered, signed, and signed and encrypted per second.

    .venv/bin/python benches/notify.py [--notices 200] [--json]

Builds one alert notice with ten sample events (as an alert's notice carries) and times, in CPU
seconds of this process and of its gpg children together (resource.getrusage, SELF and
CHILDREN; gpg-agent, which does the secret-key operations, runs detached and is not counted,
so the wall time is printed beside):

- rendering: the Jinja2 templates and the CSV and JSON attachments, and building the e-mail;
- signing: PGP/MIME multipart/signed with a passphrase-protected CERT key (ed25519);
- signing and encrypting to one recipient's key (cv25519) — what a contact with a key gets.

gpg runs as a child process for every signature and encryption, so its start-up dominates the
crypto figures; they are the ceiling of one sender process on one core.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vardeild.core.tlp import Tlp
from vardeild.mail.cert_key import CertKey
from vardeild.mail.gnupg_home import stop_agent
from vardeild.mail.pgpmime import PgpMime
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify.message import build_message
from vardeild.notify.model import NoticeKind
from vardeild.notify.rendering import Links, NoticeView, render_notice

ZONE = ZoneInfo("Europe/Oslo")
LINKS = Links(
    ack_url="https://vardeild.example/api/v1/notices/ack/" + "a" * 32,
    portal_url="https://vardeild.example/api/v1/notices/1",
    reply_to="cert@vardeild.example",
    key_url="https://vardeild.example/pgp-key.asc",
    cert_name="Bench-CERT",
)


def _view() -> NoticeView:
    events = [
        {
            "time_source": f"2026-11-28T10:{i:02d}:00+00:00",
            "feed_name": "suricata",
            "classification_taxonomy": "malicious-code",
            "classification_type": "infected-system",
            "classification_identifier": "sid:1:2030000",
            "event_description_text": "ET MALWARE Beacon",
            "severity": 3,
            "source_ip": "10.1.0.5",
            "source_port": 40000 + i,
            "destination_ip": "203.0.113.66",
            "destination_port": 443,
        }
        for i in range(10)
    ]
    return NoticeView(
        id=12345,
        kind=NoticeKind.ALERT,
        title="ET MALWARE Beacon",
        severity=Severity.HIGH,
        tlp=Tlp.AMBER_STRICT,
        content={
            "details": {
                "count": 42,
                "signature": "ET MALWARE Beacon",
                "identifier": "sid:1:2030000",
                "taxonomy": "malicious-code",
                "type": "infected-system",
                "first_seen": "2026-11-28T10:00:00+00:00",
                "last_seen": "2026-11-28T10:09:00+00:00",
                "external_party": "203.0.113.66",
                "feed_name": "suricata",
                "indicator_match": True,
            },
            "systems": ["10.1.0.5"],
            "events": events,
        },
        created_at=datetime(2026, 11, 28, 10, 10, tzinfo=UTC),
    )


def _message(view: NoticeView, language: Language) -> Any:
    rendered = render_notice(view, LINKS, language=language, recipient_name="Ola", zone=ZONE)
    return build_message(
        rendered,
        sender="cert@vardeild.example",
        sender_name="Bench-CERT",
        recipient="ola@medlem.example",
        recipient_name="Ola Nordmann",
        reply_to="cert@vardeild.example",
        message_id="<bench@vardeild.example>",
        at=datetime(2026, 11, 28, 10, 10, tzinfo=UTC),
    )


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _time(n: int, work: Callable[[int], object]) -> dict[str, float]:
    cpu, wall = _cpu(), time.perf_counter()
    for i in range(n):
        work(i)
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    return {
        "n": n,
        "cpu_s": round(cpu, 3),
        "per_cpu_s": round(n / cpu, 1),
        "wall_s": round(wall, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="vd-b-", dir="/tmp"))
    recipient_home = Path(tempfile.mkdtemp(prefix="vd-r-", dir="/tmp"))
    try:
        cert = CertKey(home / "cert", passphrase="bench passphrase")  # noqa: S106 - a throwaway key
        cert.generate(name="Bench-CERT", email="cert@vardeild.example", valid_days=30)
        recipient_home.chmod(0o700)
        params = (
            "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nSubkey-Type: ecdh\n"
            "Subkey-Curve: cv25519\nSubkey-Usage: encrypt\nName-Real: Ola Nordmann\n"
            "Name-Email: ola@medlem.example\nExpire-Date: 0\n%no-protection\n%commit\n"
        )
        gpg = ["gpg", "--homedir", str(recipient_home), "--batch"]
        subprocess.run(  # noqa: S603 - fixed arguments
            [*gpg, "--gen-key"], input=params.encode(), check=True, capture_output=True
        )
        public = subprocess.run(  # noqa: S603 - fixed arguments
            [*gpg, "--armor", "--export", "ola@medlem.example"], check=True, capture_output=True
        ).stdout.decode()
        pgp = PgpMime(cert)
        view = _view()
        pgp.protect(_message(view, Language.NB), recipient_keys=[public])  # warm the agent
        n = args.notices
        results = {
            "rendered": _time(n * 5, lambda i: _message(view, (Language.NB, Language.EN)[i % 2])),
            "signed": _time(
                n, lambda i: pgp.protect(_message(view, Language.NB), recipient_keys=[])
            ),
            "signed_and_encrypted": _time(
                n, lambda i: pgp.protect(_message(view, Language.NB), recipient_keys=[public])
            ),
        }
    finally:
        stop_agent(home / "cert")
        stop_agent(recipient_home)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(recipient_home, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(
            f"{name:>22}: {figures['per_cpu_s']:>8} notices per CPU second "
            f"({figures['n']} in {figures['cpu_s']} CPU s, {figures['wall_s']} s wall)"
        )


if __name__ == "__main__":
    main()
