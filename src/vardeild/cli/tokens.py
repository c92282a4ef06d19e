"""`vardeild tokens`: API bearer tokens for CERT staff and for member organisations."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer

from vardeild.access.model import Role
from vardeild.access.service import TokenInfo, issue_token, list_tokens, revoke_token
from vardeild.cli.context import MAX_ID, cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, stdout, when
from vardeild.cli.times import parse_moment

app = typer.Typer(name="tokens", help="API tokens: issue, list and revoke.", no_args_is_help=True)


def token_dict(info: TokenInfo) -> dict[str, Any]:
    """Return a token's listing as JSON-ready data (never the secret)."""
    data = dataclasses.asdict(info)
    data["role"] = info.role.value
    for key in ("created_at", "expires_at", "last_used_at", "revoked_at"):
        value = data[key]
        data[key] = value.isoformat() if value is not None else None
    return data


@app.command("issue")
def issue(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'SOC sync'.")],
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            help="The token's role. cert_* roles act for the CERT; member_* roles need --org.",
        ),
    ],
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            help="The member organisation a member_* token is scoped to (id, org number or name).",
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            help="When the token stops working: a date (its start, UTC) or a time. Default: never.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API token and print its secret. The secret is shown this once; only its hash is
    stored."""
    expires_at = parse_moment(expires, option="--expires") if expires else None
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        org_id = resolve_organisation(session, org) if org is not None else None
        issued = issue_token(
            session,
            cli.principal,
            clock=platform.clock,
            name=name,
            role=role,
            organisation_id=org_id,
            expires_at=expires_at,
        )
    if as_json:
        print_json({**token_dict(issued.info), "secret": issued.secret})
        return
    info = issued.info
    scope = f"organisation {info.organisation_id}" if info.organisation_id else "the CERT"
    say(f"Issued token {info.id} ({info.name!r}, {info.role.value} for {scope}).")
    say("Its secret, shown this once — store it now:")
    stdout().print(issued.secret, markup=False, highlight=False, soft_wrap=True)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every API token (never the secrets): role, scope, expiry, last use, revocation."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        tokens = list_tokens(session, cli.principal)
    if as_json:
        print_json([token_dict(t) for t in tokens])
        return
    print_table(
        None,
        ("id", "name", "prefix", "role", "org", "created", "expires", "last used", "revoked"),
        (
            (
                t.id,
                t.name,
                t.prefix,
                t.role.value,
                t.organisation_id,
                when(t.created_at),
                when(t.expires_at),
                when(t.last_used_at),
                when(t.revoked_at),
            )
            for t in tokens
        ),
    )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[
        int, typer.Argument(metavar="ID", min=1, max=MAX_ID, help="The token's id (`tokens list`).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Revoke an API token; it stops working at once. Revoking it again changes nothing."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        info = revoke_token(session, cli.principal, token_id, clock=platform.clock)
    if as_json:
        print_json(token_dict(info))
        return
    say(f"Revoked token {info.id} ({info.name!r}) at {when(info.revoked_at)}.")
