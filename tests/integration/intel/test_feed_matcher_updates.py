"""refresh_matcher on a real store: additions and expiries by command are taken in as an
overlay on the held base; a deletion, or an indicator expiring by its time, rebuilds."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy.orm import Session

from support.factories import CERT
from vardeild.core.clock import FixedClock
from vardeild.intel.matcher_source import load_matcher, refresh_matcher
from vardeild.intel.service import delete_indicators, expire_indicators, load_indicators

FIELDS = [
    *("destination_ip", "source_fqdn", "destination_fqdn", "source_url", "destination_url"),
    *("dns_query", "tls_sni", "http_host", "malware_hash_md5", "malware_hash_sha1"),
    *("malware_hash_sha256", "tls_ja3", "tls_ja3s", "tls_ja4"),
]


def seen(ip: str) -> SimpleNamespace:
    return SimpleNamespace(source_ip=ip, **dict.fromkeys(FIELDS))


def test_changes_are_taken_in_without_a_rebuild_and_deletions_rebuild(
    session: Session, clock: FixedClock
) -> None:
    first = load_indicators(session, CERT, b"192.0.2.1\n192.0.2.2\n", clock=clock, source="a")
    assert first.created == 2
    base = load_matcher(session, now=clock.now())
    assert refresh_matcher(session, base, now=clock.now()) is base  # nothing changed

    clock.advance(timedelta(minutes=5))
    load_indicators(session, CERT, b"192.0.2.3\n", clock=clock, source="b")
    layered = refresh_matcher(session, base, now=clock.now())
    assert layered is not base
    assert layered.built_at == base.built_at  # the base is held, not rebuilt
    assert layered.match(seen("192.0.2.3"))
    assert layered.match(seen("192.0.2.1"))

    (one,) = layered.match(seen("192.0.2.1"))
    expire_indicators(session, CERT, clock=clock, ids=[one])
    after_expiry = refresh_matcher(session, layered, now=clock.now())
    assert after_expiry.built_at == base.built_at
    assert after_expiry.match(seen("192.0.2.1")) == []
    assert after_expiry.match(seen("192.0.2.3"))

    delete_indicators(session, CERT, clock=clock, source="b")
    rebuilt = refresh_matcher(session, after_expiry, now=clock.now())
    assert rebuilt.built_at == clock.now()  # a new base
    assert rebuilt.match(seen("192.0.2.3")) == []
    assert rebuilt.match(seen("192.0.2.2"))


def test_an_indicator_expiring_by_its_time_rebuilds(session: Session, clock: FixedClock) -> None:
    until = clock.now() + timedelta(minutes=10)
    load_indicators(session, CERT, b"192.0.2.9\n", clock=clock, source="a", valid_until=until)
    base = load_matcher(session, now=clock.now())
    assert base.match(seen("192.0.2.9"))
    clock.advance(timedelta(minutes=11))
    later = refresh_matcher(session, base, now=clock.now())
    assert later.match(seen("192.0.2.9")) == []
