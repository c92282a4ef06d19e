"""Evidence on a case: files stored once by SHA-256 under the data directory (never under a
web root), bounded in size, and served only to those entitled: CERT staff, and an involved
member only when the attachment is shared and of a TLP it may see.

The name a file came with is kept for display only; the stored file is named by its hash, so
no name a reporter chose (`../../etc/passwd`) reaches the file system.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.clock import Clock
from vardeild.core.errors import NotFound, ValidationFailed, VardeildError
from vardeild.core.tlp import Tlp
from vardeild.incidents.model import Visibility, member_may_see
from vardeild.incidents.service import (
    audit,
    case_row_or_raise,
    editable_case,
)
from vardeild.incidents.tables import AttachmentRow

_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


class EvidenceDamaged(VardeildError):
    """A stored evidence file is missing or no longer has the hash it was stored under."""


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence files live, and the largest one taken."""

    root: Path
    max_bytes: int

    def path(self, sha256: str) -> Path:
        """Return where the file with this hash is (two levels of fan-out)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store data (once: the same bytes again are not written twice); return its hash."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside and moved into place, so a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return digest

    def read(self, sha256: str) -> bytes:
        """Return the stored bytes; EvidenceDamaged if missing or changed."""
        try:
            data = self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise EvidenceDamaged(f"evidence {sha256} is missing from {self.root}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceDamaged(f"evidence {sha256} no longer has its hash")
        return data


def display_name(filename: str) -> str:
    """Return the name shown for an uploaded file: its last path part, without control
    characters, at most 200 characters (never used as a path)."""
    name = re.split(r"[/\\]", filename)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or "evidence"


def attachment_dict(row: AttachmentRow) -> dict[str, Any]:
    """Return an attachment's record as JSON-ready data."""
    return {
        "id": row.id,
        "case_id": row.case_id,
        "sha256": row.sha256,
        "size": row.size,
        "filename": row.filename,
        "content_type": row.content_type,
        "visibility": row.visibility,
        "tlp": row.tlp,
        "uploaded_at": row.uploaded_at,
        "uploaded_by": row.uploaded_by,
    }


def add_attachment(
    session: Session,
    principal: Principal,
    case_id: int,
    *,
    clock: Clock,
    store: EvidenceStore,
    data: bytes,
    filename: str,
    content_type: str = "application/octet-stream",
    visibility: Visibility = Visibility.INTERNAL,
    tlp: Tlp | None = None,
) -> dict[str, Any]:
    """Store evidence on the case and return its record; ValidationFailed if empty or larger
    than the store takes."""
    case = editable_case(session, principal, case_id)
    record = f"case {case_id}"
    if not data:
        raise ValidationFailed.one(record, "file", "is empty")
    if len(data) > store.max_bytes:
        raise ValidationFailed.one(
            record, "file", f"is {len(data)} bytes; at most {store.max_bytes} are taken"
        )
    kind = content_type.split(";")[0].strip().lower()
    digest = store.put(data)
    row = AttachmentRow(
        case_id=case.id,
        sha256=digest,
        size=len(data),
        filename=display_name(filename),
        content_type=kind if _TYPE.match(kind) else "application/octet-stream",
        visibility=visibility.value,
        tlp=(tlp or Tlp(case.tlp)).value,
        uploaded_at=clock.now(),
        uploaded_by=principal.actor,
    )
    session.add(row)
    session.flush()
    audit(
        session, principal, clock=clock, action="attach", case_id=case.id, before=None,
        after={"attachment_id": row.id, "sha256": digest, "size": row.size,
               "visibility": row.visibility, "tlp": row.tlp},
    )  # fmt: skip
    return attachment_dict(row)


def _entitled(principal: Principal, row: AttachmentRow) -> bool:
    return principal.is_cert or member_may_see(Visibility(row.visibility), Tlp(row.tlp))


def list_attachments(session: Session, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """Return the case's attachments principal is entitled to, oldest first."""
    case_row_or_raise(session, principal, case_id)
    rows = session.scalars(
        select(AttachmentRow).where(AttachmentRow.case_id == case_id).order_by(AttachmentRow.id)
    )
    return [attachment_dict(r) for r in rows if _entitled(principal, r)]


def read_attachment(
    session: Session,
    principal: Principal,
    case_id: int,
    attachment_id: int,
    *,
    store: EvidenceStore,
) -> tuple[dict[str, Any], bytes]:
    """Return the attachment's record and bytes; NotFound if absent, of another case, or not
    one principal is entitled to (a member: only shared ones below TLP:RED of its cases)."""
    case_row_or_raise(session, principal, case_id)
    row = session.get(AttachmentRow, attachment_id)
    if row is None or row.case_id != case_id or not _entitled(principal, row):
        raise NotFound(f"attachment {attachment_id} of case {case_id} not found")
    return attachment_dict(row), store.read(row.sha256)
