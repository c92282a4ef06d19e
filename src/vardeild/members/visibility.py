"""What a principal may see of a record it may read.

An organisation's notes are the CERT's own (`organisations.notes` is "CERT-internal notes"), so
members get them neither from the organisation nor from its audit trail. The registry's read
services apply this themselves; adapters that show audit entries call `audit_entry_for`.
"""

from __future__ import annotations

from typing import Any

from vardeild.access.model import Principal
from vardeild.audit.model import AuditEntry

_CERT_ONLY_FIELDS = ("notes",)


def organisation_for(principal: Principal, snapshot: dict[str, Any]) -> dict[str, Any]:
    """Return the snapshot as the principal may see it."""
    if principal.is_cert:
        return snapshot
    return {**snapshot, **dict.fromkeys(_CERT_ONLY_FIELDS)}


def _state_for(principal: Principal, state: dict[str, Any] | None) -> dict[str, Any] | None:
    if state is None or principal.is_cert:
        return state
    return {key: value for key, value in state.items() if key not in _CERT_ONLY_FIELDS}


def audit_entry_for(principal: Principal, entry: AuditEntry) -> dict[str, Any]:
    """Return an audit entry as the principal may see it."""
    before, after = entry.before, entry.after
    if entry.entity_type == "organisation":
        before, after = _state_for(principal, before), _state_for(principal, after)
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "organisation_id": entry.organisation_id,
        "before": before,
        "after": after,
        "note": entry.note,
    }
