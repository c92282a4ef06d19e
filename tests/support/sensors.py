"""Helpers for the sensor and HTTP ingest tests: EVE lines, a registered sensor with its token,
and a free port."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from support.factories import CERT_ADMIN
from vardeild.core.clock import Clock
from vardeild.monitoring import sensors

EPOCH = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def eve_alert(
    n: int,
    *,
    dest_ip: str,
    src_ip: str = "203.0.113.66",
    signature_id: int = 2001219,
    signature: str = "ET SCAN Potential SSH Scan",
) -> bytes:
    """Return a Suricata EVE alert line, made unique by n (its time, flow id and port)."""
    moment = EPOCH + timedelta(milliseconds=n)
    record: dict[str, Any] = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "flow_id": 1_000_000_000 + n,
        "event_type": "alert",
        "src_ip": src_ip,
        "src_port": 1024 + n % 60000,
        "dest_ip": dest_ip,
        "dest_port": 22,
        "proto": "TCP",
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id,
            "rev": 20,
            "signature": signature,
            "category": "Attempted Information Leak",
            "severity": 2,
        },
    }
    return json.dumps(record, separators=(",", ":")).encode()


def eve_stats(*, uptime: int, packets: int, drops: int, alerts: int) -> bytes:
    """Return a Suricata EVE stats line."""
    record = {
        "timestamp": EPOCH.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "event_type": "stats",
        "stats": {
            "uptime": uptime,
            "capture": {"kernel_packets": packets, "kernel_drops": drops},
            "detect": {"alert": alerts},
        },
    }
    return json.dumps(record, separators=(",", ":")).encode()


@dataclass(frozen=True)
class RegisteredSensor:
    """A sensor and the secret of its token."""

    id: int
    name: str
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        """Return the Authorization header carrying its token."""
        return {"Authorization": f"Bearer {self.secret}"}


def register_sensor(
    session: Session,
    clock: Clock,
    name: str = "osl-dc1-ids",
    *,
    organisation_id: int | None = None,
    **extra: Any,
) -> RegisteredSensor:
    """Register a sensor as the CERT and issue its token."""
    created = sensors.create_sensor(
        session,
        CERT_ADMIN,
        clock=clock,
        name=name,
        location="Testlab",
        organisation_id=organisation_id,
        **extra,
    )
    issued = sensors.issue_sensor_token(session, CERT_ADMIN, name, clock=clock)
    return RegisteredSensor(id=created.id, name=name, secret=issued.secret)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
