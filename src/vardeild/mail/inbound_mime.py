"""Reading an inbound message with bounds: its size, number of parts, nesting and the unpacked
size of zip attachments are checked before any of it is trusted, malformed MIME is named
rather than fatal, and attachment names are never used as names of anything.

Nothing here does I/O; the caller keeps the raw message before calling any of it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

from vardeild.settings import Settings

_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_ZIP_CHUNK = 65536
HEAD_KEPT_BYTES = 65536  # of a refused oversized message, so the record shows who sent what


@dataclass(frozen=True)
class MailLimits:
    """How much an inbound message may hold before it is refused as a mail bomb."""

    max_bytes: int = 26_214_400
    max_parts: int = 200
    max_depth: int = 8
    max_unzipped_bytes: int = 104_857_600
    max_zip_ratio: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> MailLimits:
        """Return the limits the settings name (mail_inbound_max_*)."""
        return cls(
            max_bytes=settings.mail_inbound_max_bytes,
            max_parts=settings.mail_inbound_max_parts,
            max_depth=settings.mail_inbound_max_depth,
            max_unzipped_bytes=settings.mail_inbound_max_unzipped_bytes,
            max_zip_ratio=settings.mail_inbound_max_zip_ratio,
        )


class MailRefused(Exception):
    """The message exceeds a bound (a mail bomb) or cannot be read at all; says which."""


@dataclass
class Attachment:
    """One attachment: its content under its hash, a safe name to show, and any problem."""

    position: int
    filename: str
    given_name: str
    content_type: str
    data: bytes
    problem: str = ""
    refused: bool = False

    @property
    def sha256(self) -> str:
        """Return the SHA-256 of the content (its storage address)."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Content:
    """What a message (or a decrypted entity) says: its text, attachments and problems."""

    text_parts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    parts_seen: int = 0

    @property
    def text(self) -> str:
        """Return the text parts joined by a blank line."""
        return "\n\n".join(part.strip("\n") for part in self.text_parts if part.strip())


def check_size(raw: bytes, limits: MailLimits) -> None:
    """Raise MailRefused if raw is larger than limits.max_bytes or declares more multipart
    boundaries than max_parts (counted in the bytes, before the parser sees them)."""
    if len(raw) > limits.max_bytes:
        raise MailRefused(
            f"mail bomb: {len(raw):,} bytes, more than the {limits.max_bytes:,} kept "
            "(mail_inbound_max_bytes)"
        )
    boundaries = len(_BOUNDARY.findall(raw))
    if boundaries > limits.max_parts:
        raise MailRefused(
            f"mail bomb: {boundaries:,} multipart boundaries declared, more than the "
            f"{limits.max_parts} parts allowed (mail_inbound_max_parts)"
        )


def parse_message(raw: bytes) -> EmailMessage:
    """Return raw parsed (the parser is lenient: broken MIME shows up as defects);
    raises MailRefused if it cannot be parsed at all."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
    except (RecursionError, ValueError, TypeError, LookupError, IndexError) as exc:
        raise MailRefused(f"malformed: the message cannot be parsed ({exc!r})") from exc
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_text(message: Message, name: str, *, limit: int = 1000) -> str:
    """Return a header's decoded value on one line, at most limit characters ('' if absent
    or undecodable)."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, LookupError, IndexError):
        return ""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return text[:limit]


def sender_address(message: Message) -> str:
    """Return the From address, lower-cased ('' if there is no usable one)."""
    try:
        pairs = getaddresses([str(message.get("From", ""))])
    except (ValueError, TypeError, IndexError):
        return ""
    for _, address in pairs:
        if "@" in address:
            return address.strip().lower()[:254]
    return ""


def defects_of(entity: Message, where: str) -> list[str]:
    """Return the parser's defects of entity (not its sub-parts) as problems in words."""
    problems = []
    for defect in getattr(entity, "defects", []):
        doc = (type(defect).__doc__ or "").strip().splitlines()[0] if type(defect).__doc__ else ""
        problems.append(f"malformed MIME in {where}: {type(defect).__name__} ({doc})")
    return problems


def read_content(
    entity: Message,
    limits: MailLimits,
    *,
    depth: int = 0,
    content: Content | None = None,
    where: str = "message",
) -> Content:
    """Return the text and attachments of entity, walking its parts to limits.max_depth and
    limits.max_parts; raises MailRefused past either bound (a nested or part bomb)."""
    content = content or Content()
    if depth > limits.max_depth:
        raise MailRefused(
            f"mail bomb: multiparts nested deeper than {limits.max_depth} levels "
            "(mail_inbound_max_depth)"
        )
    content.parts_seen += 1
    if content.parts_seen > limits.max_parts:
        raise MailRefused(
            f"mail bomb: more than {limits.max_parts} MIME parts (mail_inbound_max_parts)"
        )
    if entity.is_multipart():
        content.problems.extend(defects_of(entity, where))
        payload = entity.get_payload()
        children = payload if isinstance(payload, list) else []
        for index, child in enumerate(children, start=1):
            read_content(
                child, limits, depth=depth + 1, content=content, where=f"{where}/part {index}"
            )
        return content
    _read_leaf(entity, limits, content, where)
    # Decoding the body adds its defects (bad base64) to the part: read them after.
    content.problems.extend(defects_of(entity, where))
    return content


def _read_leaf(entity: Message, limits: MailLimits, content: Content, where: str) -> None:
    content_type = entity.get_content_type()
    given = _given_filename(entity)
    disposition = (entity.get_content_disposition() or "").lower()
    data = _decoded(entity, content, where)
    if content_type == "message/rfc822":
        # An attached message: kept whole as an attachment, not walked (it is evidence).
        content.attachments.append(_attachment(content, given or "message.eml", entity, data))
        return
    if entity.get_content_maintype() == "text" and disposition != "attachment" and not given:
        text = _text(entity, data, content, where)
        if content_type == "text/html":
            text = _html_text(text)
        content.text_parts.append(text)
        return
    attachment = _attachment(content, given, entity, data)
    if data.startswith(_ZIP_MAGIC):
        problem = zip_problem(data, limits)
        if problem:
            attachment.refused = True
            attachment.problem = "; ".join(filter(None, [attachment.problem, problem]))
            content.problems.append(f"attachment {attachment.position} refused: {problem}")
    content.attachments.append(attachment)


def _attachment(content: Content, given: str, entity: Message, data: bytes) -> Attachment:
    position = len(content.attachments) + 1
    safe, problem = safe_filename(given, position)
    if problem:
        content.problems.append(f"attachment {position}: {problem}")
    return Attachment(
        position=position,
        filename=safe,
        given_name=ascii(given)[1:-1][:400] if given else "",
        content_type=entity.get_content_type()[:200],
        data=data,
        problem=problem,
    )


def _given_filename(entity: Message) -> str:
    try:
        name = entity.get_filename()
    except (ValueError, TypeError, LookupError, IndexError):
        return ""
    return str(name) if name else ""


def _decoded(entity: Message, content: Content, where: str) -> bytes:
    try:
        data = entity.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, IndexError) as exc:
        content.problems.append(f"malformed MIME in {where}: body cannot be decoded ({exc!r})")
        return b""
    return data if isinstance(data, bytes) else b""


def _text(entity: Message, data: bytes, content: Content, where: str) -> str:
    charset = entity.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        content.problems.append(
            f"malformed MIME in {where}: unknown charset {charset[:40]!r}; read as latin-1"
        )
        return data.decode("latin-1")


def safe_filename(given: str, position: int) -> tuple[str, str]:
    """Return a name safe to show and to offer for download, and the problem with the given
    one ('' if none): path parts, NUL and control characters, leading dots are dropped."""
    fallback = f"attachment-{position}"
    if not given:
        return fallback, ""
    leaf = re.split(r"[/\\]", given)[-1]
    cleaned = _UNSAFE_NAME.sub("_", leaf).strip().lstrip(".").strip()[:150]
    if not cleaned or set(cleaned) <= {"_", " "}:
        cleaned = fallback
    problems = []
    if "/" in given or "\\" in given or given.startswith("~"):
        problems.append("path in the file name")
    if "\x00" in given:
        problems.append("NUL in the file name")
    if ".." in given.split("/") or ".." in re.split(r"[/\\]", given):
        problems.append("path traversal (..)")
    if not problems and cleaned != given:
        problems.append("unsafe characters in the file name")
    if not problems:
        return cleaned, ""
    return cleaned, (
        f"file name {ascii(given)[:200]} was unsafe ({', '.join(problems)}); shown as {cleaned!r}"
    )


def zip_problem(data: bytes, limits: MailLimits) -> str:
    """Return why a zip archive is refused as a zip bomb ('' if it is within limits).

    The declared sizes are checked first (cheap); then every member is read through the
    decompressor in chunks that are counted and dropped, stopping at the limit, since the
    declared sizes can lie. Nothing is written anywhere.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"not a readable zip archive ({exc})"
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_parts * 50:
            return f"zip bomb: {len(members):,} members"
        declared = sum(member.file_size for member in members)
        if declared > limits.max_unzipped_bytes:
            return (
                f"zip bomb: unpacks to {declared:,} bytes, more than "
                f"{limits.max_unzipped_bytes:,} (mail_inbound_max_unzipped_bytes)"
            )
        total = 0
        for member in members:
            packed = max(member.compress_size, 1)
            if member.file_size / packed > limits.max_zip_ratio:
                return (
                    f"zip bomb: {ascii(member.filename)[:80]} unpacks "
                    f"{member.file_size // packed:,} times its packed size (more than "
                    f"{limits.max_zip_ratio}, mail_inbound_max_zip_ratio)"
                )
            problem, read = _count_member(archive, member, limits, total)
            if problem:
                return problem
            total += read
    return ""


def _count_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: MailLimits, before: int
) -> tuple[str, int]:
    read = 0
    packed = max(member.compress_size, 1)
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_ZIP_CHUNK):
                read += len(chunk)
                if before + read > limits.max_unzipped_bytes:
                    return (
                        f"zip bomb: unpacks to more than {limits.max_unzipped_bytes:,} bytes "
                        "(its sizes were understated)",
                        read,
                    )
                if read / packed > limits.max_zip_ratio and read > _ZIP_CHUNK:
                    return (
                        f"zip bomb: {ascii(member.filename)[:80]} unpacks more than "
                        f"{limits.max_zip_ratio} times its packed size (its sizes were "
                        "understated)",
                        read,
                    )
    except RuntimeError:
        return "", read  # encrypted member: cannot be counted, and is not unpacked here either
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        return f"damaged zip member {ascii(member.filename)[:80]} ({exc})", read
    return "", read


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in {"script", "style"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1
        if tag in {"p", "br", "div", "tr", "li"}:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def multipart_bodies(entity_bytes: bytes) -> tuple[bytes, list[bytes]]:
    """Return the headers of a multipart entity and its parts exactly as transmitted (split
    at its boundary as RFC 2046 §5.1.1 says, the CRLF before each delimiter belonging to the
    delimiter), for verifying a multipart/signed signature over the bytes that were signed."""
    canonical = re.sub(rb"\r?\n", b"\r\n", entity_bytes)
    head, separator, body = canonical.partition(b"\r\n\r\n")
    if not separator:
        return canonical, []
    parsed = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.compat32)
    boundary = parsed.get_boundary()
    if not boundary:
        return head, []
    delimiter = b"--" + boundary.encode("ascii", "replace")
    pieces = re.split(rb"(?:^|\r\n)" + re.escape(delimiter) + rb"(--)?[ \t]*(?:\r\n|$)", body)
    # re.split leaves the captured "--" (or None) between pieces: keep only the bodies
    # between the first delimiter and the closing one.
    bodies: list[bytes] = []
    texts = pieces[0::2]
    closers = pieces[1::2]
    for index in range(1, len(texts)):
        bodies.append(texts[index])
        if index < len(closers) and closers[index] == b"--":
            break
    return head, bodies
