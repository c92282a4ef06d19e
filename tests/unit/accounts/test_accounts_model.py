"""The pure rules of accounts: TOTP against RFC 6238's vectors, the window and replay, the
lockout under a fixed clock, the per-address failure window and the password policy."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from vardeild.accounts import model

# RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated to the hash's size.
_SEED_SHA1 = base64.b32encode(b"12345678901234567890").decode()
_SEED_SHA256 = base64.b32encode(b"12345678901234567890123456789012").decode()
_SEED_SHA512 = base64.b32encode(b"1234567890" * 6 + b"1234").decode()
_RFC_VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix", "sha1", "sha256", "sha512"), _RFC_VECTORS)
def test_totp_matches_rfc_6238_vectors(unix: int, sha1: str, sha256: str, sha512: str) -> None:
    at = datetime.fromtimestamp(unix, UTC)
    assert model.totp_code(_SEED_SHA1, at, digits=8, digest="sha1") == sha1
    assert model.totp_code(_SEED_SHA256, at, digits=8, digest="sha256") == sha256
    assert model.totp_code(_SEED_SHA512, at, digits=8, digest="sha512") == sha512


def test_totp_window_is_one_step_either_side() -> None:
    secret = model.new_totp_secret()
    now = datetime(2026, 11, 28, 12, 0, 10, tzinfo=UTC)
    step = model.totp_step(now)
    for offset in (-1, 0, 1):
        code = model.totp_code(secret, now + timedelta(seconds=30 * offset))
        assert model.verify_totp(secret, code, now) == step + offset
    for offset in (-3, -2, 2, 3):
        code = model.totp_code(secret, now + timedelta(seconds=30 * offset))
        if code != model.totp_code(secret, now):  # a collision would make this meaningless
            assert model.verify_totp(secret, code, now) is None


def test_totp_code_is_not_accepted_twice() -> None:
    secret = model.new_totp_secret()
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    code = model.totp_code(secret, now)
    step = model.verify_totp(secret, code, now)
    assert step is not None
    assert model.verify_totp(secret, code, now, last_step=step) is None
    assert model.verify_totp(secret, code, now + timedelta(seconds=20), last_step=step) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_totp_refuses_malformed_codes(code: str) -> None:
    assert model.verify_totp(model.new_totp_secret(), code, datetime.now(UTC)) is None


def test_totp_uri_names_issuer_and_account() -> None:
    uri = model.totp_uri(
        "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", account="a@cert.example", issuer="Test CERT"
    )
    assert uri.startswith("otpauth://totp/Test%20CERT:a%40cert.example?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri
    assert "issuer=Test%20CERT" in uri


def test_lockout_after_max_failures_and_unlock_after_the_time() -> None:
    policy = model.LockoutPolicy(max_failures=3, lock_for=timedelta(minutes=10))
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    state = model.SUCCESS
    for _ in range(2):
        state = model.after_failure(state, now, policy)
        assert not model.is_locked(state, now)
    state = model.after_failure(state, now, policy)
    assert model.is_locked(state, now)
    assert model.is_locked(state, now + timedelta(minutes=9, seconds=59))
    assert not model.is_locked(state, now + timedelta(minutes=10))
    # After the lock runs out the count starts again: one failure does not lock at once.
    later = now + timedelta(minutes=11)
    again = model.after_failure(state, later, policy)
    assert again.failures == 1
    assert not model.is_locked(again, later)


def test_failure_window_limits_one_address_and_forgets_old_failures() -> None:
    window = model.FailureWindow(limit=3, window=timedelta(minutes=5))
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for i in range(3):
        assert not window.blocked("192.0.2.1", now + timedelta(seconds=i))
        window.record("192.0.2.1", now + timedelta(seconds=i))
    assert window.blocked("192.0.2.1", now + timedelta(seconds=10))
    assert not window.blocked("192.0.2.2", now + timedelta(seconds=10))
    assert not window.blocked("192.0.2.1", now + timedelta(minutes=5, seconds=3))


def test_failure_window_memory_is_bounded() -> None:
    window = model.FailureWindow(limit=1, max_keys=10)
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for i in range(50):
        window.record(f"198.51.100.{i}", now)
    assert window.blocked("198.51.100.49", now)
    assert not window.blocked("198.51.100.0", now)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("kort", "at least 12"),
        ("x" * 300, "at most 256"),
        ("passwordpassword", "most common"),
        ("abababababababab", "5 different"),
        ("kari.nordmann-2026!", "e-mail address"),
        ("Kari Nordmann sitt passord", "display name"),
        ("ok-length-pass\x07word", "control characters"),
    ],
)
def test_password_policy_names_the_problem(password: str, problem: str) -> None:
    problems = model.password_problems(
        password, email="kari.nordmann@cert.example", display_name="Kari Nordmann"
    )
    assert any(problem in p for p in problems), problems


def test_password_policy_accepts_a_good_passphrase() -> None:
    assert model.password_problems("blå-fjord-havørn-29", email="kari@cert.example") == []


def test_sealed_secret_opens_only_with_its_key_and_user() -> None:
    key = model.totp_key(b"portal key")
    secret = model.new_totp_secret()
    sealed = model.seal_secret(secret, key, user_id=7)
    assert secret not in sealed
    assert model.seal_secret(secret, key, user_id=7) != sealed  # a fresh nonce each time
    assert model.open_secret(sealed, key, user_id=7) == secret
    assert model.open_secret(sealed, model.totp_key(b"another key"), user_id=7) is None
    assert model.open_secret(sealed, key, user_id=8) is None
    assert model.open_secret(secret, key, user_id=7) is None  # never stored unsealed
    assert model.open_secret("v1:not-base64!", key, user_id=7) is None
