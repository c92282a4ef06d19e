"""The page walk's table for src/vardeild/web/pages/public.py: the start page, the report
form, the key page and the RFC 2350 description, the same for everyone."""

from __future__ import annotations

from support.page_walk.model import Table, everyone

# The walk posts a report with the honeypot filled: answered as taken (200) and stored by
# nobody, so that no caller changes anything (test_public_report.py stores real ones).
_TRAP = {
    "name": "Walk Robot",
    "email": "robot@walk.example",
    "what_happened": "A walk through every page",
    "website": "http://spam.example",
}

PAGES: Table = {
    ("GET", "/"): (everyone(200),),
    ("GET", "/report"): (everyone(200),),
    ("POST", "/report"): (everyone(200, form=lambda w: _TRAP, note="honeypot: nothing stored"),),
    ("GET", "/key"): (everyone(200),),
    ("GET", "/rfc2350"): (everyone(200),),
    ("GET", "/rfc2350.txt"): (everyone(200),),
}
