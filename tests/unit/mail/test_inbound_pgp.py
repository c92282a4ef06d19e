"""gpg's status lines judged: which verdict and which key each gives (the primary key's
fingerprint from VALIDSIG, the issuer's from ERRSIG when gpg names it, else the key id)."""

from __future__ import annotations

import pytest

from vardeild.mail.inbound_pgp import SignatureCheck, _statuses, _verdict

PRIMARY = "A" * 40
SUBKEY = "B" * 40


class _Result:
    def __init__(self, lines: list[str]) -> None:
        self.stderr = "\n".join(f"[GNUPG:] {line}" for line in lines) + "\n"


def _judge(*lines: str) -> SignatureCheck:
    return _verdict(_statuses(_Result(list(lines))))


def test_a_good_signature_names_the_primary_key() -> None:
    check = _judge(
        "GOODSIG BBBBBBBBBBBBBBBB Ola <ola@x.example>",
        f"VALIDSIG {SUBKEY} 2026-11-28 1795900000 0 4 0 22 10 00 {PRIMARY}",
    )
    assert (check.status, check.key) == ("good", PRIMARY)
    assert check.describe == f"good signature by {PRIMARY}"


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("EXPKEYSIG CCCCCCCCCCCCCCCC Old <o@x.example>", "expired_key"),
        ("REVKEYSIG CCCCCCCCCCCCCCCC Gone <g@x.example>", "revoked_key"),
        ("BADSIG CCCCCCCCCCCCCCCC Ola <ola@x.example>", "bad"),
    ],
)
def test_doubtful_signatures(line: str, status: str) -> None:
    check = _judge(line)
    assert (check.status, check.key) == (status, "CCCCCCCCCCCCCCCC")


def test_an_unknown_key_is_named_by_fingerprint_or_key_id() -> None:
    with_fpr = _judge(f"ERRSIG DDDDDDDDDDDDDDDD 22 10 00 1795900000 9 {PRIMARY}")
    assert (with_fpr.status, with_fpr.key) == ("unknown_key", PRIMARY)
    assert with_fpr.describe == f"unknown key {PRIMARY}"
    old_style = _judge(
        "ERRSIG DDDDDDDDDDDDDDDD 1 8 00 1795900000 9 -", "NO_PUBKEY DDDDDDDDDDDDDDDD"
    )
    assert (old_style.status, old_style.key) == ("unknown_key", "DDDDDDDDDDDDDDDD")
    other = _judge("ERRSIG DDDDDDDDDDDDDDDD 1 8 00 1795900000 4 -")
    assert other.status == "error"


def test_no_signature_at_all() -> None:
    assert _judge("PLAINTEXT 62 0").status == "none"
    assert _judge("NODATA 1").status == "error"
