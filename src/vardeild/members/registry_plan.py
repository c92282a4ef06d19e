"""What an import would do, organisation by organisation and field by field.

The plan is what `--dry-run` shows and what an applied import reports. Lists are compared by
their entries' natural keys (CIDR, AS number, domain, e-mail), not by position, so a file that
lists the same things in another order changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from vardeild.members.model import (
    AsnSpec,
    ContactSpec,
    DomainSpec,
    Exposure,
    NetworkSpec,
    OrganisationSpec,
)
from vardeild.members.registry_csv import contact_entry


@dataclass(frozen=True)
class FieldChange:
    """One changed field: a value before and after, or list entries added and removed.

    `field` is the interchange name, with the entry for a field of a list entry, e.g.
    ``contacts[soc@example.no].phone`` or ``networks[192.0.2.0/24].exposure``.
    """

    field: str
    before: Any = None
    after: Any = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        """Return True if the change lists entries added and removed."""
        return bool(self.added or self.removed)

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-ready data."""
        if self.is_list:
            return {"field": self.field, "added": list(self.added), "removed": list(self.removed)}
        return {"field": self.field, "before": self.before, "after": self.after}

    def __str__(self) -> str:
        if self.is_list:
            parts = [f"+ {entry}" for entry in self.added] + [f"- {e}" for e in self.removed]
            return f"{self.field}: {', '.join(parts)}"
        return f"{self.field}: {self.before!r} -> {self.after!r}"


@dataclass(frozen=True)
class OrganisationDiff:
    """How an import changes one existing organisation."""

    organisation_id: int
    name: str
    record: str
    changes: tuple[FieldChange, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as JSON-ready data."""
        return {
            "organisation_id": self.organisation_id,
            "name": self.name,
            "record": self.record,
            "changes": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class ImportPlan:
    """What an import creates, changes and leaves alone; `applied` says whether it was written."""

    source: str
    created: tuple[str, ...] = ()
    updated: tuple[OrganisationDiff, ...] = ()
    unchanged: int = 0
    applied: bool = False

    @property
    def has_changes(self) -> bool:
        """Return True if applying the import would change the registry."""
        return bool(self.created or self.updated)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready data (the CLI's --json and the API's answer)."""
        return {
            "source": self.source,
            "applied": self.applied,
            "has_changes": self.has_changes,
            "created": list(self.created),
            "updated": [diff.to_dict() for diff in self.updated],
            "unchanged": self.unchanged,
        }


def _scoped_text(value: str, exposure: Exposure, description: str) -> str:
    suffix = " (internal)" if exposure is Exposure.INTERNAL else ""
    return f"{value}{suffix}{f' {description}' if description else ''}"


def _key_digest(key: str) -> str:
    """Return how a diff shows a key: enough to tell two apart, without the whole armour."""
    if not key:
        return ""
    return f"key sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


def _entry_changes(
    kind: str, key: str, before: dict[str, Any], after: dict[str, Any]
) -> list[FieldChange]:
    return [
        FieldChange(f"{kind}[{key}].{name}", before[name], after[name])
        for name in before
        if before[name] != after[name]
    ]


def _keyed_list_changes(
    kind: str,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    shown: dict[str, str],
) -> list[FieldChange]:
    added = tuple(shown[key] for key in after if key not in before)
    removed = tuple(shown[key] for key in before if key not in after)
    changes = [FieldChange(kind, added=added, removed=removed)] if added or removed else []
    for key in after:
        if key in before:
            changes += _entry_changes(kind, key, before[key], after[key])
    return changes


def _entry_value(item: NetworkSpec | AsnSpec | DomainSpec) -> str:
    if isinstance(item, NetworkSpec):
        return item.cidr
    if isinstance(item, AsnSpec):
        return f"AS{item.asn}"
    return item.name


def _scoped(items: tuple[NetworkSpec | AsnSpec | DomainSpec, ...]) -> dict[str, dict[str, Any]]:
    return {
        _entry_value(item): {"exposure": item.exposure.value, "description": item.description}
        for item in items
    }


def _contacts(items: tuple[ContactSpec, ...]) -> dict[str, dict[str, Any]]:
    return {
        c.email: {
            "name": c.name,
            "phone": c.phone,
            # Roles are a set: the order they are written in means nothing.
            "roles": ",".join(sorted(r.value for r in c.roles)),
            "language": c.language.value,
            "pgp_key": _key_digest(c.pgp_key),
        }
        for c in items
    }


def diff_specs(
    before: OrganisationSpec, after: OrganisationSpec, *, same_parent: bool
) -> tuple[FieldChange, ...]:
    """Return the field-level changes from before to after; same_parent says the parent
    references, however written, name the same organisation."""
    changes: list[FieldChange] = []
    scalars = {
        "name": (before.name, after.name),
        "short_name": (before.short_name, after.short_name),
        "org_number": (before.org_number, after.org_number),
        "sector": (before.sector.value, after.sector.value),
        "criticality": (before.criticality.value, after.criticality.value),
        "membership.state": (before.membership.state.value, after.membership.state.value),
    }
    for name in ("applied_on", "joined_on", "suspended_on", "left_on"):
        old, new = getattr(before.membership, name), getattr(after.membership, name)
        scalars[f"membership.{name}"] = (
            old.isoformat() if old is not None else None,
            new.isoformat() if new is not None else None,
        )
    if not same_parent:
        scalars["parent"] = (before.parent, after.parent)
    scalars["notes"] = (before.notes, after.notes)
    changes += [FieldChange(k, old, new) for k, (old, new) in scalars.items() if old != new]

    old_services = [s.value for s in before.services]
    new_services = [s.value for s in after.services]
    added = tuple(s for s in new_services if s not in old_services)
    removed = tuple(s for s in old_services if s not in new_services)
    if added or removed:
        changes.append(FieldChange("services", added=added, removed=removed))

    for kind in ("networks", "asns", "domains"):
        old_items, new_items = _scoped(getattr(before, kind)), _scoped(getattr(after, kind))
        shown = {
            key: _scoped_text(key, Exposure(v["exposure"]), v["description"])
            for key, v in {**old_items, **new_items}.items()
        }
        changes += _keyed_list_changes(kind, old_items, new_items, shown)
    shown_contacts = {c.email: contact_entry(c) for c in (*before.contacts, *after.contacts)}
    changes += _keyed_list_changes(
        "contacts", _contacts(before.contacts), _contacts(after.contacts), shown_contacts
    )
    return tuple(changes)
