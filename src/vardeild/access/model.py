"""Roles, principals and the one permission check that the API, the CLI and (later) the
portal's pages all call.

A member is never told that another member's record exists: where a member principal asks for a
foreign organisation, the check raises NotFound, not PermissionDenied, so the answer is the same
as for a record that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vardeild.core.errors import NotFound, PermissionDenied, ValidationFailed


class Role(StrEnum):
    """The roles a user or API token can hold."""

    CERT_ADMIN = "cert_admin"
    CERT_ANALYST = "cert_analyst"
    CERT_READONLY = "cert_readonly"
    MEMBER_ADMIN = "member_admin"
    MEMBER_USER = "member_user"

    @property
    def is_cert(self) -> bool:
        """Return True for the CERT's own staff roles."""
        return self in _CERT_ROLES


_CERT_ROLES = {Role.CERT_ADMIN, Role.CERT_ANALYST, Role.CERT_READONLY}


class Action(StrEnum):
    """Everything a principal can be allowed to do."""

    READ = "read"  # an organisation's registry entry and what hangs off it
    LIST_ALL = "list_all"  # the whole constituency, conflicts, whois of foreign space
    EDIT = "edit"  # change the registry directly
    PROPOSE = "propose"  # propose a change to one's own organisation
    DECIDE = "decide"  # approve or reject change requests
    READ_AUDIT = "read_audit"
    IMPORT = "import"
    EXPORT = "export"
    MANAGE_TOKENS = "manage_tokens"


# CERT roles act on any organisation; member roles only on their own (checked below).
_GRANTS: dict[Role, frozenset[Action]] = {
    Role.CERT_ADMIN: frozenset(Action),
    Role.CERT_ANALYST: frozenset(Action) - {Action.MANAGE_TOKENS},
    Role.CERT_READONLY: frozenset({Action.READ, Action.LIST_ALL, Action.READ_AUDIT, Action.EXPORT}),
    Role.MEMBER_ADMIN: frozenset(
        {Action.READ, Action.PROPOSE, Action.READ_AUDIT, Action.MANAGE_TOKENS}
    ),
    Role.MEMBER_USER: frozenset({Action.READ}),
}


@dataclass(frozen=True)
class Principal:
    """Who is acting: a named actor with a role, and for member roles, its organisation."""

    actor: str
    role: Role
    organisation_id: int | None = None

    def __post_init__(self) -> None:
        if self.role.is_cert and self.organisation_id is not None:
            raise ValueError("a CERT principal belongs to no member organisation")
        if not self.role.is_cert and self.organisation_id is None:
            raise ValueError("a member principal needs its organisation")

    @property
    def is_cert(self) -> bool:
        """Return True if the principal is CERT staff."""
        return self.role.is_cert


SYSTEM = Principal(actor="system", role=Role.CERT_ADMIN)


def authorize(principal: Principal, action: Action, organisation_id: int | None = None) -> None:
    """Return if principal may do action on organisation_id (None: on no one organisation).

    Raises NotFound when a member reaches for another organisation, PermissionDenied when the
    role lacks the action.
    """
    if (
        not principal.is_cert
        and organisation_id is not None
        and organisation_id != principal.organisation_id
    ):
        raise NotFound(f"organisation {organisation_id} not found")
    if action not in _GRANTS[principal.role]:
        raise PermissionDenied(f"role {principal.role.value} may not {action.value}")
    if not principal.is_cert and organisation_id is None and action is not Action.READ:
        # A member action always concerns its own organisation; one without an organisation
        # would reach across the constituency.
        raise PermissionDenied(f"role {principal.role.value} may not {action.value} here")


def list_scope(
    principal: Principal,
    requested: int | None,
    *,
    cert_action: Action,
    member_action: Action,
) -> tuple[int | None, bool]:
    """Authorize a list that may be filtered by organisation (requested; None: every one) and
    return the organisation to filter by (None: every one) and whether the list can hold
    anything. A member's list covers its own organisation only; one filtered for another
    organisation answers as an empty list, not NotFound (a filter names no record)."""
    if principal.is_cert:
        authorize(principal, cert_action)
        return requested, True
    authorize(principal, member_action, principal.organisation_id)
    if requested is not None and requested != principal.organisation_id:
        return None, False
    return principal.organisation_id, True


def may(principal: Principal, action: Action, organisation_id: int | None = None) -> bool:
    """Return True if authorize would let the principal through."""
    try:
        authorize(principal, action, organisation_id)
    except (NotFound, PermissionDenied):
        return False
    return True


def parse_role(text: str, *, record: str) -> Role:
    """Return the role text names; ValidationFailed naming record when it names none."""
    try:
        return Role(text.strip())
    except ValueError:
        raise ValidationFailed.one(record, "role", f"{text[:40]!r} is not a role") from None
