"""API tokens managed from the portal: a member admin issues and revokes its organisation's
tokens, a CERT admin any; others get 403.

Through `vardeild.access.service` exactly as the API (`web/routes/tokens.py`) does, so the
same rules hold: a member admin issues member tokens for its own organisation only, never a CERT
role; every issue and revocation is audited. The secret is shown once, on the page that answers
the issue, and is never stored or shown again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access import service as access
from vardeild.access.model import Principal, Role, parse_role
from vardeild.core.errors import ValidationFailed
from vardeild.members import service as members
from vardeild.web.pages import i18n, nav
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.member_scope import FormOrganisation, ItemId

router = page_router()

Text = Annotated[str, Form(max_length=300)]
ORGANISATIONS_SHOWN = 10_000  # the choice of organisations a CERT admin issues for

nav.add_link(nav.NavLink("/account/tokens", "tokens.nav", nav.Audience.SIGNED_IN, 80))

_WORDS: dict[str, tuple[str, str]] = {
    "nav": ("API-nøkler", "API tokens"),
    "title": ("API-nøkler", "API tokens"),
    "intro": (
        "Nøkler lar maskiner bruke Vardeilds API på vegne av organisasjonen. Hemmeligheten "
        "vises én gang, når nøkkelen lages; trekk tilbake en nøkkel som ikke lenger trengs.",
        "Tokens let machines use Vardeild's API on your organisation's behalf. The secret is "
        "shown once, when the token is issued; revoke a token that is no longer needed.",
    ),
    "name": ("Navn (hva nøkkelen brukes til)", "Name (what the token is for)"),
    "prefix": ("Begynner med", "Starts with"),
    "role": ("Rolle", "Role"),
    "organisation": ("Organisasjon", "Organisation"),
    "no_organisation": ("(ingen: CERT-rolle)", "(none: a CERT role)"),
    "created": ("Laget", "Issued"),
    "expires": ("Utløper (dato, UTC)", "Expires (date, UTC)"),
    "never": ("aldri", "never"),
    "last_used": ("Sist brukt", "Last used"),
    "state": ("Tilstand", "State"),
    "active": ("aktiv", "active"),
    "revoked": ("trukket tilbake", "revoked"),
    "expired": ("utløpt", "expired"),
    "revoke": ("Trekk tilbake", "Revoke"),
    "issue": ("Lag en ny nøkkel", "Issue a new token"),
    "issue_button": ("Lag nøkkel", "Issue token"),
    "issued": ("Nøkkelen er laget", "The token is issued"),
    "secret": ("Hemmelighet", "Secret"),
    "secret_once": (
        "Kopier hemmeligheten nå: den vises ikke igjen. Bruk den i hodet "
        "«Authorization: Bearer …».",
        "Copy the secret now: it is not shown again. Use it in the header "
        "“Authorization: Bearer …”.",
    ),
    "back": ("Til nøklene", "To the tokens"),
    "revoked_done": ("Nøkkelen er trukket tilbake.", "The token is revoked."),
    "none": ("Ingen nøkler.", "No tokens."),
}
i18n.add_texts({f"tokens.{k}": {"nb": nb, "en": en} for k, (nb, en) in _WORDS.items()})


def roles_to_give(principal: Principal) -> list[Role]:
    """Return the roles the principal may give a token: a member admin the member roles, a
    CERT admin every role (the service checks again)."""
    return list(Role) if principal.is_cert else [Role.MEMBER_ADMIN, Role.MEMBER_USER]


def organisation_names(page: Page, principal: Principal) -> dict[int, str]:
    """Return {id: name} of the organisations principal may choose among."""
    return members.organisation_names(page.db, principal, limit=ORGANISATIONS_SHOWN)


def _tokens_page(page: Page, *, status: int = 200, **context: object) -> HTMLResponse:
    assert page.user is not None
    principal = page.user.principal
    tokens = access.list_tokens(page.db, principal)  # PermissionDenied: the 403 page
    now = page.platform.clock.now()
    return page.render(
        "tokens/list.html",
        status=status,
        tokens=tokens,
        now=now,
        roles=roles_to_give(principal),
        organisations=organisation_names(page, principal),
        cert_view=principal.is_cert,
        revoked=page.request.query_params.get("revoked", ""),
        **context,
    )


@router.get("/account/tokens", response_class=HTMLResponse)
def tokens_page(page: PageDep) -> Response:
    """The tokens the user may manage, and the form to issue one."""
    if page.user is None:
        return page.to_signin()
    return _tokens_page(page)


def expiry(text: str) -> datetime | None:
    """Return when a token given an expiry date stops working (the start of that day, UTC),
    or None for none; ValidationFailed for what is not a date."""
    value = text.strip()
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)
    except ValueError:
        raise ValidationFailed.one("token", "expires", f"{value!r} is not a date") from None


@router.post("/account/tokens", response_class=HTMLResponse)
def issue_token(
    page: PageDep,
    name: Text = "",
    role: Text = "",
    organisation: FormOrganisation = None,
    expires: Text = "",
) -> Response:
    """Issue a token and show its secret, this once."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    form = {"name": name, "role": role, "organisation": organisation, "expires": expires}
    try:
        chosen_role = parse_role(role, record="token")
        # As the API: a member admin's member token is for its own organisation by default.
        organisation_id = organisation
        if organisation_id is None and not principal.is_cert and not chosen_role.is_cert:
            organisation_id = principal.organisation_id
        issued = access.issue_token(
            page.db, principal, clock=page.platform.clock, name=name, role=chosen_role,
            organisation_id=organisation_id, expires_at=expiry(expires),
        )  # fmt: skip
    except ValidationFailed as exc:
        problems = [f"{problem.field}: {problem.message}" for problem in exc.problems]
        return _tokens_page(page, status=422, errors=problems, form=form)
    return page.render("tokens/issued.html", token=issued.info, secret=issued.secret)


@router.post("/account/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(page: PageDep, token_id: ItemId) -> Response:
    """Revoke the token at once."""
    if page.user is None:
        return page.to_signin()
    access.revoke_token(page.db, page.user.principal, token_id, clock=page.platform.clock)
    return page.redirect(f"/account/tokens?revoked={token_id}")
