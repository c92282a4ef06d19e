"""EVE alert lines for members registered by a test, the truth they make, and what the
database holds afterwards: the bus tests' end-to-end checks."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from support.factories import CERT_ADMIN, org_data
from support.sensors import eve_alert
from vardeild.members import service as members
from vardeild.monitoring.tables import AlertRow, EventRow, IngestBatchRow, QuarantineRow
from vardeild.platform import Platform

SIGNATURES = (2001219, 2010935, 2024897, 2027865)


@dataclass
class Stream:
    """Generated lines and what they must become: events per (member, identifier)."""

    lines: list[bytes] = field(default_factory=list)
    truth: Counter[tuple[int, str]] = field(default_factory=Counter)


def register_members(platform: Platform, networks: list[str]) -> list[int]:
    """Register one organisation per network; return their ids in the same order."""
    ids = []
    with platform.session() as session:
        for network in networks:
            created = members.create_organisation(
                session,
                CERT_ADMIN,
                org_data(networks=[network]),
                clock=platform.clock,
                key_inspector=platform.key_inspector,
            )
            ids.append(int(created["id"]))
    return ids


def alert_stream(count: int, owners: dict[str, int], *, seed: int, start: int = 0) -> Stream:
    """Return count distinct alert lines against hosts in the networks of owners (a /24 each,
    `10.x.y.0/24` -> member id), and their truth."""
    rng = random.Random(seed)
    networks = sorted(owners)
    stream = Stream()
    for n in range(start, start + count):
        network = rng.choice(networks)
        sid = rng.choice(SIGNATURES)
        host = network.replace("0/24", str(rng.randrange(1, 255)))
        stream.lines.append(eve_alert(n, dest_ip=host, signature_id=sid, signature=f"sig {sid}"))
        stream.truth[(owners[network], f"sid:1:{sid}")] += 1
    return stream


@dataclass(frozen=True)
class Stored:
    """What the database holds after a run."""

    events: int
    distinct_fingerprints: int
    alert_counts: Counter[tuple[int, str]]
    batches: int
    quarantined: int


def stored(platform: Platform) -> Stored:
    """Return what the database of platform holds."""
    with platform.session() as session:
        counts: Counter[tuple[int, str]] = Counter()
        for member, identifier, total in session.execute(
            select(
                AlertRow.member_id, AlertRow.classification_identifier, func.sum(AlertRow.count)
            ).group_by(AlertRow.member_id, AlertRow.classification_identifier)
        ):
            counts[(int(member), str(identifier))] = int(total)
        return Stored(
            events=int(session.scalar(select(func.count()).select_from(EventRow)) or 0),
            distinct_fingerprints=int(
                session.scalar(select(func.count(func.distinct(EventRow.fingerprint)))) or 0
            ),
            alert_counts=counts,
            batches=int(session.scalar(select(func.count()).select_from(IngestBatchRow)) or 0),
            quarantined=int(session.scalar(select(func.count()).select_from(QuarantineRow)) or 0),
        )
