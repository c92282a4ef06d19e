"""The portal's pages: sign-in (password, then TOTP when enrolled), sign-out, the signed-in
home page, the account page (TOTP enrolment, password change), password reset by e-mailed
link, the language switch and the style sheet.

Every route is on a `page_router()`, whose dependency checks the CSRF token of every POST, so
a new form cannot forget it (tests/integration/web/test_signin_pages.py walks every page
router to prove it).
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import quote

import segno
from fastapi import BackgroundTasks, Form, Query
from fastapi.responses import HTMLResponse, Response

from vardeild.accounts import resets, sessions
from vardeild.accounts import service as accounts
from vardeild.accounts.model import totp_uri
from vardeild.core.errors import NotFound, ValidationFailed
from vardeild.exposure import reports
from vardeild.members.service import get_organisation_or_raise
from vardeild.web.pages import i18n
from vardeild.web.pages.console_base import signed_in
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.reset_mail import mail_transport, send_reset_mail

router = page_router()

Text = Annotated[str, Form(max_length=300)]
_SIGNIN = "portal/signin.html"
_CSS = files("vardeild.web").joinpath("templates/portal/portal.css").read_text(encoding="utf-8")


def _problems(error: ValidationFailed) -> list[str]:
    return [problem.message for problem in error.problems]


# --- sign-in --------------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_form(page: PageDep) -> Response:
    """The sign-in form (the home page for someone already signed in)."""
    if page.user is not None:
        return page.redirect("/portal")
    return page.render(_SIGNIN, **_signin_options(page))


def _signin_options(page: Page) -> dict[str, Any]:
    """What the sign-in page offers beside the password: the OpenID Connect provider's button
    (pages/oidc.py), when one is configured."""
    settings = page.platform.settings
    configured = bool(settings.oidc_issuer and settings.oidc_client_id)
    return {"oidc_provider": settings.oidc_provider_name if configured else None}


def _refused(page: Page, template: str, *, slow: bool = False) -> HTMLResponse:
    key = "signin.slow_down" if slow else "signin.refused"
    options = _signin_options(page) if template == _SIGNIN else {}
    return page.render(template, status=429 if slow else 401, error=page.t(key), **options)


@router.post("/signin", response_class=HTMLResponse)
def signin(page: PageDep, email: Text = "", password: Text = "") -> Response:
    """Check the password; on to the TOTP step when enrolled, else signed in."""
    now = page.platform.clock.now()
    limiter = page.state.signin_failures
    if limiter.blocked(page.client, now):
        return _refused(page, _SIGNIN, slow=True)
    result = accounts.check_password(
        page.db, email=email, password=password, clock=page.platform.clock, config=page.state.config
    )
    if result.user is None:
        limiter.record(page.client, now)
        return _refused(page, _SIGNIN)
    if result.outcome is accounts.SignIn.NEED_TOTP:
        response = page.redirect("/signin/totp")
        if page.session_secret:
            sessions.end_session(page.db, page.session_secret, clock=page.platform.clock)
        pending = sessions.start_session(
            page.db,
            result.user.id,
            stage=sessions.STAGE_TOTP,
            clock=page.platform.clock,
            config=page.state.config,
            client=page.client,
        )
        page.set_session(response, pending)
        return response
    return page.signed_in_redirect(result.user.id)


@router.get("/signin/totp", response_class=HTMLResponse)
def totp_form(page: PageDep) -> Response:
    """The second step: the one-time code."""
    if page.active is None or page.active.stage != sessions.STAGE_TOTP:
        return page.redirect("/signin")
    return page.render("portal/totp.html")


@router.post("/signin/totp", response_class=HTMLResponse)
def signin_totp(page: PageDep, code: Text = "") -> Response:
    """Check the one-time code of a user whose password was right."""
    if page.active is None or page.active.stage != sessions.STAGE_TOTP:
        return page.redirect("/signin")
    now = page.platform.clock.now()
    limiter = page.state.signin_failures
    if limiter.blocked(page.client, now):
        return _refused(page, "portal/totp.html", slow=True)
    result = accounts.check_totp(
        page.db, page.active.user.id, code, clock=page.platform.clock, config=page.state.config
    )
    if result.outcome is accounts.SignIn.DONE:
        return page.signed_in_redirect(page.active.user.id)
    limiter.record(page.client, now)
    if result.outcome is accounts.SignIn.LOCKED:
        sessions.end_session(page.db, page.session_secret, clock=page.platform.clock)
        response = _refused(page, _SIGNIN)
        page.clear_session(response)
        return response
    return _refused(page, "portal/totp.html")


@router.post("/signout")
def signout(page: PageDep) -> Response:
    """End the session on the server and take the cookie from the browser."""
    if page.session_secret:
        sessions.end_session(page.db, page.session_secret, clock=page.platform.clock)
    response = page.redirect("/signin")
    page.clear_session(response)
    return response


# --- signed in ------------------------------------------------------------------------------


@router.get("/portal", response_class=HTMLResponse)
def home(page: PageDep) -> Response:
    """Who you are and your role."""
    if (away := signed_in(page)) is not None:
        return away
    assert page.user is not None
    organisation = None
    if page.user.organisation_id is not None:
        principal = page.user.principal
        organisation = get_organisation_or_raise(page.db, principal, page.user.organisation_id)
    return page.render("portal/home.html", organisation=organisation)


@router.get("/portal/exposure", response_class=HTMLResponse)
def exposure_report(
    page: PageDep,
    organisation: int | None = None,
    format: Annotated[str, Query(pattern="^(html|pdf|csv)$")] = "html",
) -> Response:
    """The vulnerability overview of the signed-in member's organisation (CERT staff: the
    organisation given), as the page, or the PDF and CSV made from the same data. Another
    member's answers 404, as the API's does."""
    if (away := signed_in(page)) is not None:
        return away
    assert page.user is not None
    chosen = organisation if organisation is not None else page.user.organisation_id
    if chosen is None:
        raise NotFound("choose an organisation: /portal/exposure?organisation=ID")
    tlp = page.platform.settings.notify_default_tlp
    data = reports.build_report(
        page.db, page.user.principal, chosen,
        now=page.platform.clock.now(), language=page.language, tlp=tlp,
    )  # fmt: skip
    headers = {"X-TLP": f"TLP:{tlp}"}
    name = f"vardeild-exposure-{chosen}.{format}"
    if format == "pdf":
        body, media = reports.render_pdf(data), "application/pdf"
    elif format == "csv":
        body, media = reports.render_csv(data.findings).encode(), "text/csv; charset=utf-8"
    else:
        # The report page has its style inline and no script: allow exactly that.
        headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
        )
        return page.finish(HTMLResponse(reports.render_html(data), headers=headers))
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return page.finish(Response(body, media_type=media, headers=headers))


def _account_page(page: Page, *, status: int = 200, **context: object) -> HTMLResponse:
    assert page.user is not None
    qr_svg = secret = uri = None
    if not page.user.totp_enrolled:
        secret = accounts.begin_totp(page.db, page.user.id, config=page.state.config)
        uri = totp_uri(secret, account=page.user.email, issuer=page.platform.settings.cert_name)
        qr_svg = segno.make(uri, error="m").svg_inline(scale=4, title="TOTP")
    return page.render(
        "portal/account.html", status=status, qr_svg=qr_svg, secret=secret, uri=uri, **context
    )


@router.get("/account", response_class=HTMLResponse)
def account(page: PageDep) -> Response:
    """Enrol TOTP (a QR code and the secret) and change the password."""
    if (away := signed_in(page)) is not None:
        return away
    return _account_page(page)


@router.post("/account/totp", response_class=HTMLResponse)
def enrol_totp(page: PageDep, code: Text = "") -> Response:
    """Confirm the pending TOTP secret with a code from it."""
    if (away := signed_in(page)) is not None:
        return away
    assert page.user is not None
    if not accounts.confirm_totp(
        page.db, page.user.id, code, clock=page.platform.clock, config=page.state.config
    ):
        return _account_page(page, status=422, totp_error=page.t("account.bad_code"))
    return page.redirect("/account?done=totp")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    page: PageDep, current: Text = "", new: Text = "", repeat: Text = ""
) -> Response:
    """Change the password; every session ends, this browser gets a new one."""
    if (away := signed_in(page)) is not None:
        return away
    assert page.user is not None
    if new != repeat:
        return _account_page(page, status=422, password_errors=[page.t("account.mismatch")])
    try:
        accounts.change_own_password(
            page.db, page.user.id, clock=page.platform.clock, current=current, new=new
        )
    except ValidationFailed as exc:
        return _account_page(page, status=422, password_errors=_problems(exc))
    response = page.redirect("/account?done=password")
    page.start_full_session(page.user.id, response)
    return response


# --- password reset -------------------------------------------------------------------------


@router.get("/reset", response_class=HTMLResponse)
def reset_form(page: PageDep) -> Response:
    """Ask for a reset link by e-mail address."""
    return page.render("portal/reset_request.html")


@router.post("/reset", response_class=HTMLResponse)
def reset_request(page: PageDep, background: BackgroundTasks, email: Text = "") -> Response:
    """Send a reset link if the address has an account; the answer is the same either way."""
    now = page.platform.clock.now()
    limiter = page.state.reset_requests
    if not limiter.blocked(page.client, now):
        limiter.record(page.client, now)
        made = resets.request_reset(
            page.db, email, clock=page.platform.clock, config=page.state.config
        )
        if made is not None:
            user, secret = made
            settings = page.platform.settings
            link = f"{settings.notify_public_url.rstrip('/')}/reset/{quote(secret)}"
            # Sent after the answer: its time must not tell that the address exists.
            background.add_task(
                send_reset_mail,
                settings,
                mail_transport(settings),
                to=user.email,
                name=user.display_name,
                link=link,
                language=page.language,
            )
    return page.render(
        "portal/message.html", title=page.t("reset.title"), message=page.t("reset.sent")
    )


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_link(page: PageDep, token: str) -> Response:
    """The form of a reset link, or why the link no longer works."""
    if not resets.reset_is_valid(page.db, token, clock=page.platform.clock):
        return page.render(
            "portal/message.html", status=404, title=page.t("reset.title"),
            message=page.t("reset.bad_link"),
        )  # fmt: skip
    return page.render("portal/reset_form.html", token=token)


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset_password(page: PageDep, token: str, new: Text = "", repeat: Text = "") -> Response:
    """Set the new password through the link (used up by this)."""
    if new != repeat:
        return page.render(
            "portal/reset_form.html", status=422, token=token, errors=[page.t("account.mismatch")]
        )
    try:
        resets.use_reset(page.db, token, clock=page.platform.clock, password=new)
    except NotFound:
        return page.render(
            "portal/message.html", status=404, title=page.t("reset.title"),
            message=page.t("reset.bad_link"),
        )  # fmt: skip
    except ValidationFailed as exc:
        return page.render("portal/reset_form.html", status=422, token=token, errors=_problems(exc))
    response = page.render(
        "portal/message.html", title=page.t("reset.title"), message=page.t("reset.done")
    )
    page.clear_session(response)
    return response


# --- language and style ---------------------------------------------------------------------


@router.get("/language/{code}")
def switch_language(page: PageDep, code: str, next: str = "/signin") -> Response:
    """Remember the language in a cookie and go back to the page (a path of ours only)."""
    if not next.startswith("/") or next.startswith("//") or "\\" in next:
        next = "/signin"
    response = page.redirect(next)
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, code, max_age=365 * 24 * 3600, path="/", secure=page.tls,
            httponly=True, samesite="lax",
        )  # fmt: skip
    return response


@router.get("/portal.css")
def stylesheet() -> Response:
    """The portal's style sheet (a file of ours: the CSP allows no inline style)."""
    return Response(_CSS, media_type="text/css")
