"""The tenancy walk: a member's token can read or change nothing of another member's.

Two members, A and B, each with networks, ASNs, domains, contacts, a change request, an audit
trail and tokens; every text field of B holds a canary string found nowhere else. Every route of
the app is called, as A's member admin and as A's member user, with B's ids in its path, query
and body. Each call must answer as the table says (404 for B's objects, as for ones that do not
exist; 403 where the route is CERT-only), must leave B exactly as it was, and must not show any
of B's canaries.

ROUTES says how to call each route. A route the table does not cover fails
`test_the_table_covers_every_route`, so no endpoint can skip the walk.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response

from support.factories import CERT_ADMIN, member, org_data
from support.pgp_keys import SHARED_CERT_EMAIL, shared_cert_home
from support.pipeline import eve_batch, eve_line, make_pipeline
from support.web import Headers, TokenMaker, bearer
from vardeild.access import service as access
from vardeild.access.model import Role
from vardeild.audit.model import AuditFilter
from vardeild.audit.service import list_entries
from vardeild.core.tlp import Tlp
from vardeild.exposure import service as exposure_service
from vardeild.exposure.model import ObservedService, ParsedScan, ReportedWeakness, Source
from vardeild.intel.audience import share_indicators
from vardeild.intel.model import IndicatorFilter
from vardeild.intel.service import list_indicators, load_indicators
from vardeild.intel.sharing import Audience
from vardeild.intel.stix_out import TLP_MARKING_IDS
from vardeild.mail.publish import wkd_hash
from vardeild.members import changes, service
from vardeild.monitoring import sensors
from vardeild.monitoring.alert_actions import alert_history
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.model import Severity
from vardeild.notify import records as notify_records
from vardeild.notify import service as notify_service
from vardeild.notify.config import config_from_settings as notify_config
from vardeild.notify.model import NoticeKind
from vardeild.platform import Platform
from vardeild.web.routes.taxii import collection_id

API = "/api/v1"
KINDS = ("networks", "asns", "domains", "contacts")


@dataclass(frozen=True)
class World:
    """Members A and B, what they own, and tokens to act with."""

    a: int
    b: int
    b_items: dict[str, int]  # kind -> id of one of B's items
    a_request: int
    b_request: int
    b_token: int
    b_sensor: int
    b_alert: int
    b_notice: int
    b_finding: int
    b_indicator: int  # an AMBER indicator named to B only
    a_ack: str  # the acknowledgement token of a notice of A's
    b_name: str
    b_org_number: str
    b_ip: str
    b_domain: str
    b_asn: int
    b_record: dict[str, Any]  # B in the interchange form, as an import file writes it
    canaries: tuple[str, ...]
    headers: dict[str, Headers]


Params = Callable[[World], dict[str, Any]]


def _nothing(_w: World) -> dict[str, Any]:
    return {}


def _at_b(w: World) -> dict[str, Any]:
    return {"organisation_id": w.b}


@dataclass(frozen=True)
class Call:
    """One way of calling a route at B, and what each caller must get."""

    path: Params = _nothing
    query: Params = _nothing
    body: Callable[[World], Any] | None = None
    raw: Callable[[World], bytes] | None = None  # a body sent as it is, not as JSON
    member_admin: int = 404
    member_user: int = 404
    cert: int = 200  # a CERT admin's answer to the same call
    public: bool = False  # also answers without a token
    public_status: int | None = None  # without a token answers this (not 401)
    note: str = field(default="", compare=False)


def _b_item(kind: str) -> Params:
    return lambda w: {"organisation_id": w.b, "item_id": w.b_items[kind]}


def _a_with_b_item(kind: str) -> Params:
    return lambda w: {"organisation_id": w.a, "item_id": w.b_items[kind]}


_NEW_ITEM: dict[str, dict[str, Any]] = {
    "networks": {"cidr": "203.0.113.0/24"},
    "asns": {"asn": 65300},
    "domains": {"name": "ny-tjeneste.example.no"},
    "contacts": {"name": "Ny Kontakt", "email": "ny@example.no"},
}


def _item_routes(kind: str) -> dict[tuple[str, str], tuple[Call, ...]]:
    """The list, add and remove routes of one kind of item an organisation owns."""
    base = f"{API}/organisations/{{organisation_id}}/{kind}"
    return {
        ("GET", base): (Call(path=_at_b),),
        ("POST", base): (Call(path=_at_b, body=lambda w: _NEW_ITEM[kind], cert=201),),
        ("DELETE", f"{base}/{{item_id}}"): (
            Call(path=_b_item(kind), cert=204),
            Call(
                path=_a_with_b_item(kind),
                member_admin=403,
                member_user=403,
                cert=404,
                note="A's organisation, B's item",
            ),
        ),
    }


_PUBLIC = Call(public=True, member_admin=200, member_user=200)
_CERT_ONLY = Call(member_admin=403, member_user=403)
_NO_FEED = Call(
    path=lambda w: {"name": "no-such-feed"}, member_admin=403, member_user=403, cert=404
)
_READ_OWN = Call(member_admin=200, member_user=200)
_FORM_WITHOUT_CSRF = Call(
    public=True,
    member_admin=403,
    member_user=403,
    cert=403,
    public_status=403,
    note="a form without its CSRF token",
)
_NO_RESET_LINK = Call(
    path=lambda w: {"token": "x" * 32},
    public=True,
    member_admin=404,
    member_user=404,
    cert=404,
    public_status=404,
    note="a reset link no one was sent",
)
_CERT_LOCAL, _, _CERT_DOMAIN = SHARED_CERT_EMAIL.partition("@")
_WKD = "/.well-known/openpgpkey"
_B_COLLECTION = "/taxii2/api/collections/{collection_id}"
_AMBER_MARKING = TLP_MARKING_IDS[Tlp.AMBER]


def _b_indicator(w: World) -> dict[str, Any]:
    return {"indicator_id": w.b_indicator}


def _b_collection(w: World) -> dict[str, Any]:
    return {"collection_id": collection_id(Audience.named(w.b))}


def _b_object(w: World) -> dict[str, Any]:
    return {**_b_collection(w), "object_id": _AMBER_MARKING}


ROUTES: dict[tuple[str, str], tuple[Call, ...]] = {
    ("GET", "/"): (_PUBLIC,),
    ("GET", "/healthz"): (_PUBLIC,),
    ("GET", "/api/docs"): (_PUBLIC,),
    ("GET", f"{_WKD}/hu/{{hashed}}"): (
        Call(
            path=lambda w: {"hashed": wkd_hash(_CERT_LOCAL)},
            public=True,
            member_admin=200,
            member_user=200,
        ),
    ),
    ("GET", f"{_WKD}/policy"): (_PUBLIC,),
    ("GET", f"{_WKD}/{{domain}}/hu/{{hashed}}"): (
        Call(
            path=lambda w: {"domain": _CERT_DOMAIN, "hashed": wkd_hash(_CERT_LOCAL)},
            public=True,
            member_admin=200,
            member_user=200,
        ),
    ),
    ("GET", f"{_WKD}/{{domain}}/policy"): (
        Call(
            path=lambda w: {"domain": _CERT_DOMAIN}, public=True, member_admin=200, member_user=200
        ),
    ),
    ("GET", "/pgp-key.asc"): (_PUBLIC,),
    # The portal's pages authenticate by session cookie, never by bearer token: signed-in
    # pages send a token holder to the sign-in page, and every form without its CSRF token is
    # refused (tests/integration/web/test_signin_pages.py signs in and walks them for real).
    ("GET", "/signin"): (_PUBLIC,),
    ("GET", "/signin/totp"): (_PUBLIC,),
    ("GET", "/portal"): (_PUBLIC,),
    ("GET", "/portal/exposure"): (
        Call(query=lambda w: {"organisation": w.b}, public=True, member_admin=200, member_user=200),
    ),
    ("GET", "/account"): (_PUBLIC,),
    ("GET", "/reset"): (_PUBLIC,),
    ("GET", "/reset/{token}"): (_NO_RESET_LINK,),
    ("GET", "/language/{code}"): (
        Call(path=lambda w: {"code": "en"}, public=True, member_admin=200, member_user=200),
    ),
    ("GET", "/portal.css"): (_PUBLIC,),
    ("POST", "/signin"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/signin/totp"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/signout"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/account/totp"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/account/password"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/reset"): (_FORM_WITHOUT_CSRF,),
    ("POST", "/reset/{token}"): (
        Call(
            path=lambda w: {"token": "x" * 32},
            public=True,
            member_admin=403,
            member_user=403,
            cert=403,
            public_status=403,
            note="a form without its CSRF token",
        ),
    ),
    ("GET", "/taxii2/"): (_PUBLIC,),
    ("GET", "/taxii2/api/"): (_PUBLIC,),
    ("GET", "/taxii2/api/collections/"): (_PUBLIC,),
    ("GET", f"{_B_COLLECTION}/"): (
        Call(path=_b_collection, note="B's AMBER collection"),
        Call(
            path=lambda w: {"collection_id": collection_id(Audience.public())},
            public=True,
            member_admin=200,
            member_user=200,
            note="the public collection",
        ),
    ),
    ("GET", f"{_B_COLLECTION}/objects/"): (Call(path=_b_collection),),
    ("GET", f"{_B_COLLECTION}/manifest/"): (Call(path=_b_collection),),
    ("GET", f"{_B_COLLECTION}/objects/{{object_id}}/"): (Call(path=_b_object),),
    ("GET", f"{_B_COLLECTION}/objects/{{object_id}}/versions/"): (Call(path=_b_object),),
    ("GET", f"{API}/intel/shared"): (
        _READ_OWN,
        Call(query=lambda w: {"format": "csv"}, member_admin=200, member_user=200),
        Call(query=lambda w: {"audience": f"member:{w.b}"}, note="B's view"),
        Call(query=lambda w: {"audience": f"named:{w.b}"}, note="B's AMBER"),
    ),
    ("GET", f"{API}/intel/misp-feed/manifest.json"): (_READ_OWN,),
    ("GET", f"{API}/intel/misp-feed/hashes.csv"): (_READ_OWN,),
    ("GET", f"{API}/intel/misp-feed/{{event_file}}"): (
        Call(
            path=lambda w: {"event_file": "0b7e5a4c-3f2d-4e1a-9c8b-7d6e5f4a3b2c.json"},
            cert=404,
            note="an event in no feed",
        ),
    ),
    ("GET", "/.well-known/security.txt"): (_PUBLIC,),
    ("GET", f"{API}/pgp/expiring"): (
        Call(member_admin=403, member_user=403),
        Call(query=lambda w: {"days": 365}, member_admin=403, member_user=403),
    ),
    ("GET", f"{API}/me"): (_READ_OWN,),
    ("GET", f"{API}/organisations"): (
        _READ_OWN,
        Call(query=lambda w: {"q": w.b_name}, member_admin=200, member_user=200),
        Call(query=lambda w: {"q": w.b_org_number}, member_admin=200, member_user=200),
        Call(query=lambda w: {"parent_id": w.b}, member_admin=200, member_user=200),
    ),
    ("POST", f"{API}/organisations"): (
        Call(
            body=lambda w: org_data(parent=w.b_org_number),
            member_admin=403,
            member_user=403,
            cert=201,
            note="a new child of B",
        ),
        Call(
            body=lambda w: org_data(name=w.b_name),
            member_admin=403,
            member_user=403,
            cert=422,
            note="B's name again: only the CERT may learn that it is taken",
        ),
    ),
    ("GET", f"{API}/organisations/{{organisation_id}}"): (Call(path=_at_b),),
    ("PATCH", f"{API}/organisations/{{organisation_id}}"): (
        Call(path=_at_b, body=lambda w: {"criticality": "low"}),
    ),
    ("DELETE", f"{API}/organisations/{{organisation_id}}"): (Call(path=_at_b, cert=204),),
    **_item_routes("networks"),
    **_item_routes("asns"),
    **_item_routes("domains"),
    **_item_routes("contacts"),
    ("PATCH", f"{API}/organisations/{{organisation_id}}/contacts/{{item_id}}"): (
        Call(path=_b_item("contacts"), body=lambda w: {"phone": "+47 99 99 99 99"}),
        Call(
            path=_a_with_b_item("contacts"),
            body=lambda w: {"phone": "+47 99 99 99 99"},
            member_admin=403,
            member_user=403,
            cert=404,
            note="A's organisation, B's contact",
        ),
    ),
    ("GET", f"{API}/change-requests"): (
        _READ_OWN,
        Call(query=lambda w: {"organisation_id": w.b}, member_admin=200, member_user=200),
    ),
    ("POST", f"{API}/organisations/{{organisation_id}}/change-requests"): (
        Call(
            path=_at_b,
            body=lambda w: {"changes": {"domains": {"add": ["ny-tjeneste.example.no"]}}},
            cert=201,
        ),
    ),
    ("GET", f"{API}/change-requests/{{request_id}}"): (
        Call(path=lambda w: {"request_id": w.b_request}),
    ),
    ("POST", f"{API}/change-requests/{{request_id}}/approve"): (
        Call(path=lambda w: {"request_id": w.b_request}, body=lambda w: {"reason": "OK"}),
    ),
    ("POST", f"{API}/change-requests/{{request_id}}/reject"): (
        Call(path=lambda w: {"request_id": w.b_request}, body=lambda w: {"reason": "Nei"}),
    ),
    ("GET", f"{API}/audit"): (
        Call(member_admin=200, member_user=403),
        Call(query=lambda w: {"organisation_id": w.b}, member_admin=200, member_user=403),
        Call(
            query=lambda w: {"entity_type": "organisation", "entity_id": str(w.b)},
            member_admin=200,
            member_user=403,
        ),
    ),
    ("GET", f"{API}/tokens"): (Call(member_admin=200, member_user=403),),
    ("POST", f"{API}/tokens"): (
        Call(
            body=lambda w: {"name": "Inn", "role": "member_admin", "organisation_id": w.b},
            cert=201,
        ),
    ),
    ("DELETE", f"{API}/tokens/{{token_id}}"): (Call(path=lambda w: {"token_id": w.b_token}),),
    ("GET", f"{API}/whois"): (
        Call(query=lambda w: {"value": w.b_ip}, member_admin=200, member_user=200),
        Call(query=lambda w: {"value": f"www.{w.b_domain}"}, member_admin=200, member_user=200),
        Call(query=lambda w: {"value": f"AS{w.b_asn}"}, member_admin=200, member_user=200),
    ),
    ("GET", f"{API}/conflicts"): (Call(member_admin=403, member_user=403),),
    ("GET", f"{API}/sensors"): (
        _READ_OWN,
        Call(query=lambda w: {"include_retired": "true"}, member_admin=200, member_user=200),
    ),
    ("POST", f"{API}/sensors"): (
        Call(
            body=lambda w: {"name": "ny-sensor", "location": "Testlab", "organisation_id": w.b},
            member_admin=403,
            member_user=403,
            cert=201,
            note="a sensor for B",
        ),
    ),
    ("GET", f"{API}/sensors/{{sensor_id}}"): (Call(path=lambda w: {"sensor_id": w.b_sensor}),),
    ("POST", f"{API}/ingest/eve"): (
        Call(
            raw=lambda w: b'{"event_type": "stats", "stats": {"uptime": 1}}\n',
            member_admin=403,
            member_user=403,
            cert=403,
            note="only a sensor's token delivers events",
        ),
    ),
    ("GET", f"{API}/alerts"): (
        _READ_OWN,
        Call(query=lambda w: {"organisation_id": w.b}, member_admin=200, member_user=200),
    ),
    ("GET", f"{API}/alerts/{{alert_id}}"): (Call(path=lambda w: {"alert_id": w.b_alert}),),
    ("POST", f"{API}/alerts/{{alert_id}}/acknowledge"): (
        Call(path=lambda w: {"alert_id": w.b_alert}, body=lambda w: {"note": "sett"}),
    ),
    ("POST", f"{API}/alerts/{{alert_id}}/close"): (
        Call(path=lambda w: {"alert_id": w.b_alert}, body=lambda w: {"reason": "resolved"}),
    ),
    ("POST", f"{API}/alerts/{{alert_id}}/reopen"): (
        Call(
            path=lambda w: {"alert_id": w.b_alert},
            cert=409,
            note="B's alert is open: nothing to reopen",
        ),
    ),
    ("POST", f"{API}/alerts/{{alert_id}}/comments"): (
        Call(
            path=lambda w: {"alert_id": w.b_alert},
            body=lambda w: {"note": "en kommentar"},
            cert=201,
        ),
    ),
    ("GET", f"{API}/notices"): (
        _READ_OWN,
        Call(query=lambda w: {"organisation_id": w.b}, member_admin=200, member_user=200),
    ),
    ("POST", f"{API}/notices"): (
        Call(
            body=lambda w: {"organisation_id": w.b, "title": "Til B", "text": "Hei"},
            cert=201,
            note="a notice to B",
        ),
    ),
    ("GET", f"{API}/notices/status"): (Call(member_admin=403, member_user=403),),
    ("GET", f"{API}/notices/tasks"): (Call(member_admin=403, member_user=403),),
    ("GET", f"{API}/notices/{{notice_id}}"): (Call(path=lambda w: {"notice_id": w.b_notice}),),
    ("GET", f"{API}/notices/{{notice_id}}/preview"): (
        Call(path=lambda w: {"notice_id": w.b_notice}),
    ),
    ("POST", f"{API}/notices/{{notice_id}}/acknowledge"): (
        Call(path=lambda w: {"notice_id": w.b_notice}),
    ),
    ("POST", f"{API}/notices/{{notice_id}}/retry"): (
        Call(path=lambda w: {"notice_id": w.b_notice}, cert=409, note="nothing failed"),
    ),
    ("GET", f"{API}/notices/ack/{{token}}"): (
        Call(path=lambda w: {"token": w.a_ack}, public=True, member_admin=200, member_user=200),
        Call(
            path=lambda w: {"token": "x" * 32},
            member_admin=404,
            member_user=404,
            cert=404,
            public_status=404,
            note="a token no notice has",
        ),
    ),
    ("POST", f"{API}/notices/ack/{{token}}"): (
        Call(path=lambda w: {"token": w.a_ack}, public=True, member_admin=200, member_user=200),
    ),
    ("GET", f"{API}/organisations/{{organisation_id}}/notice-policy"): (Call(path=_at_b),),
    ("GET", f"{API}/intel/feeds"): (_CERT_ONLY,),
    ("POST", f"{API}/intel/feeds"): (
        Call(
            body=lambda w: {"name": "walk", "url": "https://feed.example/x", "format": "plain"},
            member_admin=403,
            member_user=403,
            cert=201,
        ),
    ),
    ("GET", f"{API}/intel/feeds/{{name}}"): (_NO_FEED,),
    ("PATCH", f"{API}/intel/feeds/{{name}}"): (
        Call(
            path=lambda w: {"name": "no-such-feed"},
            body=lambda w: {"enabled": False},
            member_admin=403,
            member_user=403,
            cert=404,
        ),
    ),
    ("DELETE", f"{API}/intel/feeds/{{name}}"): (_NO_FEED,),
    ("POST", f"{API}/intel/feeds/{{name}}/sync"): (_NO_FEED,),
    ("POST", f"{API}/intel/import"): (
        Call(
            query=lambda w: {"source": "walk", "format": "plain"},
            raw=lambda w: b"192.0.2.200\n",
            member_admin=403,
            member_user=403,
        ),
    ),
    ("GET", f"{API}/intel/indicators"): (
        _CERT_ONLY,
        Call(query=lambda w: {"source": "tenancy"}, member_admin=403, member_user=403),
    ),
    ("GET", f"{API}/intel/indicators/{{indicator_id}}"): (
        Call(path=_b_indicator, member_admin=403, member_user=403),
    ),
    ("GET", f"{API}/intel/indicators/{{indicator_id}}/audience"): (
        Call(path=_b_indicator, member_admin=403, member_user=403),
    ),
    ("POST", f"{API}/intel/indicators/{{indicator_id}}/audience"): (
        Call(
            path=_b_indicator,
            body=lambda w: {"organisation_ids": [w.b]},
            member_admin=403,
            member_user=403,
            note="B, named already",
        ),
        Call(
            path=_b_indicator,
            body=lambda w: {"organisation_ids": [w.a]},
            member_admin=403,
            member_user=403,
            note="A naming itself to B's AMBER",
        ),
    ),
    ("DELETE", f"{API}/intel/indicators/{{indicator_id}}/audience/{{organisation_id}}"): (
        Call(
            path=lambda w: {"indicator_id": w.b_indicator, "organisation_id": w.b},
            member_admin=403,
            member_user=403,
            cert=204,
        ),
    ),
    ("GET", f"{API}/organisations/{{organisation_id}}/exposures"): (
        Call(path=_at_b),
        Call(path=_at_b, query=lambda w: {"gone": "true"}),
    ),
    ("GET", f"{API}/organisations/{{organisation_id}}/findings"): (Call(path=_at_b),),
    ("GET", f"{API}/organisations/{{organisation_id}}/exposure-report"): (
        Call(path=_at_b),
        Call(path=_at_b, query=lambda w: {"format": "csv"}),
        Call(path=_at_b, query=lambda w: {"format": "pdf", "language": "nb"}),
    ),
    ("POST", f"{API}/organisations/{{organisation_id}}/exposure-scans"): (
        Call(path=_at_b, body=lambda w: {"targets": []}, cert=422, note="B takes no overview"),
    ),
    ("GET", f"{API}/exposure/findings/{{finding_id}}/history"): (
        Call(path=lambda w: {"finding_id": w.b_finding}),
    ),
    ("POST", f"{API}/exposure/findings/{{finding_id}}/status"): (
        Call(
            path=lambda w: {"finding_id": w.b_finding},
            body=lambda w: {"status": "false_positive", "reason": "tenancy"},
        ),
    ),
    ("GET", f"{API}/exposure/who-exposes"): (
        Call(query=lambda w: {"cve": "CVE-2099-7777"}, member_admin=403, member_user=403),
        Call(query=lambda w: {"product": "Kanari"}, member_admin=403, member_user=403),
    ),
    ("PATCH", f"{API}/organisations/{{organisation_id}}/notice-policy"): (
        Call(path=_at_b, body=lambda w: {"cap_per_hour": 5}),
    ),
    ("GET", f"{API}/registry/export"): (
        Call(member_admin=403, member_user=403),
        Call(query=lambda w: {"format": "csv"}, member_admin=403, member_user=403),
    ),
    ("POST", f"{API}/registry/import"): (
        Call(
            query=lambda w: {"format": "json"},
            raw=lambda w: json.dumps([{**w.b_record, "criticality": "low"}]).encode(),
            member_admin=403,
            member_user=403,
            note="an upsert of B",
        ),
        Call(
            query=lambda w: {"format": "json", "dry_run": "true"},
            raw=lambda w: json.dumps([{**w.b_record, "criticality": "low"}]).encode(),
            member_admin=403,
            member_user=403,
            note="a dry run would show B's diff",
        ),
    ),
}


# --- the world ----------------------------------------------------------------------------


@pytest.fixture
def world(platform: Platform, token: TokenMaker) -> World:
    """Members A and B as the module docstring describes."""
    canary = f"Kanari{uuid.uuid4().hex[:10]}"
    low = canary.lower()
    b_data = org_data(
        name=f"{canary} Sykehus HF",
        short_name=f"{canary}S",
        sector="hospital_trust",
        notes=f"{canary} internt notat",
        networks=[
            {"cidr": "198.51.100.0/24", "description": f"{canary} klinikknett"},
            {"cidr": "2001:db8:b0b::/48", "exposure": "internal", "description": f"{canary} v6"},
        ],
        asns=[{"asn": 65123, "description": f"{canary} AS"}],
        domains=[{"name": f"{low}.example.no", "description": f"{canary} domene"}],
        contacts=[
            {
                "name": f"{canary} Kontaktperson",
                "email": f"soc@{low}.example.no",
                "phone": "+47 41 23 45 67",
                "roles": ["security"],
            },
            {"name": f"{canary} Vakt", "email": f"vakt@{low}.example.no", "roles": ["on_call"]},
        ],
    )
    platform.settings.pgp_home = shared_cert_home()  # the public key routes serve its key
    clock, inspector = platform.clock, platform.key_inspector
    with platform.session() as session:
        a = service.create_organisation(
            session, CERT_ADMIN, org_data(), clock=clock, key_inspector=inspector
        )
        b = service.create_organisation(
            session, CERT_ADMIN, b_data, clock=clock, key_inspector=inspector
        )
        service.update_organisation(
            session,
            CERT_ADMIN,
            b["id"],
            {"services": ["monitoring", "advisories"]},
            clock=clock,
            key_inspector=inspector,
        )
        b_request = changes.propose_change(
            session,
            member(b["id"]),
            b["id"],
            {"domains": {"add": [f"foreslatt-{low}.example.no"]}},
            comment=f"{canary} begrunnelse",
            clock=clock,
            key_inspector=inspector,
        )
        a_request = changes.propose_change(
            session,
            member(a["id"]),
            a["id"],
            {"domains": {"add": ["foreslatt-a.example.no"]}},
            comment="A ber om et nytt domene",
            clock=clock,
            key_inspector=inspector,
        )
        b_token = access.issue_token(
            session,
            CERT_ADMIN,
            clock=clock,
            name=f"{canary} integrasjon",
            role=Role.MEMBER_ADMIN,
            organisation_id=b["id"],
        )
        b_sensor = sensors.create_sensor(
            session,
            CERT_ADMIN,
            clock=clock,
            name=f"{low}-ids",
            location=f"{canary} datasenter",
            organisation_id=b["id"],
            description=f"{canary} sensor",
        )
    with platform.session() as session:
        # An AMBER indicator named to B only: A must not see it by any way out.
        load_indicators(
            session,
            CERT_ADMIN,
            f"value,type,tlp,description\nc2.{low}.example.no,domain,AMBER,{canary} c2\n".encode(),
            clock=clock,
            fmt="csv",
            source="tenancy",
        )
        [shared], _ = list_indicators(session, CERT_ADMIN, IndicatorFilter(source="tenancy"))
        share_indicators(
            session, CERT_ADMIN, clock=clock, indicator_ids=[shared.id], organisation_ids=[b["id"]]
        )
    # An alert of B's, made the way alerts are made: an event at B's address through the pipeline.
    attack = eve_line(src="203.0.113.250", dst="198.51.100.77", signature=f"{canary} signatur")
    b_alert = make_pipeline(platform).ingest(eve_batch([attack])).alert_ids[0]
    b_notice, a_ack = _notices(platform, a["id"], b["id"], canary)
    b_finding = _exposure(platform, b["id"], canary)
    b_record = {key: b_data[key] for key in ("name", "org_number", "sector", "domains")}
    canaries = (
        canary,
        low,
        b["org_number"],
        "198.51.100.",
        "2001:db8:b0b:",
        "65123",
        "41 23 45 67",
        b_token.info.prefix,
    )
    return World(
        a=a["id"],
        b=b["id"],
        b_items={kind: b[kind][0]["id"] for kind in KINDS},
        a_request=a_request.id,
        b_request=b_request.id,
        b_token=b_token.info.id,
        b_sensor=b_sensor.id,
        b_alert=b_alert,
        b_notice=b_notice,
        b_finding=b_finding,
        b_indicator=shared.id,
        a_ack=a_ack,
        b_name=b["name"],
        b_org_number=b["org_number"],
        b_ip="198.51.100.77",
        b_domain=f"{low}.example.no",
        b_asn=65123,
        b_record=b_record,
        canaries=canaries,
        headers={
            "a_admin": token(Role.MEMBER_ADMIN, a["id"]),
            "a_user": token(Role.MEMBER_USER, a["id"]),
            "cert_admin": token(Role.CERT_ADMIN),
            "cert_readonly": token(Role.CERT_READONLY),
            "b_admin": bearer(b_token.secret),
        },
    )


def _notices(platform: Platform, a: int, b: int, canary: str) -> tuple[int, str]:
    """Queue a notice to B (its title a canary) and one to A; return B's id and A's
    acknowledgement token."""
    config = notify_config(platform.settings)
    made = []
    with platform.session() as session:
        for org, title in ((b, f"{canary} varsel"), (a, "Varsel til A")):
            row, _ = notify_service.queue_notice(
                session,
                CERT_ADMIN,
                member_id=org,
                kind=NoticeKind.MESSAGE,
                title=title,
                severity=Severity.HIGH,
                content={"details": {"text": f"{canary} tekst" if org == b else "A"}},
                source_key=f"tenancy:{org}",
                config=config,
                now=platform.clock.now(),
            )
            made.append(row)
    return made[0].id, made[1].ack_token


def _exposure(platform: Platform, b: int, canary: str) -> int:
    """Give B an exposure at its address with a reported CVE; return the finding's id."""
    seen = ObservedService(
        "198.51.100.77", 443, product=f"{canary} portal", version="1.0", http_title=canary,
        weaknesses=(ReportedWeakness("nuclei:x", f"{canary} svakhet", ("CVE-2099-7777",), 9.1),),
    )  # fmt: skip
    scan = ParsedScan(source=Source.NUCLEI, name=f"{canary}.jsonl", services=[seen])
    with platform.session() as session:
        exposure_service.record_scan(
            session, CERT_ADMIN, b, scan, matcher=None, config=exposure_service.ExposureConfig(),
            now=platform.clock.now(),
        )  # fmt: skip
        (finding,) = exposure_service.list_findings(session, CERT_ADMIN, b)
    return int(finding["id"])


def state_of_b(platform: Platform, w: World) -> dict[str, Any]:
    """Everything of B, read as the CERT, and how many audit entries exist (B's and all)."""
    with platform.session() as session:
        requests, _ = changes.list_change_requests(session, CERT_ADMIN, organisation_id=w.b)
        return {
            "organisation": service.get_organisation_or_raise(session, CERT_ADMIN, w.b),
            "requests": requests,
            "tokens": [
                t for t in access.list_tokens(session, CERT_ADMIN) if t.organisation_id == w.b
            ],
            "sensors": [
                s
                for s in sensors.list_sensors(
                    session, CERT_ADMIN, clock=platform.clock, include_retired=True
                )
                if s.organisation_id == w.b
            ],
            "alert": get_alert_or_raise(session, CERT_ADMIN, w.b_alert),
            "alert_history": alert_history(session, CERT_ADMIN, w.b_alert),
            "notices": notify_records.get_notice_or_raise(session, CERT_ADMIN, w.b_notice),
            "policy": notify_service.read_policy(session, CERT_ADMIN, w.b),
            "findings": exposure_service.list_findings(session, CERT_ADMIN, w.b),
            "audit_b": list_entries(session, filters=AuditFilter(organisation_id=w.b), limit=1)[1],
            "audit_all": list_entries(session, filters=AuditFilter(), limit=1)[1],
        }


def send(
    client: TestClient, method: str, path: str, call: Call, w: World, headers: Headers
) -> Response:
    """Call the route as call says, with headers."""
    url = path.format(**call.path(w))
    if call.raw is not None:
        return client.request(
            method,
            url,
            params=call.query(w),
            content=call.raw(w),
            headers={**headers, "Content-Type": "application/json"},
        )
    body = call.body(w) if call.body is not None else None
    return client.request(method, url, params=call.query(w), json=body, headers=headers)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [str(value)]


def assert_no_canary(answer: Response, w: World, what: str, call: Call | None = None) -> None:
    """Fail if the answer (body or headers) shows any of B's canaries. What the caller sent
    itself (a whois value echoed back) is taken out first: knowing it is not a leak."""
    shown = answer.text + json.dumps(dict(answer.headers))
    if call is not None:
        sent = _strings(call.query(w)) + (_strings(call.body(w)) if call.body else [])
        for text in sorted(sent, key=len, reverse=True):
            shown = shown.replace(text, "")
    leaked = [c for c in w.canaries if c in shown]
    assert not leaked, f"{what} shows B's {leaked}: {shown[:500]}"


def _route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


# --- the walk -----------------------------------------------------------------------------


def served_routes(app: FastAPI) -> tuple[set[tuple[str, str]], list[str]]:
    """Return every (method, path) the app routes to FastAPI endpoints, and the paths of any
    other routes. Included routers nest, so walk their effective routes."""
    api: set[tuple[str, str]] = set()
    others: list[str] = []
    for context in iter_route_contexts(app.routes):
        path = str(context.path)
        if isinstance(context.original_route, APIRoute):
            api.update((method, path) for method in context.methods or ())
        else:
            others.append(path)
    return api, others


def test_the_table_covers_every_route(app: FastAPI) -> None:
    served, others = served_routes(app)
    assert len(served) > 30
    missing = sorted(served - set(ROUTES))
    assert not missing, f"add these routes to ROUTES in {__name__}: {missing}"
    stale = sorted(set(ROUTES) - served)
    assert not stale, f"ROUTES names routes the app no longer serves: {stale}"
    assert others == [f"{API}/openapi.json"], "a route outside FastAPI's routing escapes the walk"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=_route_id)
def test_member_reaches_nothing_of_another_member(
    client: TestClient, platform: Platform, world: World, route: tuple[str, str]
) -> None:
    method, path = route
    before = state_of_b(platform, world)
    for call in ROUTES[route]:
        for role, expected in (("a_admin", call.member_admin), ("a_user", call.member_user)):
            what = f"{method} {path} {call.note} as {role}".replace("  ", " ")
            answer = send(client, method, path, call, world, world.headers[role])
            assert answer.status_code == expected, f"{what}: {answer.status_code} {answer.text}"
            assert_no_canary(answer, world, what, call)
            assert state_of_b(platform, world) == before, f"{what} changed B"
        if call.public or call.public_status is not None:
            answer = send(client, method, path, call, world, {})
            assert answer.status_code == (call.public_status or 200)
            assert_no_canary(answer, world, f"{method} {path} without a token", call)
        else:
            answer = send(client, method, path, call, world, {})
            assert answer.status_code == 401, f"{method} {path} answers without a token"


def test_lists_show_a_nothing_of_b(client: TestClient, world: World) -> None:
    lists = [
        (path, call)
        for (method, path), calls in ROUTES.items()
        if method == "GET"
        for call in calls
        if "{" not in path
    ]
    assert len(lists) > 10
    own = [f"{API}/organisations/{world.a}/{kind}" for kind in KINDS]
    for role in ("a_admin", "a_user"):
        headers = world.headers[role]
        for path, call in lists:
            answer = send(client, "GET", path, call, world, headers)
            assert_no_canary(answer, world, f"GET {path} as {role}", call)
        for path in own:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 200
            assert_no_canary(answer, world, f"GET {path} as {role}")
        organisations = client.get(f"{API}/organisations", headers=headers).json()
        assert [o["id"] for o in organisations["items"]] == [world.a]
        requests = client.get(f"{API}/change-requests", headers=headers).json()
        assert [r["id"] for r in requests["items"]] == [world.a_request]
    trail = client.get(f"{API}/audit?limit=500", headers=world.headers["a_admin"]).json()
    assert trail["total"] > 0
    assert {e["organisation_id"] for e in trail["items"]} == {world.a}
    tokens = client.get(f"{API}/tokens", headers=world.headers["a_admin"]).json()
    assert {t["organisation_id"] for t in tokens["items"]} == {world.a}


def test_b_sees_its_own_canaries(client: TestClient, world: World) -> None:
    """The canaries are where the walk looks: B's own token finds them in the same answers."""
    headers = world.headers["b_admin"]
    for path in (
        f"{API}/organisations/{world.b}",
        f"{API}/change-requests/{world.b_request}",
        f"{API}/audit",
        f"{API}/tokens",
        f"{API}/sensors",
        f"{API}/sensors/{world.b_sensor}",
        f"{API}/alerts",
        f"{API}/alerts/{world.b_alert}",
        f"{API}/intel/shared",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        assert world.canaries[0] in answer.text
    b_amber = client.get(
        f"/taxii2/api/collections/{collection_id(Audience.named(world.b))}/objects/",
        headers=headers,
    )
    assert world.canaries[0] in b_amber.text
    whois = client.get(f"{API}/whois", params={"value": world.b_ip}, headers=headers).json()
    assert [o["id"] for o in whois["organisations"]] == [world.b]


@pytest.mark.parametrize("route", sorted(ROUTES), ids=_route_id)
def test_cert_admin_can_do_everything(
    client: TestClient, platform: Platform, world: World, route: tuple[str, str]
) -> None:
    method, path = route
    for call in ROUTES[route]:
        before = state_of_b(platform, world)
        answer = send(client, method, path, call, world, world.headers["cert_admin"])
        assert answer.status_code == call.cert, f"{method} {path} {call.note}: {answer.text}"
        if answer.status_code >= 400:
            assert state_of_b(platform, world) == before, f"{method} {path} {call.note} changed B"


# A public route that changes something (acknowledging by link) is authorised by what the
# request carries (the link's token), not by the bearer token, so a role cannot narrow it.
_CHANGING = sorted(r for r in ROUTES if r[0] != "GET" and not any(c.public for c in ROUTES[r]))


@pytest.mark.parametrize("route", _CHANGING, ids=_route_id)
def test_read_only_cert_changes_nothing(
    client: TestClient, platform: Platform, world: World, route: tuple[str, str]
) -> None:
    method, path = route
    before = state_of_b(platform, world)
    for call in ROUTES[route]:
        answer = send(client, method, path, call, world, world.headers["cert_readonly"])
        assert answer.status_code == 403, f"{method} {path} {call.note}: {answer.text}"
        assert answer.json()["error"] == "permission_denied"
        assert state_of_b(platform, world) == before
