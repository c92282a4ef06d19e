"""Which keys expire within the horizon: judged against a given moment, soonest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vardeild.members.key_expiry import WatchedKey, keys_expiring

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def key(owner: str, expires_at: datetime | None) -> WatchedKey:
    return WatchedKey(owner=owner, name=owner, fingerprint=owner.upper(), expires_at=expires_at)


def test_keys_within_the_horizon_and_expired_ones_soonest_first() -> None:
    keys = [
        key("never@x.no", None),
        key("later@x.no", NOW + timedelta(days=31)),
        key("edge@x.no", NOW + timedelta(days=30)),
        key("soon@x.no", NOW + timedelta(days=3, hours=5)),
        key("gone@x.no", NOW - timedelta(days=2, hours=1)),
        key("now@x.no", NOW),
    ]
    found = keys_expiring(keys, now=NOW, within=timedelta(days=30))
    assert [(f.key.owner, f.expired, f.days_left) for f in found] == [
        ("gone@x.no", True, -3),
        ("now@x.no", True, 0),
        ("soon@x.no", False, 3),
        ("edge@x.no", False, 30),
    ]


def test_a_shorter_horizon_lists_fewer() -> None:
    keys = [key("soon@x.no", NOW + timedelta(days=3)), key("edge@x.no", NOW + timedelta(days=30))]
    assert [f.key.owner for f in keys_expiring(keys, now=NOW, within=timedelta(days=7))] == [
        "soon@x.no"
    ]


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(TypeError):
        keys_expiring([], now=datetime(2026, 11, 28), within=timedelta(days=30))
