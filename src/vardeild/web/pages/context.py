"""What every page handler receives: the request's language, TLS, cookies, the signed-in
session (if any), CSRF tokens, and the way answers are made (templates rendered with
autoescaping, redirects, cookies set with the right names and flags)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import anyio.from_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from vardeild.accounts import service as accounts
from vardeild.accounts import sessions
from vardeild.accounts.model import FailureWindow, LockoutPolicy, totp_key
from vardeild.core.errors import ValidationFailed
from vardeild.platform import Platform
from vardeild.web.deps import PlatformDep, SessionDep
from vardeild.web.pages import csrf, i18n, nav, return_to
from vardeild.web.pages.transport import HSTS, client_address, cookie_name, is_tls

SESSION_COOKIE = "vardeild_session"

_ENV = Environment(
    loader=PackageLoader("vardeild.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class PortalState:
    """What the pages share across requests within one process."""

    key: bytes
    config: accounts.AccountsConfig
    trusted_proxies: str
    signin_failures: FailureWindow
    reset_requests: FailureWindow = field(default_factory=FailureWindow)


def build_state(platform: Platform) -> PortalState:
    """Return the portal's state for the platform's settings."""
    settings = platform.settings
    secret = settings.portal_secret_key
    limit = settings.portal_address_max_failures
    key = csrf.load_key(secret.get_secret_value() if secret else None, settings.data_dir)
    return PortalState(
        key=key,
        config=accounts.AccountsConfig(
            totp_key=totp_key(key),
            lockout=LockoutPolicy(
                max_failures=settings.portal_signin_max_failures,
                lock_for=timedelta(minutes=settings.portal_lockout_minutes),
            ),
            session_idle=timedelta(minutes=settings.portal_session_idle_minutes),
            session_max=timedelta(hours=settings.portal_session_max_hours),
            reset_valid=timedelta(minutes=settings.portal_reset_link_minutes),
        ),
        trusted_proxies=settings.portal_trusted_proxies,
        signin_failures=FailureWindow(limit=limit),
        reset_requests=FailureWindow(limit=limit),
    )


def portal_state(request: Request) -> PortalState:
    """Return the portal's state held by the app."""
    state = request.app.state.portal
    assert isinstance(state, PortalState)
    return state


@dataclass
class Page:
    """One page request: who asks, in which language, and how to answer."""

    request: Request
    platform: Platform
    db: Session
    state: PortalState
    language: str
    tls: bool
    client: str
    seed: str
    seed_is_new: bool
    session_secret: str
    active: sessions.ActiveSession | None

    @property
    def user(self) -> accounts.UserInfo | None:
        """Return the fully signed-in user, or None."""
        if self.active is None or self.active.stage != sessions.STAGE_FULL:
            return None
        return self.active.user

    def csrf_token(self) -> str:
        """Return the token this browser's forms carry."""
        return csrf.token_for(self.state.key, self.seed, self.session_secret)

    def t(self, key: str) -> str:
        """Return the text of key in the page's language."""
        return i18n.translate(key, self.language)

    def finish(self, response: Response) -> Response:
        """Return response with what every page answer carries (HSTS over TLS, the CSRF seed
        cookie), for a route that builds its response itself rather than by `render`."""
        return self._finish(response)

    def _finish(self, response: Response) -> Response:
        if self.tls:
            response.headers["Strict-Transport-Security"] = HSTS
        if self.seed_is_new:
            self._cookie(response, csrf.SEED_COOKIE, self.seed, max_age=None)
        return response

    def _cookie(self, response: Response, base: str, value: str, *, max_age: int | None) -> None:
        response.set_cookie(
            cookie_name(base, tls=self.tls),
            value,
            max_age=max_age,
            path="/",
            secure=self.tls,
            httponly=True,
            samesite="lax",
        )

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """Return the template rendered (autoescaped) with the page's common context."""
        body = _ENV.get_template(template).render(
            t=self.t,
            lang=self.language,
            other_lang="en" if self.language == "nb" else "nb",
            here=self.request.url.path,
            user=self.user,
            csrf_field=csrf.FIELD,
            csrf_token=self.csrf_token(),
            cert_name=self.platform.settings.cert_name,
            nav_links=nav.links_for(self.user.role if self.user else None),
            **context,
        )
        response = HTMLResponse(body, status_code=status)
        self._finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """Return a 303 to url (a path of ours)."""
        response = RedirectResponse(url, status_code=303)
        self._finish(response)
        return response

    def to_signin(self) -> RedirectResponse:
        """Return a redirect to the sign-in page for someone not signed in; a GET remembers
        the page asked for, to come back to after the sign-in (see return_to)."""
        response = self.redirect("/signin")
        wanted = (
            return_to.asked_for(self.request.url.path, self.request.url.query)
            if self.request.method == "GET"
            else None
        )
        if wanted is not None:
            self._cookie(response, return_to.COOKIE, wanted, max_age=return_to.MAX_AGE_SECONDS)
        return response

    def signed_in_redirect(self, user_id: int) -> RedirectResponse:
        """Sign user_id in fully and return the redirect to where they wanted to go: the page
        remembered by `to_signin` when it is still one of ours, else the home page."""
        remembered = self.request.cookies.get(cookie_name(return_to.COOKIE, tls=self.tls), "")
        response = self.redirect(return_to.safe_return_path(remembered) or return_to.HOME)
        self.start_full_session(user_id, response)
        if remembered:
            response.delete_cookie(
                cookie_name(return_to.COOKIE, tls=self.tls),
                path="/",
                secure=self.tls,
                httponly=True,
                samesite="lax",
            )
        return response

    def start_full_session(self, user_id: int, response: Response) -> None:
        """Sign user_id in: a new server-side session, its cookie set on response."""
        # A fresh id on every sign-in: an id planted before sign-in (session fixation) is never
        # the one that becomes signed in.
        if self.session_secret:
            sessions.end_session(self.db, self.session_secret, clock=self.platform.clock)
        secret = sessions.start_session(
            self.db,
            user_id,
            stage=sessions.STAGE_FULL,
            clock=self.platform.clock,
            config=self.state.config,
            client=self.client,
        )
        self.set_session(response, secret)

    def set_session(self, response: Response, secret: str) -> None:
        """Give the browser the session cookie (ending with the browser, checked server-side)."""
        self._cookie(response, SESSION_COOKIE, secret, max_age=None)

    def clear_session(self, response: Response) -> None:
        """Take the session cookie from the browser."""
        response.delete_cookie(
            cookie_name(SESSION_COOKIE, tls=self.tls),
            path="/",
            secure=self.tls,
            httponly=True,
            samesite="lax",
        )


def request_tls(request: Request) -> bool:
    """Return whether the request came over TLS, as the settings let us believe."""
    return is_tls(request, portal_state(request).trusted_proxies)


def get_page(request: Request, platform: PlatformDep, db: SessionDep) -> Page:
    """Return the page context of the request (finding its session, if any)."""
    state = portal_state(request)
    tls = is_tls(request, state.trusted_proxies)
    seed = request.cookies.get(cookie_name(csrf.SEED_COOKIE, tls=tls), "")
    secret = request.cookies.get(cookie_name(SESSION_COOKIE, tls=tls), "")
    active = (
        sessions.find_session(db, secret, clock=platform.clock, config=state.config)
        if secret
        else None
    )
    return Page(
        request=request,
        platform=platform,
        db=db,
        state=state,
        language=i18n.pick_language(request),
        tls=tls,
        client=client_address(request, state.trusted_proxies),
        seed=seed or csrf.new_seed(),
        seed_is_new=not seed,
        session_secret=secret,
        active=active,
    )


PageDep = Annotated[Page, Depends(get_page)]


class CsrfRefused(Exception):
    """A form came without a valid CSRF token."""


class UploadTooLarge(Exception):
    """A form with a file was larger than its route takes (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


# A page form holds a few short fields and no file. The one exception is a route registered
# with `takes_one_file`: its form carries one file, which may be large, so the check below does
# not read that body at all. The route first decides who may send (signed in, allowed, the
# object theirs), and only then reads the form with `read_uploaded_form`, which checks the
# CSRF token exactly as the check below does: someone who may not upload never makes the
# server read, spool and parse a file. Such a route must not declare File or Form parameters
# (FastAPI would parse the body before it), and it must call `read_uploaded_form` (the page
# walk posts every form without a token and expects the refusal).
FORM_LIMITS: dict[str, int] = {"max_files": 0, "max_fields": 20, "max_part_size": 16 * 1024}
BodyLimit = Callable[[Platform], int]
_ONE_FILE: dict[Callable[..., Any], BodyLimit] = {}
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def takes_one_file(limit: BodyLimit) -> Callable[[Endpoint], Endpoint]:
    """Mark a page endpoint whose form may carry exactly one file; limit(platform) is the
    largest body it takes, checked from Content-Length before a byte of the body is read (a
    body without a Content-Length is refused). Give the route a max_body_size at least as
    large as any limit the settings can give, or FastAPI's smaller bound answers first."""

    def mark(endpoint: Endpoint) -> Endpoint:
        _ONE_FILE[endpoint] = limit
        return endpoint

    return mark


async def require_csrf(request: Request) -> AsyncIterator[None]:
    """Refuse (CsrfRefused, answered 403) any state-changing request whose form lacks the
    token of this browser's seed and session. Set on the whole pages router, so no form can
    skip it. A form with a file is closed (its spooled file removed) when the page is
    answered or refused."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        yield
        return
    state = portal_state(request)
    tls = is_tls(request, state.trusted_proxies)
    seed = request.cookies.get(cookie_name(csrf.SEED_COOKIE, tls=tls), "")
    secret = request.cookies.get(cookie_name(SESSION_COOKIE, tls=tls), "")
    bound = _ONE_FILE.get(request.scope.get("endpoint"))  # type: ignore[arg-type]
    if bound is not None:
        largest = bound(request.app.state.platform)
        declared = request.headers.get("content-length", "")
        if not declared.isdigit() or int(declared) > largest:
            raise UploadTooLarge(largest)
        try:
            yield  # the route reads the form (and checks the token) once it allows the sender
        finally:
            read: FormData | None = getattr(request.state, "uploaded_form", None)
            if read is not None:
                await read.close()
        return
    form = await request.form(**FORM_LIMITS)
    _check_token(form, state.key, seed, secret)
    yield


def _check_token(form: FormData, key: bytes, seed: str, secret: str) -> None:
    sent = form.get(csrf.FIELD)
    if not isinstance(sent, str) or not csrf.token_is_valid(key, seed, secret, sent):
        raise CsrfRefused


def page_router() -> APIRouter:
    """Return a router for portal pages: out of the OpenAPI document, and with the CSRF check
    on every state-changing request (tests walk every page router to prove it)."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(require_csrf)])


def _message_page(request: Request, status: int, title_key: str, message: str) -> HTMLResponse:
    """Return a plain page of a title and a message, rendered without the session (for answers
    made outside a page handler)."""
    language = i18n.pick_language(request)
    body = _ENV.get_template("portal/message.html").render(
        t=lambda key: i18n.translate(key, language),
        lang=language,
        other_lang="en" if language == "nb" else "nb",
        here="/signin",
        user=None,
        nav_links=[],
        csrf_field=csrf.FIELD,
        csrf_token="",
        cert_name=request.app.state.platform.settings.cert_name,
        title=i18n.translate(title_key, language),
        message=message,
    )
    response = HTMLResponse(body, status_code=status)
    if request_tls(request):
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def csrf_refused_page(request: Request) -> HTMLResponse:
    """Return the 403 page of a refused form."""
    language = i18n.pick_language(request)
    return _message_page(request, 403, "csrf.title", i18n.translate("csrf.text", language))


def upload_too_large_page(request: Request, limit: int) -> HTMLResponse:
    """Return the 413 page of a form whose file was larger than its route takes."""
    language = i18n.pick_language(request)
    text = i18n.translate("upload.too_large_text", language).format(limit=f"{limit:,}")
    return _message_page(request, 413, "upload.too_large", text)


def read_uploaded_form(page: Page) -> FormData:
    """Read the form of a `takes_one_file` route, with its one file, and check its CSRF token
    (CsrfRefused); call it from the route once the sender is allowed. The form is closed (its
    spooled file removed) when the page is answered. Runs in the route's worker thread."""
    request = page.request

    async def parse() -> FormData:
        return await request.form(**{**FORM_LIMITS, "max_files": 1})

    form: FormData = anyio.from_thread.run(parse)
    request.state.uploaded_form = form
    _check_token(
        form, page.state.key, page.seed if not page.seed_is_new else "", page.session_secret
    )
    return form


i18n.add_texts(
    {
        "upload.too_large": {"nb": "Filen er for stor", "en": "The file is too large"},
        "upload.too_large_text": {
            "nb": "Filen er større enn de {limit} bytene som tas imot. Ingenting ble lagret.",
            "en": "The file is larger than the {limit} bytes taken. Nothing was stored.",
        },
    }
)


def error_page(request: Request, error: Exception, status: int) -> HTMLResponse:
    """Return the page of an error a page handler raised: not found (404), not allowed (403),
    invalid (422, with the problems) or a conflict (409). The error's own text is English, as
    the API's is; the page around it is in the reader's language."""
    detail = str(error)
    if isinstance(error, ValidationFailed):
        detail = "; ".join(problem.message for problem in error.problems) or detail
    return _message_page(request, status, f"error.{status}", detail)
