"""The tenancy walk: a member's token can read or change nothing of another member's.

Two members, A and B, each with networks, ASNs, domains, contacts, a change request, an audit
trail and tokens; every text field of B holds a canary string found nowhere else. Every route of
the app is called, as A's member admin and as A's member user, with B's ids in its path, query
and body. Each call must answer as the table says (404 for B's objects, as for ones that do not
exist; 403 where the route is CERT-only), must leave B exactly as it was, and must not show any
of B's canaries.

ROUTES says how to call each route. A route the table does not cover fails
`test_the_table_covers_every_route`, so no endpoint can skip the walk.

The app and the world are built once per backend for the whole module and each test runs in a
SAVEPOINT rolled back after it (tests/support/shared_world.py); every test's teardown proves
the database's rows, the settings and the data directory's files back as the world left them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine

from support.factories import org_data
from support.page_walk import PAGES
from support.pgp_keys import SHARED_CERT_EMAIL
from support.shared_world import NOW, SharedWorld, shared_world
from support.tenancy import API, KINDS, World, assert_no_canary, state_of_b
from support.web import Headers
from vardeild.core.tlp import Tlp
from vardeild.intel.sharing import Audience
from vardeild.intel.stix_out import TLP_MARKING_IDS
from vardeild.mail.publish import wkd_hash
from vardeild.platform import Platform
from vardeild.web.routes.taxii import collection_id

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


# One open service on an address of B's registered range (the world gives B 198.51.100.0/24).
_NMAP_WALK = b"""<?xml version="1.0"?>
<nmaprun scanner="nmap"><host><status state="up"/><address addr="198.51.100.9" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="22"><state state="open"/>
<service name="ssh" product="OpenSSH" version="7.4"/></port></ports></host></nmaprun>"""


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
_CERT_LOCAL, _, _CERT_DOMAIN = SHARED_CERT_EMAIL.partition("@")
_WKD = "/.well-known/openpgpkey"
_B_COLLECTION = "/taxii2/api/collections/{collection_id}"
_AMBER_MARKING = TLP_MARKING_IDS[Tlp.AMBER]


def _b_case(w: World) -> dict[str, Any]:
    return {"case_id": w.b_case["case"]}


def _b_case_org(w: World) -> dict[str, Any]:
    return {"case_id": w.b_case["case"], "organisation_id": w.b}


def _b_indicator(w: World) -> dict[str, Any]:
    return {"indicator_id": w.b_indicator}


def _b_collection(w: World) -> dict[str, Any]:
    return {"collection_id": collection_id(Audience.named(w.b))}


def _b_object(w: World) -> dict[str, Any]:
    return {**_b_collection(w), "object_id": _AMBER_MARKING}


ROUTES: dict[tuple[str, str], tuple[Call, ...]] = {
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
    ("POST", f"{API}/change-requests/{{request_id}}/withdraw"): (
        Call(path=lambda w: {"request_id": w.b_request}, body=lambda w: {"reason": "Trukket"}),
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
    # Suppression rules (the analysts' console makes them from alerts): CERT staff only.
    ("GET", f"{API}/suppressions"): (
        Call(member_admin=403, member_user=403),
        Call(query=_at_b, member_admin=403, member_user=403, note="B's rules"),
    ),
    ("POST", f"{API}/suppressions"): (
        Call(
            body=lambda w: {"organisation_id": w.b, "identifier": "2001219", "reason": "støy"},
            cert=201,
            note="a rule for B",
        ),
        Call(
            body=lambda w: {"network": "198.51.100.0/24", "reason": "støy"},
            member_admin=403,
            member_user=403,
            cert=201,
            note="a rule for every member",
        ),
    ),
    ("DELETE", f"{API}/suppressions/{{rule_id}}"): (
        Call(path=lambda w: {"rule_id": 999999}, cert=404, note="no such rule"),
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
    ("POST", f"{API}/organisations/{{organisation_id}}/exposure-imports"): (
        Call(
            path=_at_b,
            query=lambda w: {"name": "walk.xml"},
            raw=lambda w: _NMAP_WALK,
            note="B's own range: one service",
        ),
    ),
    ("GET", f"{API}/intel/suricata"): (
        Call(member_admin=200, member_user=200, note="each caller's own export"),
        Call(query=lambda w: {"audience": f"member:{w.b}"}, note="B's view"),
    ),
    ("GET", f"{API}/intel/suricata/{{file_name}}"): (
        Call(
            path=lambda w: {"file_name": "vardeild-ipv4.lst"},
            member_admin=200,
            member_user=200,
            note="each caller's own export",
        ),
        Call(
            path=lambda w: {"file_name": "vardeild-ipv4.lst"},
            query=lambda w: {"audience": f"member:{w.b}"},
            note="B's view",
        ),
    ),
    ("GET", f"{API}/vulndb/stats"): (Call(member_admin=403, member_user=403),),
    ("GET", f"{API}/vulndb/match"): (
        Call(
            query=lambda w: {"cpe": "cpe:/a:openbsd:openssh:7.4"},
            member_admin=200,
            member_user=200,
            note="public knowledge: any token may ask",
        ),
    ),
    ("POST", f"{API}/vulndb/sync"): (
        Call(
            query=lambda w: {"source": "walk"},
            member_admin=403,
            member_user=403,
            cert=422,
            note="an unknown source: refused, nothing starts",
        ),
    ),
    ("POST", f"{API}/vulndb/load"): (
        Call(
            query=lambda w: {"name": "epss.csv"},
            raw=lambda w: b"cve,epss,percentile\nCVE-2099-0001,0.1,0.5\n",
            member_admin=403,
            member_user=403,
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
    # Incident cases (issue 7): B's case, its parts, and what A may do about its own.
    ("GET", f"{API}/cases"): (_READ_OWN, Call(query=_at_b, member_admin=200, member_user=200)),
    ("POST", f"{API}/cases"): (
        Call(
            body=lambda w: {"title": "A sin sak", "classification_type": "ufo"},
            member_admin=422,
            member_user=422,
            cert=422,
            note="a member's own case would change the audit trail: an invalid one",
        ),
        Call(
            body=lambda w: {"title": "Om B", "affected_organisation_ids": [w.b]},
            member_admin=403,
            member_user=403,
            cert=201,
            note="A naming B",
        ),
    ),
    ("POST", f"{API}/cases/escalate"): (
        Call(body=lambda w: {"alert_id": w.b_alert}, member_admin=403, member_user=403, cert=201),
    ),
    ("GET", f"{API}/cases/stats"): (
        _CERT_ONLY,
        Call(query=lambda w: {"format": "csv"}, member_admin=403, member_user=403),
    ),
    ("GET", f"{API}/cases/{{case_id}}"): (Call(path=_b_case),),
    ("PATCH", f"{API}/cases/{{case_id}}"): (Call(path=_b_case, body=lambda w: {"title": "Ny"}),),
    ("POST", f"{API}/cases/{{case_id}}/status"): (
        Call(path=_b_case, body=lambda w: {"status": "triage"}),
    ),
    ("POST", f"{API}/cases/{{case_id}}/assign"): (
        Call(path=_b_case, body=lambda w: {"user_id": None}),
    ),
    ("GET", f"{API}/cases/{{case_id}}/deadlines"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/merge"): (
        Call(path=_b_case, body=lambda w: {"into_case_id": w.b_case["case"]}, cert=409),
    ),
    ("POST", f"{API}/cases/{{case_id}}/split"): (
        Call(
            path=_b_case,
            body=lambda w: {"title": "Utskilt", "journal_ids": [w.b_case["entry"]]},
            cert=201,
        ),
    ),
    ("GET", f"{API}/cases/{{case_id}}/journal"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/journal"): (
        Call(path=_b_case, body=lambda w: {"text": "A skriver"}, cert=201),
    ),
    ("GET", f"{API}/cases/{{case_id}}/tasks"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/tasks"): (
        Call(path=_b_case, body=lambda w: {"title": "Ny oppgave"}, cert=201),
    ),
    ("POST", f"{API}/cases/{{case_id}}/tasks/{{task_id}}/done"): (
        Call(
            path=lambda w: {"case_id": w.b_case["case"], "task_id": w.b_case["task"]},
            body=lambda w: {},
        ),
    ),
    ("GET", f"{API}/cases/{{case_id}}/links"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/links"): (
        Call(path=_b_case, body=lambda w: {"kind": "alert", "target_id": w.b_alert}, cert=201),
    ),
    ("DELETE", f"{API}/cases/{{case_id}}/links/{{link_id}}"): (
        Call(path=lambda w: {"case_id": w.b_case["case"], "link_id": w.b_case["link"]}, cert=204),
    ),
    ("GET", f"{API}/cases/{{case_id}}/observables"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/observables"): (
        Call(path=_b_case, body=lambda w: {"observables": [["ip", "192.0.2.44"]]}),
    ),
    ("POST", f"{API}/cases/{{case_id}}/observables/{{observable_id}}/decision"): (
        Call(
            path=lambda w: {"case_id": w.b_case["case"], "observable_id": w.b_case["observable"]},
            body=lambda w: {"promote": False},
        ),
    ),
    ("GET", f"{API}/cases/{{case_id}}/organisations"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/organisations"): (
        Call(path=_b_case, body=lambda w: {"organisation_id": w.a}, cert=201, note="A joining"),
    ),
    ("PATCH", f"{API}/cases/{{case_id}}/organisations/{{organisation_id}}"): (
        Call(path=_b_case_org, body=lambda w: {"status": "working"}),
    ),
    ("DELETE", f"{API}/cases/{{case_id}}/organisations/{{organisation_id}}"): (
        Call(path=_b_case_org, cert=204),
    ),
    ("GET", f"{API}/cases/{{case_id}}/updates"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/updates"): (
        Call(path=_b_case, body=lambda w: {"text": "Oppdatering"}, cert=201),
    ),
    ("POST", f"{API}/cases/{{case_id}}/updates/{{update_id}}/ack"): (
        Call(
            path=lambda w: {"case_id": w.b_case["case"], "update_id": w.b_case["update"]},
            cert=403,
            note="only the member it went to acknowledges",
        ),
    ),
    ("GET", f"{API}/cases/{{case_id}}/attachments"): (Call(path=_b_case),),
    ("POST", f"{API}/cases/{{case_id}}/attachments"): (
        Call(
            path=_b_case,
            query=lambda w: {"filename": "bevis.txt"},
            raw=lambda w: b"bevis fra A",
            member_admin=403,
            member_user=403,
            cert=201,
            note="members are refused by role before the body is read, alike for every case",
        ),
    ),
    ("GET", f"{API}/cases/{{case_id}}/attachments/{{attachment_id}}"): (
        Call(path=lambda w: {"case_id": w.b_case["case"], "attachment_id": w.b_case["attachment"]}),
    ),
}


# --- the world ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedWorld]:
    """The app and the world, built once per backend for this module's tests."""
    with shared_world(engine, tmp_path_factory.mktemp("tenancy") / "data") as built:
        yield built


@pytest.fixture(autouse=True)
def isolated(shared: SharedWorld) -> Iterator[None]:
    """Run the test in a savepoint of the shared world; afterwards prove the world whole."""
    with shared.isolated():
        yield
    shared.check_back()


@pytest.fixture
def platform(shared: SharedWorld, isolated: None) -> Platform:
    """The shared platform."""
    return shared.platform


@pytest.fixture
def app(shared: SharedWorld) -> FastAPI:
    """The shared app (building one takes seconds); the web conftest's `client` uses it."""
    return shared.app


@pytest.fixture
def world(shared: SharedWorld, isolated: None) -> World:
    """Members A and B as tests/support/tenancy.py describes."""
    return shared.world


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


def assert_call_shows_no_canary(answer: Response, w: World, what: str, call: Call) -> None:
    """Fail if the answer shows any of B's canaries beyond what the call sent itself."""
    sent = [call.query(w), call.body(w) if call.body else None]
    assert_no_canary(answer, w, what, sent)


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
    # The portal's pages authenticate by session cookie, never by bearer token: the page walk
    # (test_page_tenancy.py, its table in tests/support/page_walk) signs in and calls them.
    both = sorted(set(ROUTES) & set(PAGES))
    assert not both, f"routes in ROUTES and in the page walk's PAGES: {both}"
    missing = sorted(served - set(ROUTES) - set(PAGES))
    assert not missing, (
        f"add these routes to ROUTES in {__name__} (API) or to tests/support/page_walk "
        f"(pages): {missing}"
    )
    stale = sorted((set(ROUTES) | set(PAGES)) - served)
    assert not stale, f"the tables name routes the app no longer serves: {stale}"
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
            assert_call_shows_no_canary(answer, world, what, call)
            assert state_of_b(platform, world) == before, f"{what} changed B"
        if call.public or call.public_status is not None:
            answer = send(client, method, path, call, world, {})
            assert answer.status_code == (call.public_status or 200)
            assert_call_shows_no_canary(answer, world, f"{method} {path} without a token", call)
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
            assert_call_shows_no_canary(answer, world, f"GET {path} as {role}", call)
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


# --- the isolation the walk relies on ------------------------------------------------------


def test_what_a_test_changes_is_gone_before_the_next(
    client: TestClient, shared: SharedWorld
) -> None:
    """Each test runs as `shared.isolated()` runs this block's changes: whatever it changes in
    the database (B deleted, A's network removed), in the data directory or in the settings,
    the check every test's teardown makes sees it, and afterwards it is gone; what the
    platform and the app hold in memory (clock, cache, sign-in limits) is put back too."""
    w, platform = shared.world, shared.platform
    cert = w.headers["cert_admin"]
    with shared.isolated():  # a request leaves traces (a token's last use): the test's own
        b_before = state_of_b(platform, w)
        a_networks = client.get(f"{API}/organisations/{w.a}/networks", headers=cert).json()
    a_network = a_networks["items"][0]["id"]
    data_dir = platform.settings.data_dir
    held = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert held, "the world keeps files in the data directory (the portal's key, evidence)"
    changes = {
        "rows differ": lambda: client.delete(f"{API}/organisations/{w.b}", headers=cert),
        "rows differ ": lambda: client.delete(
            f"{API}/organisations/{w.a}/networks/{a_network}", headers=cert
        ),
        "files differ": lambda: (data_dir / "case-evidence" / "left-behind").write_bytes(b"x"),
        "files differ ": lambda: held[0].write_bytes(b"changed"),
        "settings differ": lambda: setattr(platform.settings, "portal_lockout_minutes", 99),
    }
    for message, change in changes.items():
        with shared.isolated():
            made = change()
            assert getattr(made, "status_code", 204) == 204, made
            with pytest.raises(AssertionError, match=message.strip()):
                shared.check_back()
        shared.check_back()
    with shared.isolated():
        shared.clock.advance(timedelta(days=30))
        platform.cached("left-behind", 1, lambda: "x")
        failures = shared.app.state.portal.signin_failures
        for _ in range(failures.limit):
            failures.record("testclient", shared.clock.now())
        shared.app.state.left_behind = True
    assert shared.clock.now() == NOW
    assert platform._cache == {}
    assert not shared.app.state.portal.signin_failures.blocked("testclient", NOW)
    assert not hasattr(shared.app.state, "left_behind")
    assert state_of_b(platform, w) == b_before
    assert client.get(f"{API}/organisations/{w.a}/networks", headers=cert).json() == a_networks
