"""The page walk's table for src/vardeild/web/pages/intake_pages.py: reports from the public
form. The world's report was made by B's people and holds B's canaries: no member may open
it; CERT read-only sees the list but opens no report."""

from __future__ import annotations

from support.page_walk.model import PageCall, Table

PAGES: Table = {
    ("GET", "/console/reports"): (
        PageCall(member_admin=403, member_user=403, note="the list: CERT staff only"),
    ),
    ("GET", "/console/reports/{report_id}"): (
        PageCall(
            path=lambda w: {"report_id": w.b_report}, cert_readonly=403, note="B's people's report"
        ),
        PageCall(
            path=lambda w: {"report_id": 999_999},
            cert_admin=404,
            cert_readonly=403,
            note="no such report",
        ),
    ),
    ("POST", "/console/reports/{report_id}/status"): (
        PageCall(
            path=lambda w: {"report_id": w.b_report},
            form=lambda w: {"status": "triaged"},
            cert_admin=303,
            cert_readonly=403,
            note="to triaged (again: no change)",
        ),
    ),
}
