"""The file outbox: every message written to a maildir (`new/`), the embedded default, so the
demo needs no mail server. A message is stored under a name derived from its Message-ID, so a
message written twice (a sender killed before recording it) is stored once."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from hashlib import blake2b
from pathlib import Path

from vardeild.notify.model import DeliveryDeferred


@dataclass(frozen=True)
class MaildirTransport:
    """Writes messages into root/new, atomically (tmp/ then rename)."""

    root: Path

    def send(self, message: EmailMessage, *, sender: str, recipients: Sequence[str]) -> str:
        """Return where the message was written; DeliveryDeferred if it cannot be."""
        key = f"{message['Message-ID']}\x1f{','.join(recipients)}"
        name = "vardeild-" + blake2b(key.encode(), digest_size=16).hexdigest()
        target = self.root / "new" / name
        try:
            for sub in ("tmp", "new", "cur"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            if target.exists():
                return f"maildir {target} (written before)"
            data = (
                f"Return-Path: <{sender}>\r\n".encode()
                + f"X-Original-To: {', '.join(recipients)}\r\n".encode()
                + message.as_bytes(policy=SMTP)
            )
            handle, temporary = tempfile.mkstemp(dir=self.root / "tmp", prefix=name)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            raise DeliveryDeferred(f"maildir {self.root} cannot be written: {exc}") from exc
        return f"maildir {target}"
