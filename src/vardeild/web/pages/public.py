"""The public pages, no sign-in: the start page describing the CERT's services, the incident
report form, the CERT's OpenPGP key, and the RFC 2350 description (HTML and plain text, both
made from the settings). security.txt is served by routes/pgp.py, which signs it.

The report form stores what it is given sealed (intake.service); a filled-in honeypot field is
answered as if the report were taken, and nothing is stored. Each client address may send
intake_reports_per_address reports per window; more are answered 429.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader

from vardeild.accounts.model import FailureWindow
from vardeild.core.errors import ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intake import service as intake
from vardeild.intake.model import (
    FIELD_MAX,
    ReportTooLarge,
    build_content,
    intake_key,
    new_reference,
)
from vardeild.platform import Platform
from vardeild.web.pages import i18n
from vardeild.web.pages.context import Page, PageDep, page_router
from vardeild.web.routes.pgp import published_key_info

router = page_router()

# The whole body the report form may send, and one field of it, as the transport sees them
# (URL-encoding can make one character twelve bytes). The form's own bounds, in characters
# (intake.model.FIELD_MAX), lie well inside and are answered by a page saying what to shorten;
# these only stop a client that is not a browser filling in our form.
REPORT_BODY_MAX = 512 * 1024
REPORT_PART_MAX = 256 * 1024
HONEYPOT = "website"

# The plain-text RFC 2350 is not HTML: it must not be HTML-escaped (it is served as text/plain,
# with nosniff, so nothing in it is ever run).
_TEXT_ENV = Environment(
    loader=PackageLoader("vardeild.web", "templates"),
    autoescape=False,  # noqa: S701 - text/plain, never HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Service:
    """One of the CERT's services: its key (i18n `public.service.<key>` and `.text`) and its
    English description for the RFC 2350 document."""

    key: str
    rfc2350: str


SERVICES: tuple[Service, ...] = (
    Service("monitoring", "Monitoring: sensors in members' networks and event feeds, "
            "correlated with threat intelligence; members are alerted to what concerns them."),
    Service("sharing", "Information sharing: indicators, warnings and advisories shared with "
            "members under TLP, and exchanged with partner CERTs."),
    Service("incidents", "Incident handling: triage, coordination across the members an "
               "incident touches, and help towards resolution."),
    Service("vulnerabilities", "Vulnerability overview: what each member exposes to the "
            "Internet, matched with known vulnerabilities, with priorities and deadlines."),
    Service("pentest", "Penetration testing: engagements for members, with findings tracked "
            "until they are fixed."),
    Service("reporting", "Reporting and contact: reports to members, statistics for the "
            "sector, and a contact point for anyone who wants to tell us of an incident."),
)  # fmt: skip

_SERVICE_TEXTS = {
    "monitoring": (
        ("Overvåking", "Monitoring"),
        (
            "Sensorer i medlemmenes nett og datastrømmer, sammenholdt med trusseletterretning. "
            "Medlemmene varsles om det som angår dem.",
            "Sensors in members' networks and event feeds, matched with threat intelligence. "
            "Members are alerted to what concerns them.",
        ),
    ),
    "sharing": (
        ("Informasjonsdeling", "Information sharing"),
        (
            "Indikatorer, varsler og råd deles med medlemmene etter TLP, og utveksles med "
            "andre CERT-er.",
            "Indicators, warnings and advisories shared with members under TLP, and exchanged "
            "with partner CERTs.",
        ),
    ),
    "incidents": (
        ("Hendelseshåndtering", "Incident handling"),
        (
            "Vurdering, koordinering mellom medlemmene en hendelse rammer, og hjelp til å "
            "løse den.",
            "Triage, coordination across the members an incident touches, and help towards "
            "resolving it.",
        ),
    ),
    "vulnerabilities": (
        ("Sårbarhetsoversikt", "Vulnerability overview"),
        (
            "Hva hvert medlem eksponerer mot Internett, sammenholdt med kjente sårbarheter, "
            "med prioritet og frister.",
            "What each member exposes to the Internet, matched with known vulnerabilities, "
            "with priorities and deadlines.",
        ),
    ),
    "pentest": (
        ("Penetrasjonstesting", "Penetration testing"),
        (
            "Oppdrag for medlemmene, med funn som følges opp til de er lukket.",
            "Engagements for members, with findings followed until they are fixed.",
        ),
    ),
    "reporting": (
        ("Rapportering og kontakt", "Reporting and contact"),
        (
            "Rapporter til medlemmene, statistikk for sektoren, og et kontaktpunkt for alle "
            "som vil melde fra om en hendelse.",
            "Reports to members, statistics for the sector, and a contact point for anyone "
            "who wants to tell us of an incident.",
        ),
    ),
}


def _service_texts() -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for key, ((nb_title, en_title), (nb_text, en_text)) in _SERVICE_TEXTS.items():
        texts[f"public.service.{key}"] = {"nb": nb_title, "en": en_title}
        texts[f"public.service.{key}.text"] = {"nb": nb_text, "en": en_text}
    return texts


i18n.add_texts(_service_texts())
i18n.add_texts(
    {
        "public.home": {"nb": "Forside", "en": "Home"},
        "public.report": {"nb": "Meld en hendelse", "en": "Report an incident"},
        "public.key": {"nb": "OpenPGP-nøkkel", "en": "OpenPGP key"},
        "public.rfc2350": {"nb": "Om oss (RFC 2350)", "en": "About us (RFC 2350)"},
        "public.security_txt": {"nb": "security.txt", "en": "security.txt"},
        "public.api_docs": {"nb": "API-dokumentasjon", "en": "API documentation"},
        "public.links": {"nb": "Offentlige sider", "en": "Public pages"},
        "public.welcome": {
            "nb": "er sektorens CERT: vi hjelper medlemmene å forebygge, oppdage og håndtere "
            "sikkerhetshendelser.",
            "en": "is the sector's CERT: we help our members prevent, detect and handle "
            "security incidents.",
        },
        "public.services": {"nb": "Tjenestene våre", "en": "Our services"},
        "public.contact": {"nb": "Kontakt", "en": "Contact"},
        "public.contact.text": {
            "nb": "Har du oppdaget en sikkerhetshendelse eller en sårbarhet? Meld fra med "
            "skjemaet, eller send e-post kryptert med nøkkelen vår.",
            "en": "Have you found a security incident or a vulnerability? Tell us through the "
            "form, or send e-mail encrypted with our key.",
        },
        "public.members": {
            "nb": "Medlemmer logger inn i portalen, eller bruker API-et med et token.",
            "en": "Members sign in to the portal, or use the API with a token.",
        },
        "public.phone": {"nb": "Telefon", "en": "Telephone"},
        "public.hours": {"nb": "Åpningstid", "en": "Hours"},
        "public.report.intro": {
            "nb": "Alle kan melde fra. Det du skriver lagres kryptert og leses bare av CERT-et. "
            "Felt merket * må fylles ut.",
            "en": "Anyone may report. What you write is stored encrypted and read only by the "
            "CERT. Fields marked * are required.",
        },
        "public.report.name": {"nb": "Navnet ditt *", "en": "Your name *"},
        "public.report.email": {"nb": "E-postadressen din *", "en": "Your e-mail address *"},
        "public.report.phone": {"nb": "Telefon", "en": "Telephone"},
        "public.report.organisation": {"nb": "Organisasjon", "en": "Organisation"},
        "public.report.what_happened": {"nb": "Hva skjedde? *", "en": "What happened? *"},
        "public.report.happened_at": {
            "nb": "Når skjedde det (eller når oppdaget du det)?",
            "en": "When did it happen (or when did you notice)?",
        },
        "public.report.affected": {
            "nb": "Berørte systemer, IP-adresser eller domener",
            "en": "Affected systems, IP addresses or domains",
        },
        "public.report.tlp": {
            "nb": "Hvor langt kan vi dele det du forteller (TLP)?",
            "en": "How far may we share what you tell us (TLP)?",
        },
        "public.report.honeypot": {
            "nb": "La dette feltet stå tomt",
            "en": "Leave this field empty",
        },
        "public.report.send": {"nb": "Send meldingen", "en": "Send the report"},
        "public.report.max": {"nb": "Høyst {n} tegn.", "en": "At most {n} characters."},
        "public.report.thanks": {"nb": "Takk for meldingen", "en": "Thank you for your report"},
        "public.report.reference": {
            "nb": "Referansen din er",
            "en": "Your reference is",
        },
        "public.report.keep": {
            "nb": "Oppgi referansen når du kontakter oss om denne saken. Vi tar kontakt om vi "
            "trenger mer informasjon.",
            "en": "Quote the reference when you contact us about this. We will get in touch "
            "if we need more information.",
        },
        "public.report.too_large": {
            "nb": "Meldingen er for stor. Gjør feltene under kortere og send igjen.",
            "en": "The report is too large. Shorten the fields below and send it again.",
        },
        "public.report.too_many": {
            "nb": "Du har sendt mange meldinger på kort tid. Vent litt og prøv igjen, eller "
            "send e-post.",
            "en": "You have sent many reports in a short time. Wait a while and try again, or "
            "send e-mail.",
        },
        "public.key.title": {"nb": "CERT-ets OpenPGP-nøkkel", "en": "The CERT's OpenPGP key"},
        "public.key.none": {
            "nb": "CERT-et har ikke publisert en OpenPGP-nøkkel ennå.",
            "en": "The CERT has not published an OpenPGP key yet.",
        },
        "public.key.fingerprint": {"nb": "Fingeravtrykk", "en": "Fingerprint"},
        "public.key.user_ids": {"nb": "Bruker-ID-er", "en": "User IDs"},
        "public.key.algorithm": {"nb": "Algoritme", "en": "Algorithm"},
        "public.key.created": {"nb": "Laget", "en": "Created"},
        "public.key.expires": {"nb": "Utløper", "en": "Expires"},
        "public.key.never": {"nb": "aldri", "en": "never"},
        "public.key.download": {"nb": "Last ned nøkkelen", "en": "Download the key"},
        "public.key.verify": {"nb": "Slik kontrollerer du nøkkelen", "en": "How to verify it"},
        "public.key.verify.text": {
            "nb": "Importer nøkkelen og sammenlign fingeravtrykket med det som står her og i "
            "security.txt (som er signert med nøkkelen), helst også med et fingeravtrykk du "
            "har fått fra oss på en annen måte, for eksempel på telefon:",
            "en": "Import the key and compare its fingerprint with the one shown here and in "
            "security.txt (which is signed with the key), ideally also with one you got from "
            "us another way, such as by telephone:",
        },
        "public.key.wkd": {
            "nb": "Nøkkelen finnes også i Web Key Directory, så e-postprogrammer kan hente den "
            "selv.",
            "en": "The key is also in the Web Key Directory, so mail programs can fetch it "
            "themselves.",
        },
        "public.rfc2350.text": {"nb": "Som ren tekst", "en": "As plain text"},
        "public.rfc2350.english": {
            "nb": "Beskrivelsen følger malen i RFC 2350 og er på engelsk, som er vanlig blant "
            "CERT-er.",
            "en": "The description follows the template of RFC 2350.",
        },
    }
)


def _report_limiter(platform: Platform) -> FailureWindow:
    """Return the per-address count of reports, one per process and settings."""
    settings = platform.settings
    limit = settings.intake_reports_per_address
    window = timedelta(minutes=settings.intake_rate_window_minutes)
    limiter: FailureWindow = platform.cached(
        "intake-report-limiter",
        (limit, window),
        lambda: FailureWindow(limit=limit, window=window),
    )
    return limiter


def _public_context(page: Page) -> dict[str, Any]:
    settings = page.platform.settings
    return {
        "settings": settings,
        "base": (settings.pgp_public_url or str(page.request.base_url)).rstrip("/"),
        "services": SERVICES,
        "key": published_key_info(page.platform),
        "tlps": [label.value for label in Tlp],
        "limits": FIELD_MAX,
    }


@router.get("/", response_class=HTMLResponse)
def start_page(page: PageDep) -> Response:
    """The start page: who the CERT is, its services, and how to reach it."""
    return page.render("public/start.html", **_public_context(page))


@router.get("/report", response_class=HTMLResponse)
def report_form(page: PageDep) -> Response:
    """The incident report form."""
    return page.render("public/report.html", form={"tlp": "AMBER"}, **_public_context(page))


Field = Annotated[str, Form()]


@router.post(
    "/report",
    response_class=HTMLResponse,
    max_body_size=REPORT_BODY_MAX,
    # Parsed here, before the CSRF check reads the (then parsed) form: the description may be
    # longer than the 16 KiB a field of the portal's other forms may be.
    form_limits={"max_part_size": REPORT_PART_MAX, "max_fields": 20, "max_files": 0},
)
def submit_report(
    page: PageDep,
    name: Field = "",
    email: Field = "",
    phone: Field = "",
    organisation: Field = "",
    what_happened: Field = "",
    happened_at: Field = "",
    affected: Field = "",
    tlp: Field = "AMBER",
    website: Field = "",
) -> Response:
    """Take a report: sealed and stored, and the reporter gets its reference."""
    form = {
        "name": name, "email": email, "phone": phone, "organisation": organisation,
        "what_happened": what_happened, "happened_at": happened_at, "affected": affected,
        "tlp": tlp,
    }  # fmt: skip
    context = _public_context(page)
    now = page.platform.clock.now()
    limiter = _report_limiter(page.platform)
    if limiter.blocked(page.client, now):
        return page.render(
            "public/report.html", status=429, form=form, error=page.t("public.report.too_many"),
            **context,
        )  # fmt: skip
    try:
        content = build_content(form, tlp=tlp)
    except ReportTooLarge as exc:
        return page.render(
            "public/report.html", status=413, form=form, error=page.t("public.report.too_large"),
            errors=[str(problem) for problem in exc.problems], **context,
        )  # fmt: skip
    except ValidationFailed as exc:
        return page.render(
            "public/report.html", status=422, form=form,
            errors=[str(problem) for problem in exc.problems], **context,
        )  # fmt: skip
    limiter.record(page.client, now)
    if website.strip():
        # A robot filled in the field people cannot see: answer as if taken, keep nothing.
        reference = new_reference(now)
    else:
        summary = intake.submit_report(
            page.db, clock=page.platform.clock, key=intake_key(page.state.key), content=content,
            client=page.client, language=page.language,
        )  # fmt: skip
        reference = summary.reference
    return page.render("public/thanks.html", reference=reference, **context)


@router.get("/key", response_class=HTMLResponse)
def key_page(page: PageDep) -> Response:
    """The CERT's OpenPGP key: fingerprint, user ids, lifetime, download and how to verify."""
    return page.render("public/key.html", **_public_context(page))


Section = tuple[str, str, list[tuple[str, str, list[str]]]]


def _rfc2350_sections(page: Page, base: str) -> list[Section]:
    """Return the RFC 2350 description (the template of its Appendix A: document information,
    contact information, charter, policies, services, reporting forms, disclaimers) filled in
    from the settings, in English as CSIRTs publish it."""
    settings = page.platform.settings
    key = published_key_info(page.platform)
    key_text = (
        [
            f"The team's OpenPGP key has the fingerprint {key.fingerprint} "
            f"({', '.join(key.user_ids)}). It is at {base}/pgp-key.asc and in the Web Key "
            "Directory; please encrypt sensitive reports with it.",
        ]
        if key
        else ["The team has not published an OpenPGP key yet."]
    )
    return [
        ("1", "Document Information", [
            ("1.1", "Date of Last Update", [
                f"This is version {settings.cert_description_updated.isoformat()}, "
                f"published {settings.cert_description_updated.isoformat()}."]),
            ("1.2", "Distribution List for Notifications", [
                "There is no distribution list for changes to this document; the current "
                "version is always at the locations below."]),
            ("1.3", "Locations where this Document May Be Found", [
                f"{base}/rfc2350 (HTML) and {base}/rfc2350.txt (plain text)."]),
            ("1.4", "Authenticating this Document", [
                f"The signed {base}/.well-known/security.txt names this document as the team's "
                "policy; it is signed with the team's OpenPGP key (2.8)."]),
        ]),
        ("2", "Contact Information", [
            ("2.1", "Name of the Team", [settings.cert_name]),
            ("2.2", "Address", [settings.cert_address]),
            ("2.3", "Time Zone", [settings.cert_timezone]),
            ("2.4", "Telephone Number", [settings.cert_phone]),
            ("2.5", "Facsimile Number", ["None."]),
            ("2.6", "Other Telecommunication", [
                f"The incident report form at {base}/report (no sign-in needed)."]),
            ("2.7", "Electronic Mail Address", [settings.cert_email]),
            ("2.8", "Public Keys and Encryption Information", key_text),
            *([("2.9", "Team Members", [settings.cert_team_members])]
              if settings.cert_team_members else []),
            ("2.10", "Other Information", [
                f"The team's services are described at {base}/."]),
            ("2.11", "Points of Customer Contact", [
                f"E-mail to {settings.cert_email} (encrypted with the key in 2.8 when "
                f"sensitive), or the form at {base}/report. Members also reach the team "
                f"through the portal. Hours: {settings.cert_hours}"]),
        ]),
        ("3", "Charter", [
            ("3.1", "Mission Statement", [settings.cert_mission]),
            ("3.2", "Constituency", [settings.cert_constituency]),
            ("3.3", "Sponsorship and/or Affiliation", [settings.cert_sponsorship]),
            ("3.4", "Authority", [settings.cert_authority]),
        ]),
        ("4", "Policies", [
            ("4.1", "Types of Incidents and Level of Support", [
                "The team handles every kind of information security incident that touches its "
                "constituency, classified by the Reference Security Incident Taxonomy. The "
                "level of support depends on the severity of the incident, the number of "
                "members it touches and the team's resources; incidents that threaten life, "
                "health or critical services come first."]),
            ("4.2", "Co-operation, Interaction and Disclosure of Information", [
                "The team co-operates with other CSIRTs, the national CERT and the authorities. "
                "Information is shared only as its Traffic Light Protocol (TLP 2.0) label "
                "allows; reporters are not named to others without their consent, and personal "
                "data is handled according to the law."]),
            ("4.3", "Communication and Authentication", [
                "Unencrypted e-mail and telephone are used for information that is not "
                "sensitive. Sensitive information is sent encrypted with OpenPGP; the team "
                "signs what it sends with the key in 2.8. Every piece of information carries a "
                "TLP label (CLEAR, GREEN, AMBER, AMBER+STRICT or RED); a report made through "
                "the form names the label its reporter asks for."]),
        ]),
        ("5", "Services", [
            ("5.1", "Incident Response", [
                "Incident triage: assessing whether an incident is real and how serious.",
                "Incident coordination: informing and co-ordinating the members and other "
                "parties an incident touches.",
                "Incident resolution: advice and help towards containing and recovering from "
                "an incident."]),
            ("5.2", "Proactive Activities", [s.rfc2350 for s in SERVICES]),
        ]),
        ("6", "Incident Reporting Forms", [
            ("", "", [
                f"Report an incident at {base}/report. The form asks for the reporter's name "
                "and e-mail address, optionally a telephone number and organisation, what "
                "happened, when, the systems or addresses affected, and the TLP label the "
                "reporter asks for. Reports are stored encrypted; the reporter gets a "
                "reference to quote."]),
        ]),
        ("7", "Disclaimers", [
            ("", "", [
                "While every precaution is taken in the preparation of information, "
                "notifications and alerts, the team assumes no responsibility for errors or "
                "omissions, or for damages resulting from the use of the information they "
                "contain."]),
        ]),
    ]  # fmt: skip


def _rfc2350_context(page: Page) -> dict[str, Any]:
    context = _public_context(page)
    return {**context, "sections": _rfc2350_sections(page, context["base"])}


@router.get("/rfc2350", response_class=HTMLResponse)
def rfc2350_page(page: PageDep) -> Response:
    """The CERT described as RFC 2350 asks, from the settings."""
    return page.render("public/rfc2350.html", **_rfc2350_context(page))


@router.get("/rfc2350.txt")
def rfc2350_text(page: PageDep) -> Response:
    """The RFC 2350 description as plain text."""
    body = _TEXT_ENV.get_template("public/rfc2350.txt").render(
        cert_name=page.platform.settings.cert_name, **_rfc2350_context(page)
    )
    return page.finish(Response(body, media_type="text/plain; charset=utf-8"))
