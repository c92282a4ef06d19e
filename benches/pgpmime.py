"""Bench PGP/MIME: notices signed, and signed and encrypted, per CPU-second.

    .venv/bin/python benches/pgpmime.py [--messages 100] [--recipients 1] [--json]

Makes a passphrase-protected CERT key and recipients' keys (ed25519/cv25519) in throwaway
GnuPG homes under /tmp, then times `PgpMime.protect` on a typical notice (a Norwegian text
body of 40 lines and a small CSV attachment): first signed only, then signed and encrypted to
the recipients. CPU is this process plus the gpg processes it ran (RUSAGE_CHILDREN); the
gpg-agent is a daemon, not a child, so its share (about a millisecond per signature with the
CERT home's s2k-count) is not counted. Wall time is printed too, but on a busy machine only
the CPU figures compare.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from vardeild.mail.cert_key import CertKey
from vardeild.mail.pgpmime import PgpMime


def cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def notice() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "cert@vardeild.example"
    message["To"] = "ola@medlem.example"
    message["Subject"] = "[VARDEILD#1] [TLP:AMBER] Mistenkelig trafikk fra nettet deres"
    message.set_content("Hei,\n" + "Vi så trafikk mot 192.0.2.7 på port 443 (æøå).\n" * 40)
    message.add_attachment(
        b"tidspunkt;kilde;mal\n" * 50, maintype="text", subtype="csv", filename="hendelser.csv"
    )
    return message


def run(pgp: PgpMime, keys: list[str], count: int) -> dict[str, float]:
    message = notice()
    pgp.protect(message, recipient_keys=keys)  # the agent up, the passphrase cached
    own0, children0 = cpu()
    wall0 = time.perf_counter()
    for _ in range(count):
        pgp.protect(message, recipient_keys=keys)
    wall = time.perf_counter() - wall0
    own1, children1 = cpu()
    total = (own1 - own0) + (children1 - children0)
    return {
        "messages": count,
        "cpu_seconds": round(total, 3),
        "python_cpu_seconds": round(own1 - own0, 3),
        "gpg_cpu_seconds": round(children1 - children0, 3),
        "per_cpu_second": round(count / total, 1),
        "wall_seconds": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--recipients", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vd-b-", dir="/tmp"))
    homes = [root / "cert"] + [root / f"r{i}" for i in range(args.recipients)]
    try:
        cert = CertKey(homes[0], passphrase="en lang og god passfrase")  # noqa: S106 - a bench key
        cert.generate(name="Bench CERT", email="cert@vardeild.example")
        keys = []
        for i, home in enumerate(homes[1:]):
            recipient = CertKey(home)
            recipient.generate(name=f"Mottaker {i}", email=f"r{i}@medlem.example")
            keys.append(recipient.export_public().decode("ascii"))
        pgp = PgpMime(cert)
        results = {
            "signed": run(pgp, [], args.messages),
            f"signed_and_encrypted_to_{args.recipients}": run(pgp, keys, args.messages),
        }
    finally:
        for home in homes:
            CertKey(home).stop_agent()
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for name, figures in results.items():
        print(
            f"{name}: {figures['per_cpu_second']} messages per CPU-second "
            f"({figures['messages']} in {figures['cpu_seconds']} s CPU: python "
            f"{figures['python_cpu_seconds']} s, gpg {figures['gpg_cpu_seconds']} s; "
            f"wall {figures['wall_seconds']} s)"
        )


if __name__ == "__main__":
    main()
