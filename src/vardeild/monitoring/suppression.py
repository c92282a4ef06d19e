"""Suppression rules: known-benign events a member or the CERT does not want alerts for.

A rule names any combination of a member (either side of the event), a classification
identifier or type (`sid:1:2001219`, `scanner`), a network (either side's address inside it)
and an indicator (the event matched it); every condition given must hold. A suppressed event is
not stored and folds into no alert (so no notice is made for it either), but it is counted
(`ingest_counters`, outcome `suppressed`) and against the rule (`hit_count`, `last_hit_at`):
nothing disappears without a trace. Rules expire at `expires_at`; ending one early sets it to
now and keeps the rule and its counts (`end_rule`); adding, ending and removing are audited.

The analysts' console makes rules from an alert (`suppress_like_alert`: "alerts like this, for
N days"). The pipeline reads the rules in force once per batch (`load_suppressor`), and a batch
with no rule in force pays nothing per event.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from vardeild.core.identifiers import parse_network
from vardeild.core.text import clean_text
from vardeild.monitoring.alerts import get_alert_or_raise
from vardeild.monitoring.model import Event
from vardeild.monitoring.tables import SuppressionRuleRow

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class _Rule:
    id: int
    member_id: int | None
    identifier: str | None
    network: Network | None
    indicator_id: int | None


class Suppressor:
    """The active rules, compiled for the pipeline: `match` costs nothing when no rule
    concerns the event's members."""

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._by_member: dict[int | None, list[_Rule]] = {}
        for rule in rules:
            self._by_member.setdefault(rule.member_id, []).append(rule)
        self._any_member = self._by_member.get(None, [])

    def __bool__(self) -> bool:
        return bool(self._by_member)

    def concerns(self, members: Iterable[int | None], *, classification: tuple[str, str]) -> bool:
        """Return whether any rule could suppress an event that touches these members, has
        this classification (identifier, type) and matched no indicator: the Shadowserver
        lane asks, for its batch's rows, which share a classification and match nothing. A
        rule naming a network counts as one that could (the lane does not test addresses)."""
        touched = {member for member in members if member is not None}
        rules = [*self._any_member, *(r for m in touched for r in self._by_member.get(m, ()))]
        return any(
            rule.indicator_id is None
            and (rule.identifier is None or rule.identifier in classification)
            for rule in rules
        )

    def match(self, event: Event) -> int | None:
        """Return the id of the first rule (lowest id) that suppresses event, else None."""
        get = self._by_member.get
        candidates = list(self._any_member)
        for member in {event.destination_member, event.source_member}:
            if member is not None:
                candidates.extend(get(member, ()))
        for rule in sorted(candidates, key=lambda r: r.id):
            if rule.identifier is not None and rule.identifier not in (
                event.classification_identifier,
                event.classification_type,
            ):
                continue
            if rule.indicator_id is not None and rule.indicator_id not in event.matched_indicators:
                continue
            if rule.network is not None and not _in_network(event, rule.network):
                continue
            return rule.id
        return None


def _in_network(event: Event, network: Network) -> bool:
    for ip in (event.source_ip, event.destination_ip):
        if ip:
            try:
                if ipaddress.ip_address(ip.partition("%")[0]) in network:
                    return True
            except ValueError:
                continue
    return False


def load_suppressor(session: Session, *, now: datetime) -> Suppressor:
    """Return the rules in force at now, compiled."""
    table = SuppressionRuleRow
    rows = session.execute(
        select(
            table.id, table.member_id, table.identifier, table.network, table.indicator_id
        ).where(or_(table.expires_at.is_(None), table.expires_at > now))
    )
    return Suppressor(
        [
            _Rule(
                id=row.id,
                member_id=row.member_id,
                identifier=row.identifier,
                network=parse_network(row.network) if row.network else None,
                indicator_id=row.indicator_id,
            )
            for row in rows
        ]
    )


# --- the use cases -----------------------------------------------------------------------------


def normalise_identifier(value: str) -> str:
    """Return a classification identifier as events carry it: a bare Suricata signature id
    (`2001219`) is written `sid:1:2001219`, as the EVE parser names generator 1's rules."""
    text = value.strip()
    return f"sid:1:{text}" if text.isdigit() else text


def rule_dict(row: SuppressionRuleRow) -> dict[str, Any]:
    """Return a rule as JSON-ready data."""
    return {
        "id": row.id,
        "member_id": row.member_id,
        "identifier": row.identifier,
        "network": row.network,
        "indicator_id": row.indicator_id,
        "reason": row.reason,
        "author": row.author,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "hit_count": row.hit_count,
        "last_hit_at": row.last_hit_at,
    }


def add_rule(
    session: Session,
    principal: Principal,
    *,
    clock: Clock,
    reason: str,
    member_id: int | None = None,
    identifier: str | None = None,
    network: str | None = None,
    indicator_id: int | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """Store a suppression rule and return it; ValidationFailed lists every problem (no
    condition, no reason, a bad network, an expiry in the past)."""
    authorize(principal, Action.EDIT, member_id)
    record = "suppression rule"
    problems: list[FieldProblem] = []
    if member_id is None and not identifier and not network and indicator_id is None:
        problems.append(
            FieldProblem(
                record,
                "",
                "names no condition; give a member, signature, network "
                "or indicator (a rule for everything would hide every event)",
            )
        )
    try:
        why = clean_text(reason, max_length=1000, multiline=True)
        if not why:
            problems.append(FieldProblem(record, "reason", "is required"))
    except ValueError as exc:
        problems.append(FieldProblem(record, "reason", str(exc)))
    canonical_network = None
    if network:
        try:
            canonical_network = str(parse_network(network))
        except ValueError as exc:
            problems.append(FieldProblem(record, "network", str(exc)))
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        problems.append(FieldProblem(record, "expires_at", "is in the past"))
    ident = normalise_identifier(identifier) if identifier else None
    if ident is not None:
        try:
            ident = clean_text(ident, max_length=200)
        except ValueError as exc:
            problems.append(FieldProblem(record, "identifier", str(exc)))
    if problems:
        raise ValidationFailed(problems)
    row = SuppressionRuleRow(
        member_id=member_id,
        identifier=ident,
        network=canonical_network,
        indicator_id=indicator_id,
        reason=why,
        author=principal.actor,
        created_at=now,
        expires_at=expires_at,
        hit_count=0,
        last_hit_at=None,
    )
    session.add(row)
    session.flush()
    after = rule_dict(row)
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="suppression_rule.create",
        entity_type="suppression_rule",
        entity_id=row.id,
        organisation_id=member_id,
        before=None,
        after=_audit_form(after),
        note=why,
    )
    return after


def list_rules(
    session: Session, principal: Principal, *, member_id: int | None = None
) -> list[dict[str, Any]]:
    """Return the rules, newest first (expired ones too: their counts still tell)."""
    authorize(principal, Action.LIST_ALL)
    query = select(SuppressionRuleRow).order_by(SuppressionRuleRow.id.desc())
    if member_id is not None:
        query = query.where(SuppressionRuleRow.member_id == member_id)
    return [rule_dict(row) for row in session.scalars(query)]


def remove_rule(
    session: Session, principal: Principal, rule_id: int, *, clock: Clock, note: str = ""
) -> dict[str, Any]:
    """Delete the rule and return it as it was; NotFound if there is none."""
    _may_change_rules(principal)
    row = session.get(SuppressionRuleRow, rule_id)
    if row is None:
        raise NotFound(f"suppression rule {rule_id} not found")
    authorize(principal, Action.EDIT, row.member_id)
    before = rule_dict(row)
    session.delete(row)
    session.flush()
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="suppression_rule.delete",
        entity_type="suppression_rule",
        entity_id=rule_id,
        organisation_id=before["member_id"],
        before=_audit_form(before),
        after=None,
        note=note,
    )
    return before


def _may_change_rules(principal: Principal) -> None:
    # CERT staff without the right are refused before the rule is looked up, so read-only
    # staff learn 403 whatever the id; a member still finds another member's rule NotFound.
    if principal.is_cert:
        authorize(principal, Action.EDIT)


def is_active(rule: dict[str, Any], now: datetime) -> bool:
    """Return True if the rule (as rule_dict gives it) is in force at now."""
    expires = rule["expires_at"]
    return expires is None or expires > now


def end_rule(
    session: Session, principal: Principal, rule_id: int, *, clock: Clock, note: str = ""
) -> dict[str, Any]:
    """End the rule now (it stays listed, with its counts) and return it; NotFound if there is
    none, Conflict if it has already ended."""
    _may_change_rules(principal)
    row = session.get(SuppressionRuleRow, rule_id)
    if row is None:
        raise NotFound(f"suppression rule {rule_id} not found")
    authorize(principal, Action.EDIT, row.member_id)
    now = clock.now()
    before = rule_dict(row)
    if not is_active(before, now):
        raise Conflict(f"suppression rule {rule_id} has already ended")
    row.expires_at = now
    session.flush()
    after = rule_dict(row)
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action="suppression_rule.end",
        entity_type="suppression_rule",
        entity_id=rule_id,
        organisation_id=row.member_id,
        before=_audit_form(before),
        after=_audit_form(after),
        note=note,
    )
    return after


SUPPRESS_DAYS_MAX = 365  # a rule from an alert lasts at most a year: benign things change


def suppress_like_alert(
    session: Session,
    principal: Principal,
    alert_id: int,
    *,
    clock: Clock,
    days: int,
    reason: str,
    same_party: bool = False,
) -> dict[str, Any]:
    """Add a rule that suppresses events like the alert's (its member, and its signature or
    classification, or the indicator it groups by; with same_party, only to or from its
    external party) for days days, and return it. NotFound for an alert that is absent or not
    the principal's; ValidationFailed as add_rule, or for days outside 1..SUPPRESS_DAYS_MAX."""
    alert = get_alert_or_raise(session, principal, alert_id)
    if not 1 <= days <= SUPPRESS_DAYS_MAX:
        raise ValidationFailed.one(
            "suppression rule", "days", f"give 1 to {SUPPRESS_DAYS_MAX} days, not {days}"
        )
    grouped_by: str = alert["classification"]["identifier"] or alert["classification"]["type"]
    identifier: str | None = grouped_by
    indicator_id = None
    if grouped_by.startswith("indicator:") and grouped_by[10:].isdigit():
        # A protocol record's alert groups by the indicator it matched: suppress that match.
        identifier, indicator_id = None, int(grouped_by[10:])
    party = alert["external_party"] if same_party else ""
    return add_rule(
        session,
        principal,
        clock=clock,
        reason=reason,
        member_id=alert["member_id"],
        identifier=identifier,
        network=party or None,
        indicator_id=indicator_id,
        expires_at=clock.now() + timedelta(days=days),
    )


def _audit_form(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in rule.items()}
