"""A throwaway TLS certificate for test servers on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed_certificate(where: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 (valid one day) and its unencrypted key
    into where; return their paths. The certificate is its own CA: trust it by ca_file."""
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
