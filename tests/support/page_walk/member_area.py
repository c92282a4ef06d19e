"""The page walk's table for the members' pages: src/vardeild/web/pages/member_area.py (the
organisation and its change requests), member_alerts.py and member_notices.py.

Called with B's ids, A's member admin and member user get 404 (as for what does not exist) and
CERT staff what their role allows. The actions on B's alert run in the walk's order of roles
(cert_readonly, cert_analyst, cert_admin): the analyst acknowledges it, so the admin, coming
after, finds it acknowledged already (409).
"""

from __future__ import annotations

from support.page_walk.model import REDIRECT, PageCall, Table, signed_in

_B = lambda w: {"organisation": w.b}  # noqa: E731 - a table of one-liners
_PROPOSAL = {"kind": "domains", "operation": "add", "value": "walk-forslag.example.no"}

PAGES: Table = {
    ("GET", "/portal/organisation"): (
        PageCall(query=_B, note="B's organisation"),
        signed_in(
            200, cert_admin=404, note="one's own (CERT staff: none chosen, 404 asks to choose)"
        ),
    ),
    ("GET", "/portal/change-requests"): (
        PageCall(query=_B, note="B's requests"),
        signed_in(200, note="one's own (CERT staff: all)"),
    ),
    ("GET", "/portal/change-requests/{request_id}"): (
        PageCall(path=lambda w: {"request_id": w.b_request}, note="B's request"),
    ),
    ("POST", "/portal/change-requests"): (
        PageCall(
            form=lambda w: {"organisation": str(w.b), **_PROPOSAL},
            cert_admin=REDIRECT,
            cert_readonly=403,
            note="a change to B",
        ),
    ),
    ("POST", "/portal/change-requests/{request_id}/withdraw"): (
        PageCall(
            path=lambda w: {"request_id": w.b_request},
            form=lambda w: {"reason": "walk"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's request (the analyst withdraws it first)",
        ),
    ),
    ("GET", "/portal/alerts"): (
        PageCall(query=_B, note="B's alerts"),
        signed_in(200, note="one's own (CERT staff: all)"),
    ),
    ("GET", "/portal/alerts/{alert_id}"): (
        PageCall(path=lambda w: {"alert_id": w.b_alert}, note="B's alert"),
    ),
    ("POST", "/portal/alerts/{alert_id}/acknowledge"): (
        PageCall(
            path=lambda w: {"alert_id": w.b_alert},
            form=lambda w: {"note": "walk"},
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's alert (the analyst acknowledges it first)",
        ),
    ),
    ("POST", "/portal/alerts/{alert_id}/comment"): (
        PageCall(
            path=lambda w: {"alert_id": w.b_alert},
            form=lambda w: {"note": "walk"},
            cert_admin=REDIRECT,
            cert_readonly=403,
            note="B's alert",
        ),
    ),
    ("GET", "/portal/notices"): (
        PageCall(query=_B, note="B's notices"),
        signed_in(200, note="one's own (CERT staff: all)"),
    ),
    ("GET", "/portal/notices/{notice_id}"): (
        PageCall(path=lambda w: {"notice_id": w.b_notice}, note="B's notice"),
    ),
    ("POST", "/portal/notices/{notice_id}/acknowledge"): (
        PageCall(
            path=lambda w: {"notice_id": w.b_notice},
            form=lambda w: {},
            cert_admin=REDIRECT,
            cert_readonly=403,
            note="B's notice",
        ),
    ),
}
