"""Caps and digests through the service with a controllable clock: beyond the hourly cap
notices roll into the next digest, never dropped; a digest is made once, holds each notice's
reference, and arrives in the maildir outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from support.notify import add_member, parse, queue_message
from vardeild.access.model import SYSTEM
from vardeild.app import build_outbox
from vardeild.core.clock import FixedClock
from vardeild.mail.cert_key import CertKey
from vardeild.mail.maildir import MaildirTransport
from vardeild.mail.pgpmime import PgpMime
from vardeild.notify import digests, service
from vardeild.notify.model import NoticeKind, NoticeStatus
from vardeild.notify.service import NotifyConfig
from vardeild.notify.tables import NoticeRow
from vardeild.platform import Platform


def _queue(platform: Platform, member: int, n: int) -> int:
    return queue_message(
        platform, member, f"test:{member}:{n}", title=f"Melding {n}",
        content={"details": {"text": f"Tekst {n}"}, "systems": [f"10.9.9.{n}"]},
    )  # fmt: skip


def test_beyond_the_cap_notices_roll_into_one_digest_never_dropped(
    platform: Platform, config: NotifyConfig, cert_key: CertKey, clock: FixedClock, tmp_path: Path
) -> None:
    clock.advance(datetime(2026, 11, 30, 9, 10, tzinfo=UTC) - clock.now())  # a Monday
    member = add_member(
        platform,
        [{"name": "Ola", "email": "ola.digest@medlem.example", "roles": ["security"]}],
        networks=["198.18.50.0/24"],
    )
    with platform.session() as session:
        service.set_policy(session, SYSTEM, member, {"cap_per_hour": 2}, now=clock.now())
    ids = [_queue(platform, member, n) for n in range(5)]
    with platform.session() as session:
        rows = {r.id: r for r in session.scalars(select(NoticeRow).where(NoticeRow.id.in_(ids)))}
        assert [rows[i].status for i in ids] == ["queued"] * 2 + ["pending"] * 3
        assert all(rows[i].into_digest for i in ids[2:])
        # Not yet due: nothing happens.
        assert digests.release_due(session, config=config, now=clock.now())["digests"] == 0
    clock.advance(timedelta(hours=1))
    with platform.session() as session:
        counts = digests.release_due(session, config=config, now=clock.now())
        again = digests.release_due(session, config=config, now=clock.now())
    assert (counts["digests"], counts["digested"]) == (1, 3)
    assert again["digests"] == 0
    with platform.session() as session:
        digest = session.scalars(
            select(NoticeRow).where(
                NoticeRow.member_id == member, NoticeRow.kind == NoticeKind.DIGEST.value
            )
        ).one()
        held = [session.get(NoticeRow, i) for i in ids[2:]]
        assert all(h is not None and h.status == NoticeStatus.DIGESTED.value for h in held)
        assert all(h is not None and h.digest_id == digest.id for h in held)
        digest_id = digest.id
    outbox = build_outbox(
        platform, transport=MaildirTransport(tmp_path / "out"), protector=PgpMime(cert_key)
    )
    assert outbox.send_due().sent == 3  # the two immediate ones and the digest
    texts = [parse(p.read_bytes()) for p in (tmp_path / "out" / "new").iterdir()]
    [digest_mail] = [m for m in texts if f"[VARDEILD-N#{digest_id}]" in m["Subject"]]
    body = digest_mail.get_payload()[0].get_body(preferencelist=("plain",)).get_content()
    for notice_id in ids[2:]:
        assert f"[VARDEILD-N#{notice_id}]" in body
    assert "cap of 2 notices per hour reached" in body
