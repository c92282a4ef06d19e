"""The analysts' console: the dashboard (charts of alerts by member and classification, open
items, sensor health), the member registry (search, detail, change requests to approve), alerts
(filters, detail, suppress, escalate) and the audit log. CERT staff only."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
