"""Notices to members: policies, rendering, the outbox and digests.

The platform's one way to tell a member something. Alerts become notices here; later domains
(vulnerability overview, advisories, incidents) queue theirs through `queue_notice`.
"""
