"""`vardeild users`: the portal's local accounts (add, list, set-role, disable, reset-totp,
set-password). Passwords are read from standard input or a hidden prompt, never from the
command line, where other users of the machine could see them."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated, Any

import typer

from vardeild.access.model import Role
from vardeild.accounts import service as accounts
from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, when

app = typer.Typer(
    name="users", help="Portal users: add, list, change role, disable, reset.", no_args_is_help=True
)

UserArg = Annotated[str, typer.Argument(metavar="USER", help="The user's id or e-mail address.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (else a hidden prompt).",
    ),
]
OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org", help="The member organisation of a member_* user (id, org number or name)."
    ),
]


def user_dict(info: accounts.UserInfo) -> dict[str, Any]:
    """Return a user as JSON-ready data (never a hash or secret)."""
    data = dataclasses.asdict(info)
    data["role"] = info.role.value
    for key in ("locked_until", "created_at"):
        value = data[key]
        data[key] = value.isoformat() if value is not None else None
    return data


def _read_password(from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        if not required and not typer.confirm("Set a password now?", default=True):
            return None
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    if required:
        raise typer.BadParameter("no terminal to ask on: give --password-stdin")
    return None


@app.command("add")
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The user's e-mail address (signs in with it).")],
    name: Annotated[str, typer.Option("--name", help="The name the portal shows.")],
    role: Annotated[Role, typer.Option("--role", help="cert_* roles need no --org.")],
    org: OrgOption = None,
    password_stdin: PasswordStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Add a user. Without a password the user sets one through the reset link (/reset)."""
    password = _read_password(password_stdin, required=False)
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org) if org is not None else None
        info = accounts.create_user(
            session, cli.principal, clock=platform.clock, email=email, display_name=name,
            role=role, organisation_id=org_id, password=password or None,
        )  # fmt: skip
    if as_json:
        print_json(user_dict(info))
        return
    say(f"Added user {info.id} ({info.email}, {info.role.value}).")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the users: role, organisation, TOTP, lock and whether disabled."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        users = accounts.list_users(session, cli.principal)
    if as_json:
        print_json([user_dict(u) for u in users])
        return
    print_table(
        None,
        ("id", "email", "name", "role", "org", "totp", "locked until", "disabled", "created"),
        (
            (
                u.id,
                u.email,
                u.display_name,
                u.role.value,
                u.organisation_id,
                "yes" if u.totp_enrolled else "no",
                when(u.locked_until),
                "yes" if u.disabled else "no",
                when(u.created_at),
            )
            for u in users
        ),
    )


@app.command("set-role")
def set_role(
    ctx: typer.Context,
    user: UserArg,
    role: Annotated[Role, typer.Option("--role", help="The new role.")],
    org: OrgOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a user's role (and organisation); the user's sessions end."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org) if org is not None else None
        user_id = accounts.find_user_id(session, cli.principal, user)
        info = accounts.set_role(
            session, cli.principal, user_id, clock=platform.clock, role=role, organisation_id=org_id
        )
    if as_json:
        print_json(user_dict(info))
        return
    say(f"User {info.id} ({info.email}) is now {info.role.value}; its sessions have ended.")


@app.command("disable")
def disable(ctx: typer.Context, user: UserArg, as_json: JsonOption = False) -> None:
    """Disable a user: no more sign-ins, its sessions end."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        user_id = accounts.find_user_id(session, cli.principal, user)
        info = accounts.disable_user(session, cli.principal, user_id, clock=platform.clock)
    if as_json:
        print_json(user_dict(info))
        return
    say(f"Disabled user {info.id} ({info.email}).")


@app.command("reset-totp")
def reset_totp(ctx: typer.Context, user: UserArg, as_json: JsonOption = False) -> None:
    """Remove a user's second factor (a lost phone); it enrols again at /account."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        user_id = accounts.find_user_id(session, cli.principal, user)
        info = accounts.reset_totp(session, cli.principal, user_id, clock=platform.clock)
    if as_json:
        print_json(user_dict(info))
        return
    say(f"Removed the second factor of user {info.id} ({info.email}); its sessions have ended.")


@app.command("set-password")
def set_password(ctx: typer.Context, user: UserArg, password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (and lift a lock); its sessions end."""
    password = _read_password(password_stdin, required=True)
    assert password is not None
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        user_id = accounts.find_user_id(session, cli.principal, user)
        info = accounts.set_password(
            session, cli.principal, user_id, clock=platform.clock, password=password
        )
    say(f"Set the password of user {info.id} ({info.email}); its sessions have ended.")
