"""Incident cases in the portal: the CERT's case list and case pages (journal, tasks,
involved organisations, coordinated updates, deadlines), and the members' view of the cases
they are involved in."""

from __future__ import annotations

from vardeild.web.pages.context import page_router

router = page_router()
