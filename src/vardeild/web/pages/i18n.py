"""The portal's words in Norwegian bokmål and English, and which language a request gets: the
`lang` cookie (set by the switch), else the first supported language of Accept-Language, else
bokmål."""

from __future__ import annotations

from starlette.requests import HTTPConnection

LANGUAGES = ("nb", "en")
COOKIE = "vardeild_lang"

_TEXT: dict[str, dict[str, str]] = {
    "portal": {"nb": "Portal", "en": "Portal"},
    "account": {"nb": "Konto", "en": "Account"},
    "signin": {"nb": "Logg inn", "en": "Sign in"},
    "signout": {"nb": "Logg ut", "en": "Sign out"},
    "email": {"nb": "E-postadresse", "en": "E-mail address"},
    "password": {"nb": "Passord", "en": "Password"},
    "code": {"nb": "Engangskode (6 sifre)", "en": "One-time code (6 digits)"},
    "continue": {"nb": "Fortsett", "en": "Continue"},
    "totp.title": {"nb": "Andre faktor", "en": "Second factor"},
    "totp.intro": {
        "nb": "Skriv inn koden fra autentiseringsappen din.",
        "en": "Enter the code from your authenticator app.",
    },
    "signin.refused": {
        "nb": "Feil e-postadresse, passord eller kode, eller kontoen er midlertidig sperret. "
        "Prøv igjen senere, eller be om nytt passord.",
        "en": "Wrong e-mail address, password or code, or the account is locked for a while. "
        "Try again later, or ask for a new password.",
    },
    "signin.slow_down": {
        "nb": "For mange mislykkede innlogginger fra din adresse. Vent litt og prøv igjen.",
        "en": "Too many failed sign-ins from your address. Wait a while and try again.",
    },
    "signin.forgot": {"nb": "Glemt passordet?", "en": "Forgot your password?"},
    "home.title": {"nb": "Du er logget inn", "en": "You are signed in"},
    "home.you": {"nb": "Du er", "en": "You are"},
    "home.role": {"nb": "Rolle", "en": "Role"},
    "home.org": {"nb": "Organisasjon", "en": "Organisation"},
    "home.cert": {"nb": "CERT-ansatt", "en": "CERT staff"},
    "home.exposure": {
        "nb": "Sårbarhetsoversikten for organisasjonen",
        "en": "Your organisation's vulnerability overview",
    },
    "role.cert_admin": {"nb": "CERT-administrator", "en": "CERT administrator"},
    "role.cert_analyst": {"nb": "CERT-analytiker", "en": "CERT analyst"},
    "role.cert_readonly": {"nb": "CERT lesetilgang", "en": "CERT read-only"},
    "role.member_admin": {"nb": "Medlemsadministrator", "en": "Member administrator"},
    "role.member_user": {"nb": "Medlemsbruker", "en": "Member user"},
    "account.totp": {"nb": "Tofaktor (TOTP)", "en": "Two-factor (TOTP)"},
    "account.totp_on": {
        "nb": "Tofaktor er slått på for kontoen din.",
        "en": "Two-factor sign-in is on for your account.",
    },
    "account.totp_scan": {
        "nb": "Skann QR-koden med autentiseringsappen din, eller skriv inn hemmeligheten, "
        "og bekreft med en kode.",
        "en": "Scan the QR code with your authenticator app, or type in the secret, "
        "and confirm with a code.",
    },
    "account.secret": {"nb": "Hemmelighet", "en": "Secret"},
    "account.enrol": {"nb": "Slå på tofaktor", "en": "Turn on two-factor"},
    "account.enrolled": {"nb": "Tofaktor er slått på.", "en": "Two-factor is now on."},
    "account.bad_code": {"nb": "Koden stemmer ikke.", "en": "The code is not right."},
    "account.change_password": {"nb": "Bytt passord", "en": "Change password"},
    "account.current": {"nb": "Nåværende passord", "en": "Current password"},
    "account.new": {"nb": "Nytt passord", "en": "New password"},
    "account.repeat": {"nb": "Gjenta nytt passord", "en": "Repeat the new password"},
    "account.mismatch": {
        "nb": "De to nye passordene er ikke like.",
        "en": "The two new passwords differ.",
    },
    "account.changed": {
        "nb": "Passordet er byttet. Andre innlogginger er logget ut.",
        "en": "Your password is changed. Other sessions are signed out.",
    },
    "account.policy": {
        "nb": "Minst 12 tegn; en setning av flere ord er lett å huske.",
        "en": "At least 12 characters; a sentence of several words is easy to remember.",
    },
    "reset.title": {"nb": "Nytt passord", "en": "New password"},
    "reset.intro": {
        "nb": "Skriv e-postadressen din, så sender vi en lenke for å sette nytt passord.",
        "en": "Enter your e-mail address and we will send a link to set a new password.",
    },
    "reset.send": {"nb": "Send lenke", "en": "Send link"},
    "reset.sent": {
        "nb": "Hvis adressen hører til en konto, er en lenke sendt dit. Den virker én gang, "
        "en kort stund.",
        "en": "If the address belongs to an account, a link has been sent to it. It works "
        "once, for a short while.",
    },
    "reset.bad_link": {
        "nb": "Lenken er ukjent, brukt eller utløpt. Be om en ny.",
        "en": "The link is unknown, used or expired. Ask for a new one.",
    },
    "reset.done": {
        "nb": "Passordet er satt. Logg inn med det nye passordet.",
        "en": "Your password is set. Sign in with the new password.",
    },
    "reset.set": {"nb": "Sett passord", "en": "Set password"},
    "csrf.title": {"nb": "Skjemaet er utløpt", "en": "The form has expired"},
    "csrf.text": {
        "nb": "Skjemaet manglet gyldig sikkerhetsnøkkel (CSRF), så ingenting ble endret. "
        "Gå tilbake, last siden på nytt og prøv igjen.",
        "en": "The form lacked a valid security token (CSRF), so nothing was changed. "
        "Go back, reload the page and try again.",
    },
    "problem": {"nb": "Noe må rettes", "en": "Something to fix"},
    "error.404": {"nb": "Finnes ikke", "en": "Not found"},
    "error.403": {"nb": "Ikke tillatt", "en": "Not allowed"},
    "error.409": {"nb": "Konflikt", "en": "Conflict"},
    "error.422": {"nb": "Ugyldig", "en": "Not valid"},
    "language": {"nb": "English", "en": "Norsk"},
}


def add_texts(texts: dict[str, dict[str, str]]) -> None:
    """Add a page module's words (key -> {"nb": ..., "en": ...}); every entry needs both
    languages, and a key may be defined once only, so two modules cannot silently clash."""
    for key, entry in texts.items():
        if key in _TEXT:
            raise ValueError(f"the portal's text {key!r} is defined twice")
        missing = [language for language in LANGUAGES if not entry.get(language)]
        if missing:
            raise ValueError(f"the portal's text {key!r} lacks {missing}")
        _TEXT[key] = entry


def pick_language(request: HTTPConnection) -> str:
    """Return the language of the request's pages."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in {"nb", "no", "nn"}:
            return "nb"
        if primary == "en":
            return "en"
    return "nb"


def translate(key: str, language: str) -> str:
    """Return the text of key in language (the key itself if unknown, so a gap shows)."""
    entry = _TEXT.get(key)
    if entry is None:
        return key
    return entry.get(language) or entry["nb"]
