"""What Vardeild may scan: computed from the member registry, never from what a caller asks.

A member is in scope only while it is an active member that takes the vulnerability-overview
service, and then only its registered Internet-facing networks. A requested target is accepted
when it lies wholly inside one of those networks, and refused with the reason otherwise; the
scanner is only ever handed the accepted networks, and their size is capped so that a mistyped
/8 cannot start a scan of millions of addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.core.identifiers import IPNetwork, parse_network
from vardeild.members import service as members
from vardeild.members.model import Exposure, MembershipState, ProgrammeService


class OutOfScope(ValidationFailed):
    """A requested scan target is outside what the registry allows; nothing was scanned."""


@dataclass(frozen=True)
class ScanScope:
    """The networks one member may be scanned in."""

    member_id: int
    member_name: str
    networks: tuple[IPNetwork, ...]

    def contains(self, target: IPNetwork) -> bool:
        """Return True if target lies wholly inside one of the member's networks."""
        return any(
            target.version == net.version and target.subnet_of(net)  # type: ignore[arg-type]
            for net in self.networks
        )

    def covers_address(self, address: str) -> bool:
        """Return True if the address is inside the scope."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def scope_from_snapshot(organisation: dict[str, Any]) -> tuple[ScanScope | None, str]:
    """Return the member's scope, or None and the reason it has none."""
    name = str(organisation.get("name", ""))
    state = organisation.get("membership", {}).get("state")
    if state != MembershipState.ACTIVE.value:
        return None, f"{name} is not an active member (state: {state})"
    if ProgrammeService.VULNERABILITY_OVERVIEW.value not in organisation.get("services", []):
        return None, f"{name} does not take the vulnerability-overview service"
    networks = tuple(
        parse_network(item["cidr"])
        for item in organisation.get("networks", [])
        if item.get("exposure", Exposure.INTERNET.value) == Exposure.INTERNET.value
    )
    if not networks:
        return None, f"{name} has no registered Internet-facing networks"
    return ScanScope(int(organisation["id"]), name, networks), ""


def member_scope(session: Session, principal: Principal, member_id: int) -> ScanScope:
    """Return the scope of the member; OutOfScope says why it has none, NotFound if unknown."""
    organisation = members.get_organisation_or_raise(session, principal, member_id)
    scope, why = scope_from_snapshot(organisation)
    if scope is None:
        raise OutOfScope([FieldProblem(f"member {member_id}", "scope", why)])
    return scope


def resolve_targets(scope: ScanScope, targets: list[str], *, max_addresses: int) -> list[str]:
    """Return the targets to hand nmap, canonical CIDR, each checked against the scope.

    No targets means the whole scope. Raises OutOfScope naming every refused target (and
    nothing is scanned then): malformed, outside the member's networks, or together larger
    than max_addresses."""
    chosen: list[IPNetwork] = []
    problems: list[FieldProblem] = []
    for text in targets or [str(net) for net in scope.networks]:
        try:
            network = parse_network(text)
        except ValueError as exc:
            problems.append(FieldProblem(f"target {text!r}", "target", str(exc)))
            continue
        if not scope.contains(network):
            registered = ", ".join(str(n) for n in scope.networks)
            problems.append(
                FieldProblem(
                    f"target {text!r}",
                    "target",
                    f"is outside the registered Internet-facing networks of {scope.member_name} "
                    f"({registered}); refused",
                )
            )
            continue
        chosen.append(network)
    total = sum(net.num_addresses for net in chosen)
    if total > max_addresses:
        problems.append(
            FieldProblem(
                "targets",
                "target",
                f"{total} addresses is more than the {max_addresses} one scan may cover "
                "(setting exposure_scan_max_addresses); scan smaller ranges",
            )
        )
    if problems:
        raise OutOfScope(problems)
    return [str(net) for net in chosen]
