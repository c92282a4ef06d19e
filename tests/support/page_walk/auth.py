"""The page walk's table for src/vardeild/web/pages/routes.py: sign-in, the home page, the
account page, password reset, the language switch and the style sheet."""

from __future__ import annotations

from support.page_walk.model import REDIRECT, PageCall, Table, everyone, signed_in

_NO_LINK = {"token": "x" * 32}
_NEW_PASSWORD = {"new": "p" * 16, "repeat": "p" * 16}

PAGES: Table = {
    ("GET", "/signin"): (everyone(REDIRECT, anonymous=200, note="signed in: on to /portal"),),
    ("GET", "/signin/totp"): (everyone(REDIRECT, note="no password step pending"),),
    ("GET", "/portal"): (signed_in(),),
    ("GET", "/portal/exposure"): (
        PageCall(query=lambda w: {"organisation": w.b}, note="B's overview"),
    ),
    ("GET", "/account"): (signed_in(),),
    ("GET", "/reset"): (everyone(200),),
    ("GET", "/reset/{token}"): (everyone(404, path=lambda w: _NO_LINK, note="no such link"),),
    ("GET", "/language/{code}"): (everyone(REDIRECT, path=lambda w: {"code": "en"}),),
    ("GET", "/portal.css"): (everyone(200),),
    ("POST", "/signin"): (
        everyone(401, form=lambda w: {"email": "nobody@walk.example", "password": "x"}),
    ),
    ("POST", "/signin/totp"): (everyone(REDIRECT, form=lambda w: {"code": "000000"}),),
    ("POST", "/signout"): (everyone(REDIRECT, form=lambda w: {}),),
    ("POST", "/account/totp"): (signed_in(422, form=lambda w: {"code": "000000"}),),
    ("POST", "/account/password"): (
        signed_in(422, form=lambda w: {"current": "wrong", "new": "a", "repeat": "b"}),
    ),
    ("POST", "/reset"): (everyone(200, form=lambda w: {"email": "nobody@walk.example"}),),
    ("POST", "/reset/{token}"): (
        everyone(
            404, path=lambda w: _NO_LINK, form=lambda w: {"new": "p" * 16, "repeat": "p" * 16}
        ),
    ),
}
