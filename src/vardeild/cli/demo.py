"""`vardeild demo`: a platform with a fictional constituency, ready to try.

It creates or upgrades the database, adds the demo organisations that are missing (through the
registry's import, so each is validated and audited like any import), the demo sensors and
threat indicators, replays some hours of realistic sensor traffic through the monitoring
pipeline, leaves a CERT API token in the data directory and serves the web app and API while
the demo sensors go on reporting a few events a second (cli/demo_feed.py).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from sqlalchemy.orm import Session

from vardeild.access.model import Principal, Role
from vardeild.access.service import authenticate, issue_token
from vardeild.cli.context import cli_context
from vardeild.cli.demo_cases import seed_demo_cases
from vardeild.cli.demo_feed import (
    HISTORY_HOURS,
    HISTORY_RECORDS,
    demo_feed,
    live_task,
    seed_demo_indicators,
    seed_demo_sensors,
)
from vardeild.cli.demo_users import ensure_demo_users
from vardeild.cli.output import say, stdout
from vardeild.cli.system import HostOption, PortOption, run_server
from vardeild.mail.cert_key import ensure_demo_key
from vardeild.members.demo import DEMO_EXAMPLES, demo_constituency
from vardeild.members.registry_io import RegistryFormat, apply_import
from vardeild.members.service import delete_organisation, find_organisation_id
from vardeild.platform import Platform

TOKEN_FILE = "demo-cert-token"  # noqa: S105 - the file's name, not a secret
TOKEN_NAME = "vardeild demo"  # noqa: S105
SOURCE = "the demo constituency"


def _missing(session: Session) -> list[dict[str, object]]:
    """Return the demo organisations the registry does not hold (by org number)."""
    return [
        org
        for org in demo_constituency()
        if find_organisation_id(session, str(org["org_number"])) is None
    ]


def remove_demo(session: Session, principal: Principal, platform: Platform) -> int:
    """Delete the demo organisations present (children first); return how many."""
    removed = 0
    for org in reversed(demo_constituency()):
        org_id = find_organisation_id(session, str(org["org_number"]))
        if org_id is not None:
            delete_organisation(session, principal, org_id, clock=platform.clock)
            removed += 1
    return removed


def seed_demo(session: Session, principal: Principal, platform: Platform) -> int:
    """Add the demo organisations that are missing; return how many were added. Ones present
    are left as they are, edits included, so running the demo again changes nothing."""
    missing = _missing(session)
    if not missing:
        return 0
    plan = apply_import(
        session,
        principal,
        json.dumps(missing).encode("utf-8"),
        RegistryFormat.JSON,
        source=SOURCE,
        clock=platform.clock,
        key_inspector=platform.key_inspector,
        dry_run=False,
        max_bytes=platform.settings.import_max_bytes,
    )
    return len(plan.created)


def ensure_demo_token(platform: Platform, principal: Principal) -> Path:
    """Return the path of the demo's CERT API token file (mode 0600), issuing a token unless
    the file holds one that still works."""
    path = platform.settings.data_dir / TOKEN_FILE
    with platform.session() as session:
        if path.exists():
            secret = path.read_text(encoding="utf-8").strip()
            if authenticate(session, secret, clock=platform.clock) is not None:
                return path
        issued = issue_token(
            session,
            principal,
            clock=platform.clock,
            name=TOKEN_NAME,
            role=Role.CERT_ANALYST,
            organisation_id=None,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(issued.secret + "\n")
    path.chmod(0o600)  # in case the file was there before with wider permissions
    return path


def _command_name() -> str:
    """Return how the user can call this command from another shell: plain `vardeild` if it
    is on the PATH, else the full path of the one beside this interpreter (a venv's bin)."""
    sibling = Path(sys.executable).parent / "vardeild"
    on_path = shutil.which("vardeild")
    if on_path is None and sibling.exists():
        return shlex.quote(str(sibling))
    return "vardeild"


def _try_this(token: Path, data_dir: Path, host: str, port: int, serving: bool) -> None:
    inside = next(value for value, owner in DEMO_EXAMPLES if owner is not None)
    outside = next(value for value, owner in DEMO_EXAMPLES if owner is None)
    base = f"http://{host}:{port}"
    command = _command_name()
    lines = []
    if os.environ.get("VARDEILD_DATA_DIR"):
        # Another shell would otherwise look in the default data directory and find nothing.
        lines.append(f"export VARDEILD_DATA_DIR={shlex.quote(str(data_dir))}")
    lines += [
        f'curl -H "Authorization: Bearer $(cat {shlex.quote(str(token))})" '
        f"{base}/api/v1/organisations",
        f"{command} whois {inside}",
        f"{command} whois {outside}        # no member",
        f"{command} members list",
        f"{command} members conflicts",
        f"{command} alerts list",
        f"{command} sensors list",
        f'curl -H "Authorization: Bearer $(cat {shlex.quote(str(token))})" {base}/api/v1/alerts',
    ]
    console = stdout()
    console.print(Text("Try this" + ("" if serving else " (after `vardeild serve`)") + ":"))
    for line in lines:
        console.print(Text(f"  {line}", style="cyan"), soft_wrap=True)


def demo(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Serve the platform once seeded (the default), or only seed and exit.",
        ),
    ] = True,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset",
            help="Delete the demo organisations (and what they own) first and seed them afresh; "
            "other organisations are kept.",
        ),
    ] = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream/--no-stream",
            help=f"Replay {HISTORY_HOURS} hours of demo sensor traffic at start and, while "
            "serving, feed the demo sensors' live stream (the default); or neither.",
        ),
    ] = True,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            min=0.1,
            max=1000,
            help="Records a second the demo sensors send while serving (alerts, dns, http, "
            "tls, flow).",
        ),
    ] = 4.0,
) -> None:
    """Seed a fictional constituency of some 40 health and care organisations (documentation
    and private address ranges, contacts, a few deliberate overlaps), write a CERT API token to
    <data dir>/demo-cert-token, and serve it. Running it again adds only what is missing."""
    cli = cli_context(ctx)
    platform = cli.platform(migrate=True)
    principal = cli.principal
    with platform.session() as session:
        removed = remove_demo(session, principal, platform) if reset else 0
        added = seed_demo(session, principal, platform)
    total = len(demo_constituency())
    if reset:
        say(f"Removed {removed} demo organisations.")
    if added:
        say(f"Seeded the demo constituency: {added} of {total} organisations added.")
    else:
        say(f"The demo constituency is in place ({total} organisations); nothing to add.")
    with platform.session() as session:
        sensors = seed_demo_sensors(session, principal, platform)
        indicators = seed_demo_indicators(session, principal, platform)
    say(
        f"Demo sensors: {sensors} added; demo threat indicators: {indicators} in place."
        if sensors
        else f"The demo sensors are in place; demo threat indicators: {indicators}."
    )
    feed = None
    if stream:
        feed = demo_feed(platform)
        replayed = feed.deliver(HISTORY_RECORDS, span=timedelta(hours=HISTORY_HOURS))
        say(
            f"Replayed {HISTORY_HOURS} hours of demo sensor traffic: {replayed.records} records, "
            f"{replayed.events_stored} events stored, {replayed.alerts_touched} alerts touched."
        )
    say(f"Database: {cli.database_label}")
    token = ensure_demo_token(platform, principal)
    say(f"CERT API token (cert_analyst): {token}")
    portal_users = ensure_demo_users(platform, principal)
    say(f"Portal accounts (sign in at /signin): {portal_users}")
    made = seed_demo_cases(platform, principal)
    say(f"Demo incident cases: {made} opened." if made else "The demo incident cases are in place.")
    cert_key = ensure_demo_key(cli.settings, email=cli.settings.mail_from)
    say(f"CERT OpenPGP key: {cert_key.fingerprint} (vardeild pgp show)")
    host_, port_ = host or cli.settings.host, port or cli.settings.port
    _try_this(token, cli.settings.data_dir, host_, port_, serve)
    if serve:
        tasks = [live_task(feed, per_second=rate)] if feed is not None else []
        if tasks:
            say(f"The demo sensors report about {rate:g} records a second while this runs.")
        run_server(platform, host_, port_, tasks=tasks)
