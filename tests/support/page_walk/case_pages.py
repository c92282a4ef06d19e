"""The page walk's table for src/vardeild/web/pages/case_pages.py: the CERT's case pages and
the members' view of cases.

Called with B's case (tests/support/tenancy.py: B involved as affected, every part holding
B's canaries), A's people get 404 for the case and 403 for the CERT's lists. The changes run
in the walk's order of roles (cert_readonly, cert_analyst, cert_admin): where the analyst's
change makes the admin's the same change again, the admin gets 409 (or 404 for what moved).
"""

from __future__ import annotations

from typing import Any

from support.page_walk.model import REDIRECT, Form, PageCall, Params, Table, signed_in
from support.tenancy import World

_CASE = lambda w: {"case_id": w.b_case["case"]}  # noqa: E731 - a table of one-liners


def _part(name: str, key: str) -> Params:
    return lambda w: {"case_id": w.b_case["case"], key: w.b_case[name]}


def _change(
    form: Form, *, admin: int = REDIRECT, analyst: int | None = None, note: str = ""
) -> PageCall:
    """A change to B's case: the CERT's editors make it, read-only staff and A's people not."""
    return PageCall(
        path=_CASE, form=form, cert_admin=admin, cert_analyst=analyst, cert_readonly=403, note=note
    )


def _cert_list(**more: Any) -> PageCall:
    return PageCall(member_admin=403, member_user=403, **more)


def _b_org(w: World) -> dict[str, int]:
    return {"case_id": w.b_case["case"], "organisation_id": w.b}


PAGES: Table = {
    ("GET", "/console/cases"): (
        _cert_list(note="the CERT's list"),
        _cert_list(query=lambda w: {"overdue": "1", "open": "1", "q": "sak"}, note="filtered"),
    ),
    ("POST", "/console/cases"): (
        PageCall(
            form=lambda w: {"title": "Walk-sak", "classification_type": "phishing"},
            member_admin=403,
            member_user=403,
            cert_admin=REDIRECT,
            cert_readonly=403,
            note="open a case",
        ),
    ),
    ("GET", "/console/cases/stats"): (_cert_list(),),
    ("GET", "/console/cases/stats.csv"): (_cert_list(query=lambda w: {"period": "quarter"}),),
    ("GET", "/console/cases/{case_id}"): (PageCall(path=_CASE, note="B's case"),),
    ("POST", "/console/cases/{case_id}/status"): (
        _change(lambda w: {"status": "triage"}, admin=409, analyst=REDIRECT, note="to triage"),
    ),
    ("POST", "/console/cases/{case_id}/assign"): (_change(lambda w: {"user": ""}),),
    ("POST", "/console/cases/{case_id}/facts"): (_change(lambda w: {"severity": "high"}),),
    ("POST", "/console/cases/{case_id}/note"): (
        _change(lambda w: {"text": "walk", "visibility": "shared"}),
    ),
    ("POST", "/console/cases/{case_id}/tasks"): (_change(lambda w: {"title": "walk"}),),
    ("POST", "/console/cases/{case_id}/tasks/{task_id}/done"): (
        PageCall(
            path=_part("task", "task_id"),
            form=lambda w: {"done": "1"},
            cert_admin=REDIRECT,
            cert_readonly=403,
        ),
    ),
    ("POST", "/console/cases/{case_id}/links"): (
        _change(
            lambda w: {"kind": "alert", "target_id": str(w.b_alert)},
            admin=409,
            analyst=REDIRECT,
            note="B's alert (linked by the analyst first)",
        ),
    ),
    ("POST", "/console/cases/{case_id}/observables/{observable_id}"): (
        PageCall(
            path=_part("observable", "observable_id"),
            form=lambda w: {"decision": "dismiss"},
            cert_admin=409,
            cert_analyst=REDIRECT,
            cert_readonly=403,
            note="dismissed by the analyst first",
        ),
    ),
    ("POST", "/console/cases/{case_id}/organisations"): (
        _change(
            lambda w: {"organisation_id": str(w.a), "role": "affected"},
            admin=409,
            analyst=REDIRECT,
            note="A into B's case (by the analyst first)",
        ),
    ),
    ("POST", "/console/cases/{case_id}/organisations/{organisation_id}"): (
        PageCall(
            path=_b_org,
            form=lambda w: {"status": "working"},
            cert_admin=REDIRECT,
            cert_readonly=403,
        ),
    ),
    ("POST", "/console/cases/{case_id}/updates"): (_change(lambda w: {"text": "walk"}),),
    ("POST", "/console/cases/{case_id}/merge"): (
        _change(lambda w: {"into": str(w.b_case["case"])}, admin=409, note="into itself"),
    ),
    ("POST", "/console/cases/{case_id}/split"): (
        _change(
            lambda w: {"title": "walk", "entries": str(w.b_case["entry"])},
            admin=404,
            analyst=REDIRECT,
            note="the entry moved with the analyst's split",
        ),
    ),
    ("POST", "/console/cases/{case_id}/attachments"): (
        # The walk posts plain forms: an editor's form without a file is refused (422); the
        # upload itself is tested in tests/integration/incidents/test_case_evidence_page.py.
        _change(lambda w: {"visibility": "shared"}, admin=422, note="evidence without a file"),
    ),
    ("GET", "/console/cases/{case_id}/attachments/{attachment_id}"): (
        PageCall(path=_part("attachment", "attachment_id")),
    ),
    ("POST", "/console/alerts/{alert_id}/escalate"): (
        PageCall(
            path=lambda w: {"alert_id": w.b_alert},
            form=lambda w: {"title": "walk"},
            member_admin=403,
            member_user=403,
            cert_readonly=403,
            cert_analyst=REDIRECT,
            cert_admin=409,
            note="B's alert (escalated by the analyst first)",
        ),
    ),
    ("GET", "/portal/cases"): (signed_in(200, note="one's own (CERT staff: all)"),),
    ("GET", "/portal/cases/{case_id}"): (PageCall(path=_CASE, note="B's case"),),
    ("POST", "/portal/cases/{case_id}/note"): (_change(lambda w: {"text": "walk"}),),
    ("POST", "/portal/cases/{case_id}/updates/{update_id}/ack"): (
        PageCall(
            path=_part("update", "update_id"),
            form=lambda w: {},
            cert_admin=403,
            note="only the member it went to acknowledges",
        ),
    ),
    ("GET", "/portal/cases/{case_id}/attachments/{attachment_id}"): (
        PageCall(path=_part("attachment", "attachment_id")),
    ),
}
