"""Reading inbound mail within bounds: sizes, parts and nesting are bounded before trust,
malformed MIME is named and not fatal, attachment names are made safe, zip bombs are
refused by ratio and by absolute size without being unpacked, and multipart/signed bodies
are split exactly as sent."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

import pytest

from vardeild.mail.inbound_mime import (
    MailLimits,
    MailRefused,
    check_size,
    multipart_bodies,
    parse_message,
    read_content,
    safe_filename,
    zip_problem,
)

LIMITS = MailLimits(
    max_bytes=100_000, max_parts=20, max_depth=4, max_unzipped_bytes=1_000_000, max_zip_ratio=50
)


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for level in range(depth):
        boundary = f"b{level}".encode()
        body = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary
            + b"\r\n" + body + b"\r\n--" + boundary + b"--\r\n"
        )  # fmt: skip
    return b"From: a@b.example\r\nSubject: nest\r\nMIME-Version: 1.0\r\n" + body


def test_a_message_over_the_size_limit_is_refused() -> None:
    with pytest.raises(MailRefused, match="mail bomb: 100,001 bytes"):
        check_size(b"x" * 100_001, LIMITS)


def test_too_many_declared_boundaries_are_refused_before_parsing() -> None:
    with pytest.raises(MailRefused, match="multipart boundaries"):
        check_size(_nested(30), LIMITS)


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    assert "innermost" in read_content(parse_message(_nested(3)), LIMITS).text
    with pytest.raises(MailRefused, match="nested deeper than 4"):
        read_content(parse_message(_nested(6)), LIMITS)


def test_malformed_mime_is_named_and_the_text_still_read() -> None:
    raw = (
        b"From: a@b.example\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=never-used\r\n\r\n"
        b"There is no boundary line at all: 203.0.113.5\r\n"
    )
    content = read_content(parse_message(raw), LIMITS)
    assert any("malformed MIME in message" in p for p in content.problems)
    assert any("StartBoundaryNotFoundDefect" in p for p in content.problems)


def test_bad_base64_and_an_unknown_charset_are_problems_not_crashes() -> None:
    raw = (
        b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ\r\n"
    )
    content = read_content(parse_message(raw), LIMITS)
    assert "hello world" in content.text
    assert any("unknown charset" in p for p in content.problems)
    assert any("InvalidBase64PaddingDefect" in p for p in content.problems)


@pytest.mark.parametrize(
    ("given", "safe", "problem"),
    [
        ("../../etc/passwd", "passwd", "path traversal"),
        ("/etc/shadow", "shadow", "path in the file name"),
        ("C:\\Windows\\evil.exe", "evil.exe", "path in the file name"),
        ("a\x00.pdf.exe", "a_.pdf.exe", "NUL in the file name"),
        ("..", "attachment-3", "path traversal"),
        (".bashrc", "bashrc", "unsafe characters"),
        ("rapport.pdf", "rapport.pdf", ""),
    ],
)
def test_attachment_names_are_made_safe(given: str, safe: str, problem: str) -> None:
    name, found = safe_filename(given, 3)
    assert name == safe
    assert problem in found
    if not problem:
        assert found == ""


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_bombs_are_refused_by_ratio_and_by_size() -> None:
    assert zip_problem(_zip({"logs.txt": b"203.0.113.9 login failed\n" * 20}), LIMITS) == ""
    by_ratio = zip_problem(_zip({"zeros.bin": b"\0" * 500_000}), LIMITS)
    assert by_ratio.startswith("zip bomb")
    assert "times its packed size" in by_ratio
    roomy = MailLimits(max_unzipped_bytes=1_000_000, max_zip_ratio=10_000)
    by_size = zip_problem(_zip({f"z{i}.bin": b"\0" * 400_000 for i in range(3)}), roomy)
    assert by_size.startswith("zip bomb: unpacks to 1,200,000 bytes")
    assert zip_problem(b"PK\x03\x04 not really", LIMITS).startswith("not a readable zip")


def test_a_zip_that_understates_its_size_is_stopped_while_counting() -> None:
    data = bytearray(_zip({"zeros.bin": b"\0" * 2_000_000}))
    # Lie in both headers: claim 1,000 bytes unpacked.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    problem = zip_problem(bytes(data), MailLimits(max_unzipped_bytes=1_000_000))
    assert problem.startswith(("zip bomb", "damaged zip member")), problem


def test_a_zip_attachment_bomb_is_refused_but_listed() -> None:
    message = EmailMessage()
    message["From"] = "a@b.example"
    message.set_content("see attached")
    message.add_attachment(
        _zip({"zeros.bin": b"\0" * 500_000}),
        maintype="application",
        subtype="zip",
        filename="../../bomb.zip",
    )
    content = read_content(parse_message(message.as_bytes()), LIMITS)
    [attachment] = content.attachments
    assert attachment.refused
    assert attachment.filename == "bomb.zip"
    assert "path traversal" in attachment.problem
    assert "zip bomb" in attachment.problem


def test_multipart_bodies_are_the_bytes_as_sent() -> None:
    raw = (
        b'Content-Type: multipart/signed; boundary="XX"; protocol="application/pgp-signature"'
        b"\n\npreamble\n--XX\nContent-Type: text/plain\n\nsigned  \n--XX\n"
        b"Content-Type: application/pgp-signature\n\nSIG\n--XX--\nepilogue\n"
    )
    _, bodies = multipart_bodies(raw)
    assert bodies == [
        b"Content-Type: text/plain\r\n\r\nsigned  ",
        b"Content-Type: application/pgp-signature\r\n\r\nSIG",
    ]
