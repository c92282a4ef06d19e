"""The demo's portal accounts: a CERT analyst and the member admin of the first demo
organisation, with random passwords written to <data dir>/demo-portal-users (mode 0600) so
that whoever runs the demo can sign in at /signin."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from vardeild.access.model import Principal, Role
from vardeild.accounts import service as accounts
from vardeild.members.demo import demo_constituency
from vardeild.members.service import find_organisation_id
from vardeild.platform import Platform

USERS_FILE = "demo-portal-users"
ANALYST = "analytiker@demo.vardeild.example"
MEMBER_ADMIN = "medlemsadmin@demo.vardeild.example"


def _password() -> str:
    # Four random words' worth of entropy in a form that passes the policy and is easy to type.
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def ensure_demo_users(platform: Platform, principal: Principal) -> Path:
    """Return the path of the file naming the demo's portal accounts and their passwords,
    making the accounts (or giving them new passwords when the file is gone) as needed."""
    path = platform.settings.data_dir / USERS_FILE
    if path.exists():
        with platform.session() as session:
            known = {u.email for u in accounts.list_users(session, principal)}
        if {ANALYST, MEMBER_ADMIN} <= known:
            return path
    first = demo_constituency()[0]
    lines = []
    with platform.session() as session:
        org_id = find_organisation_id(session, str(first["org_number"]))
        existing = {u.email: u.id for u in accounts.list_users(session, principal)}
        for email, name, role, org in (
            (ANALYST, "Demo Analytiker", Role.CERT_ANALYST, None),
            (MEMBER_ADMIN, f"Demo admin, {first['name']}", Role.MEMBER_ADMIN, org_id),
        ):
            password = _password()
            if email in existing:
                accounts.set_password(
                    session, principal, existing[email], clock=platform.clock, password=password
                )
            else:
                accounts.create_user(
                    session, principal, clock=platform.clock, email=email, display_name=name,
                    role=role, organisation_id=org, password=password,
                )  # fmt: skip
            lines.append(f"{role.value}\t{email}\t{password}")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# role\te-mail\tpassword (sign in at /signin)\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return path
