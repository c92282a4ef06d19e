"""With notify_in_serve, `vardeild serve` runs the notify pass beside the web app: an alert
becomes a notice in the maildir outbox, signed with the CERT key from the settings."""

from __future__ import annotations

from pathlib import Path

from support.notify import add_member, parse
from support.pipeline import eve_batch, eve_line, make_pipeline
from vardeild.app import background_tasks
from vardeild.core.clock import FixedClock
from vardeild.mail.cert_key import CertKey
from vardeild.platform import Platform
from vardeild.settings import Settings


def test_serve_runs_the_notify_pass_when_asked(
    platform: Platform, cert_key: CertKey, clock: FixedClock, tmp_path: Path
) -> None:
    assert [t.name for t in background_tasks(platform)] == ["sensor silence check"]
    platform.settings = Settings(
        data_dir=platform.settings.data_dir,
        notify_in_serve=True,
        mail_maildir=tmp_path / "outbox",
        pgp_home=cert_key.home,
        pgp_passphrase=cert_key.passphrase,
    )
    add_member(
        platform,
        [{"name": "Ola", "email": "ola.serve@medlem.example", "roles": ["security"]}],
        networks=["198.18.80.0/24"],
    )
    line = eve_line(src="203.0.113.8", dst="198.18.80.8", at=clock.now())
    make_pipeline(platform).ingest(eve_batch([line]))
    [task] = [t for t in background_tasks(platform) if t.name == "notify pass"]
    task.start()
    try:
        assert task.wait_for_runs(1, timeout=60)
    finally:
        task.stop()
    assert task.failures == 0
    [stored] = list((tmp_path / "outbox" / "new").iterdir())
    message = parse(stored.read_bytes())
    assert message.get_content_type() == "multipart/signed"
    assert "[VARDEILD-N#" in str(message["Subject"])
