"""Portal users managed from the portal: a member admin adds its organisation's users and
disables them, resets a lost second factor or changes a role between member admin and member
user; a CERT admin does so for anyone, CERT roles included. Others get 403.

Through `vardeild.accounts.service`, whose rules (`_may_manage`: the grant that manages tokens,
never above one's own station) and audit entries are the CLI's (`vardeild users`). A new user
gets no password from whoever adds it: it is sent a link to set its own, the password-reset
link, so no one else ever knows it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import BackgroundTasks, Form
from fastapi.responses import HTMLResponse, Response

from vardeild.access.model import parse_role
from vardeild.accounts import resets
from vardeild.accounts import service as accounts
from vardeild.core.errors import Conflict, ValidationFailed
from vardeild.web.pages import i18n, nav
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.member_scope import FormOrganisation, ItemId
from vardeild.web.pages.reset_mail import mail_transport, send_reset_mail
from vardeild.web.pages.token_pages import organisation_names, roles_to_give

router = page_router()

Text = Annotated[str, Form(max_length=300)]

nav.add_link(nav.NavLink("/account/users", "users.nav", nav.Audience.SIGNED_IN, 81))

_WORDS: dict[str, tuple[str, str]] = {
    "nav": ("Brukere", "Users"),
    "title": ("Brukere", "Users"),
    "intro": (
        "Brukerne som logger inn i portalen for organisasjonen. En ny bruker får en lenke på "
        "e-post for å velge sitt eget passord.",
        "The users who sign in to the portal for your organisation. A new user is sent a link "
        "by e-mail to choose its own password.",
    ),
    "name": ("Navn", "Name"),
    "email": ("E-postadresse", "E-mail address"),
    "role": ("Rolle", "Role"),
    "organisation": ("Organisasjon", "Organisation"),
    "no_organisation": ("(ingen: CERT-rolle)", "(none: a CERT role)"),
    "state": ("Tilstand", "State"),
    "active": ("aktiv", "active"),
    "disabled": ("deaktivert", "disabled"),
    "totp": ("Tofaktor", "Two-factor"),
    "totp_on": ("på", "on"),
    "totp_off": ("av", "off"),
    "add": ("Legg til en bruker", "Add a user"),
    "add_button": ("Legg til og send lenke", "Add and send the link"),
    "added": (
        "Brukeren er lagt til, og en lenke for å velge passord er sendt.",
        "The user is added, and a link to choose a password is sent.",
    ),
    "disable": ("Deaktiver", "Disable"),
    "reset_totp": ("Nullstill tofaktor", "Reset two-factor"),
    "set_role": ("Endre rolle", "Change role"),
    "done": ("Endringen er lagret.", "The change is saved."),
    "none": ("Ingen brukere.", "No users."),
}
i18n.add_texts({f"users.{k}": {"nb": nb, "en": en} for k, (nb, en) in _WORDS.items()})


def _users_page(page: Page, *, status: int = 200, **context: object) -> HTMLResponse:
    assert page.user is not None
    principal = page.user.principal
    users = accounts.list_users(page.db, principal)  # PermissionDenied: the 403 page
    return page.render(
        "users/list.html",
        status=status,
        users=users,
        me=page.user.id,
        roles=roles_to_give(principal),
        organisations=organisation_names(page, principal),
        cert_view=principal.is_cert,
        done=page.request.query_params.get("done", ""),
        **context,
    )


@router.get("/account/users", response_class=HTMLResponse)
def users_page(page: PageDep) -> Response:
    """The users the signed-in admin may manage, and the form to add one."""
    if page.user is None:
        return page.to_signin()
    return _users_page(page)


@router.post("/account/users", response_class=HTMLResponse)
def add_user(
    page: PageDep,
    background: BackgroundTasks,
    email: Text = "",
    display_name: Text = "",
    role: Text = "",
    organisation: FormOrganisation = None,
) -> Response:
    """Add a user and send it the link to choose its password."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    form = {"email": email, "display_name": display_name, "role": role,
            "organisation": organisation}  # fmt: skip
    try:
        chosen = parse_role(role, record="user")
        # A member admin adds users to its own organisation, whatever the form says.
        organisation_id = organisation if principal.is_cert else principal.organisation_id
        user = accounts.create_user(
            page.db, principal, clock=page.platform.clock, email=email,
            display_name=display_name, role=chosen,
            organisation_id=None if chosen.is_cert else organisation_id,
        )  # fmt: skip
    except (ValidationFailed, Conflict) as exc:
        problems = (
            [f"{p.field}: {p.message}" for p in exc.problems]
            if isinstance(exc, ValidationFailed)
            else [str(exc)]
        )
        status = 422 if isinstance(exc, ValidationFailed) else 409
        return _users_page(page, status=status, errors=problems, form=form)
    made = resets.request_reset(page.db, user.email, clock=page.platform.clock,
                                config=page.state.config)  # fmt: skip
    if made is not None:
        settings = page.platform.settings
        link = f"{settings.notify_public_url.rstrip('/')}/reset/{quote(made[1])}"
        background.add_task(
            send_reset_mail, settings, mail_transport(settings), to=user.email,
            name=user.display_name, link=link, language=page.language,
        )  # fmt: skip
    return page.redirect("/account/users?done=added")


@router.post("/account/users/{user_id}/disable", response_class=HTMLResponse)
def disable_user(page: PageDep, user_id: ItemId) -> Response:
    """Disable the user: no more sign-ins, its sessions ended."""
    if page.user is None:
        return page.to_signin()
    accounts.disable_user(page.db, page.user.principal, user_id, clock=page.platform.clock)
    return page.redirect("/account/users?done=changed")


@router.post("/account/users/{user_id}/reset-totp", response_class=HTMLResponse)
def reset_totp(page: PageDep, user_id: ItemId) -> Response:
    """Remove the user's second factor (a lost phone); it enrols again after signing in."""
    if page.user is None:
        return page.to_signin()
    accounts.reset_totp(page.db, page.user.principal, user_id, clock=page.platform.clock)
    return page.redirect("/account/users?done=changed")


@router.post("/account/users/{user_id}/role", response_class=HTMLResponse)
def set_role(
    page: PageDep, user_id: ItemId, role: Text = "", organisation: FormOrganisation = None
) -> Response:
    """Give the user another role (a member admin: within its organisation)."""
    if page.user is None:
        return page.to_signin()
    principal = page.user.principal
    chosen = parse_role(role, record="user")
    organisation_id = organisation if principal.is_cert else principal.organisation_id
    if organisation_id is None and principal.is_cert:
        # The CERT's form names no organisation for a member's user: the one it has stays
        # (the service decides whether the principal may act on that user at all).
        current = accounts.get_user(page.db, user_id)
        organisation_id = current.organisation_id if current is not None else None
    accounts.set_role(
        page.db, principal, user_id, clock=page.platform.clock, role=chosen,
        organisation_id=None if chosen.is_cert else organisation_id,
    )  # fmt: skip
    return page.redirect("/account/users?done=changed")
