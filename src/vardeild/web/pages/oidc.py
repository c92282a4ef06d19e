"""Sign-in through an OpenID Connect provider (authorization code with PKCE), as an option
beside local accounts.

`/signin/oidc` sends the browser to the provider with a fresh state, nonce and PKCE challenge;
the three are kept in a short-lived cookie sealed under the portal's key (accounts.oidc).
`/signin/oidc/callback` checks them, exchanges the code, checks the ID token and finds the
local user (accounts.oidc_links); it starts a full session with a fresh id, exactly as the
password path does (or the TOTP step, under `oidc_requires_local_totp`). Both answer 404 when
OIDC is not configured. The sign-in page shows its button only when it is.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vardeild.accounts import sessions
from vardeild.accounts.oidc import (
    PENDING_SECONDS,
    OidcClient,
    OidcConfig,
    OidcError,
    open_pending,
    parse_role_map,
    pending_key,
    seal_pending,
)
from vardeild.accounts.oidc_http import HttpLimits
from vardeild.accounts.oidc_links import OidcSignIn, sign_in_with_identity
from vardeild.core.errors import NotFound
from vardeild.settings import Settings
from vardeild.web.pages import i18n
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.pages.transport import cookie_name

router = page_router()
log = logging.getLogger(__name__)

COOKIE = "vardeild_oidc"
CALLBACK = "/signin/oidc/callback"

i18n.add_texts(
    {
        "oidc.button": {"nb": "Logg inn med", "en": "Sign in with"},
        "oidc.title": {"nb": "Innlogging med OpenID Connect", "en": "Sign-in with OpenID Connect"},
        "oidc.unavailable": {
            "nb": "Identitetsleverandøren svarer ikke som den skal nå. Prøv igjen senere, "
            "eller logg inn med passord.",
            "en": "The identity provider is not answering as it should. Try again later, or "
            "sign in with your password.",
        },
        "oidc.expired": {
            "nb": "Innloggingen ble ikke startet her, eller den tok for lang tid. Start på nytt "
            "fra innloggingssiden.",
            "en": "The sign-in was not started here, or it took too long. Start again from "
            "the sign-in page.",
        },
        "oidc.refused": {
            "nb": "Innloggingen fra identitetsleverandøren kunne ikke godtas. Start på nytt fra "
            "innloggingssiden.",
            "en": "The sign-in from the identity provider could not be accepted. Start again "
            "from the sign-in page.",
        },
        "oidc.no_account": {
            "nb": "Det finnes ingen konto her for denne identiteten (eller e-postadressen er "
            "ikke bekreftet hos identitetsleverandøren). Be administratoren i organisasjonen "
            "din eller CERT om en konto med samme e-postadresse.",
            "en": "There is no account here for this identity (or the provider has not "
            "verified its e-mail address). Ask your organisation's administrator or the CERT "
            "for an account with the same e-mail address.",
        },
        "oidc.account_refused": {
            "nb": "Kontoen er deaktivert eller midlertidig sperret.",
            "en": "The account is disabled or locked for a while.",
        },
    }
)

_CLIENTS: dict[OidcConfig, OidcClient] = {}
_CLIENTS_LOCK = threading.Lock()


def oidc_config(settings: Settings) -> OidcConfig | None:
    """Return the OIDC configuration of the settings, or None when OIDC is not configured;
    ValueError for a malformed role map."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    secret = settings.oidc_client_secret
    domains = (d.strip().lower() for d in settings.oidc_allowed_email_domains.split(","))
    return OidcConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else "",
        redirect_uri=settings.notify_public_url.rstrip("/") + CALLBACK,
        scopes=tuple(settings.oidc_scopes.split()),
        email_claim=settings.oidc_email_claim,
        link_by_email=settings.oidc_link_by_email,
        allowed_email_domains=tuple(d for d in domains if d),
        role_claim=settings.oidc_role_claim,
        role_map=parse_role_map(settings.oidc_role_map),
        requires_local_totp=settings.oidc_requires_local_totp,
        limits=HttpLimits(
            timeout=settings.oidc_timeout_seconds, allow_private=settings.oidc_allow_private
        ),
    )


class _Misconfigured(Exception):
    """The OIDC settings do not read (a malformed role map)."""


def _client(page: Page) -> OidcClient:
    """Return the relying party of the app's provider (one per configuration, so its cached
    discovery document and keys are shared); NotFound when OIDC is not configured,
    _Misconfigured when its settings do not read."""
    try:
        config = oidc_config(page.platform.settings)
    except ValueError as exc:
        log.error("OIDC sign-in is misconfigured: %s", exc)
        raise _Misconfigured from None
    if config is None:
        raise NotFound("sign-in with OpenID Connect is not configured")
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(config)
        if client is None:
            if len(_CLIENTS) >= 16:  # settings do not change often; bound it all the same
                _CLIENTS.clear()
            client = _CLIENTS[config] = OidcClient(config)
    return client


def _message(page: Page, status: int, key: str) -> HTMLResponse:
    return page.render(
        "portal/message.html", status=status, title=page.t("oidc.title"), message=page.t(key)
    )


def _set_pending(page: Page, response: Response, value: str) -> None:
    response.set_cookie(
        cookie_name(COOKIE, tls=page.tls), value, max_age=PENDING_SECONDS, path="/",
        secure=page.tls, httponly=True, samesite="lax",
    )  # fmt: skip


def _clear_pending(page: Page, response: Response) -> Response:
    response.delete_cookie(
        cookie_name(COOKIE, tls=page.tls), path="/", secure=page.tls, httponly=True,
        samesite="lax",
    )  # fmt: skip
    return response


@router.get("/signin/oidc")
def oidc_start(page: PageDep) -> Response:
    """Send the browser to the provider (404 when OIDC is not configured)."""
    try:
        client = _client(page)
    except _Misconfigured:
        return _message(page, 503, "oidc.unavailable")
    if page.user is not None:
        return page.redirect("/portal")
    now = int(page.platform.clock.now().timestamp())
    try:
        url, pending = client.begin(now=now)
    except OidcError as exc:
        log.warning("OIDC sign-in cannot start (%s): %s", exc.reason, exc)
        return _message(page, 502, "oidc.unavailable")
    response = page.finish(RedirectResponse(url, status_code=303))
    _set_pending(page, response, seal_pending(pending, pending_key(page.state.key)))
    return response


Param = Annotated[str, Query(max_length=2000)]


@router.get(CALLBACK, response_class=HTMLResponse)
def oidc_callback(
    page: PageDep, code: Param = "", state: Param = "", error: Param = ""
) -> Response:
    """Check the provider's answer and sign in as the linked user."""
    try:
        client = _client(page)
    except _Misconfigured:
        return _message(page, 503, "oidc.unavailable")
    clock = page.platform.clock
    now = clock.now()
    limiter = page.state.signin_failures
    if limiter.blocked(page.client, now):
        return _clear_pending(page, page.render(
            "portal/message.html", status=429, title=page.t("oidc.title"),
            message=page.t("signin.slow_down"),
        ))  # fmt: skip
    sealed = page.request.cookies.get(cookie_name(COOKIE, tls=page.tls), "")
    pending = open_pending(sealed, pending_key(page.state.key), now=int(now.timestamp()))
    if pending is None:
        limiter.record(page.client, now)
        return _clear_pending(page, _message(page, 400, "oidc.expired"))
    if error:
        log.info("OIDC provider answered %r", error[:100])
        return _clear_pending(page, _message(page, 401, "oidc.refused"))
    try:
        identity = client.finish(pending, state=state, code=code, now=int(now.timestamp()))
    except OidcError as exc:
        log.warning("OIDC sign-in refused (%s): %s", exc.reason, exc)
        limiter.record(page.client, now)
        status = 400 if exc.reason == "state" else 502 if exc.reason == "discovery" else 401
        key = "oidc.unavailable" if status == 502 else "oidc.refused"
        return _clear_pending(page, _message(page, status, key))
    result = sign_in_with_identity(page.db, identity, clock=clock, config=client.config)
    if result.outcome is OidcSignIn.NO_ACCOUNT or result.user is None:
        return _clear_pending(page, _message(page, 403, "oidc.no_account"))
    if result.outcome is OidcSignIn.REFUSED:
        return _clear_pending(page, _message(page, 403, "oidc.account_refused"))
    if result.outcome is OidcSignIn.NEED_TOTP:
        response = page.redirect("/signin/totp")
        if page.session_secret:
            sessions.end_session(page.db, page.session_secret, clock=clock)
        secret = sessions.start_session(
            page.db, result.user.id, stage=sessions.STAGE_TOTP, clock=clock,
            config=page.state.config, client=page.client,
        )  # fmt: skip
        page.set_session(response, secret)
        return _clear_pending(page, response)
    return _clear_pending(page, page.signed_in_redirect(result.user.id))
