"""The page walk's table for the analysts' console (src/vardeild/web/pages/console*.py).

CERT staff only: a member gets 403 for the console's lists and 404 for B's objects (as the API
answers a member's token). Read-only staff see everything and change nothing (403). Where a
change goes through once, the analyst (walked before the admin) makes it and the admin then
finds it done (409)."""

from __future__ import annotations

from support.page_walk.model import REDIRECT, PageCall, Table
from support.tenancy import World

_STAFF_LIST = {"member_admin": 403, "member_user": 403}
_NO_RULE = {"rule_id": 999999}


def _b_alert(w: World) -> dict[str, int]:
    return {"alert_id": w.b_alert}


def _b_request(w: World) -> dict[str, int]:
    return {"request_id": w.b_request}


PAGES: Table = {
    ("GET", "/console"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"days": 7}, **_STAFF_LIST, note="a week"),
    ),
    ("GET", "/console/members"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"q": w.b_ip}, **_STAFF_LIST, note="who owns B's address"),
    ),
    ("GET", "/console/members/{organisation_id}"): (
        PageCall(path=lambda w: {"organisation_id": w.b}, note="B's entry"),
    ),
    ("GET", "/console/change-requests"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"status": "pending"}, **_STAFF_LIST, note="pending"),
    ),
    ("GET", "/console/change-requests/{request_id}"): (
        PageCall(path=_b_request, note="B's request"),
    ),
    ("POST", "/console/change-requests/{request_id}/approve"): (
        PageCall(
            path=_b_request,
            form=lambda w: {"reason": "ok"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's request: the analyst approves, the admin finds it decided",
        ),
    ),
    ("POST", "/console/change-requests/{request_id}/reject"): (
        PageCall(
            path=_b_request,
            form=lambda w: {"reason": "nei"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's request: the analyst rejects, the admin finds it decided",
        ),
    ),
    ("GET", "/console/alerts"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"member": w.b, "severity": "low"}, **_STAFF_LIST, note="B's"),
    ),
    ("GET", "/console/alerts/{alert_id}"): (PageCall(path=_b_alert, note="B's alert"),),
    ("POST", "/console/alerts/{alert_id}/acknowledge"): (
        PageCall(
            path=_b_alert,
            form=lambda w: {"note": "sett"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's alert: acknowledged once",
        ),
    ),
    ("POST", "/console/alerts/{alert_id}/close"): (
        PageCall(
            path=_b_alert,
            form=lambda w: {"reason": "resolved"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's alert: closed once",
        ),
    ),
    ("POST", "/console/alerts/{alert_id}/reopen"): (
        PageCall(
            path=_b_alert,
            form=lambda w: {},
            cert_readonly=403,
            cert_admin=409,
            note="B's alert is open: nothing to reopen",
        ),
    ),
    ("POST", "/console/alerts/{alert_id}/comment"): (
        PageCall(
            path=_b_alert,
            form=lambda w: {"note": "en kommentar"},
            cert_readonly=403,
            cert_admin=REDIRECT,
        ),
    ),
    ("POST", "/console/alerts/{alert_id}/suppress"): (
        PageCall(
            path=_b_alert,
            form=lambda w: {"days": "7", "reason": "kjent skanner"},
            cert_readonly=403,
            cert_admin=REDIRECT,
            note="alerts like B's",
        ),
    ),
    ("GET", "/console/suppressions"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"ended": "true"}, **_STAFF_LIST, note="ended ones too"),
    ),
    ("POST", "/console/suppressions/{rule_id}/end"): (
        PageCall(
            path=lambda w: _NO_RULE,
            form=lambda w: {},
            **_STAFF_LIST,
            cert_readonly=403,
            cert_admin=404,
            note="no such rule",
        ),
    ),
    ("GET", "/console/audit"): (
        PageCall(**_STAFF_LIST),
        PageCall(query=lambda w: {"organisation": w.b}, **_STAFF_LIST, note="B's trail"),
    ),
}
