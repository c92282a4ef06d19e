"""Suppression rules' matching (monitoring.suppression.Suppressor), without a database: every
condition of a rule must hold, a member rule covers either side, the lowest-numbered matching
rule is the one counted, and an empty rule set is false so the pipeline can skip it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network

from vardeild.monitoring.model import Event, EventKind
from vardeild.monitoring.suppression import Suppressor, _Rule, is_active, normalise_identifier

T = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _event(**fields: object) -> Event:
    given: dict[str, object] = {
        "kind": EventKind.ALERT,
        "time_observation": T,
        "feed_name": "suricata",
        "classification_taxonomy": "information-gathering",
        "classification_type": "scanner",
        "classification_identifier": "sid:1:2001219",
        "source_ip": "203.0.113.9",
        "destination_ip": "10.1.0.5",
        "destination_member": 1,
    }
    given.update(fields)
    return Event(**given)  # type: ignore[arg-type]


def _rule(rule_id: int, **conditions: object) -> _Rule:
    network = conditions.get("network")
    return _Rule(
        id=rule_id,
        member_id=conditions.get("member_id"),  # type: ignore[arg-type]
        identifier=conditions.get("identifier"),  # type: ignore[arg-type]
        network=ip_network(network) if isinstance(network, str) else None,
        indicator_id=conditions.get("indicator_id"),  # type: ignore[arg-type]
    )


def test_no_rules_is_false_and_matches_nothing() -> None:
    rules = Suppressor([])
    assert not rules
    assert rules.match(_event()) is None


def test_a_member_rule_covers_either_side_and_no_other_member() -> None:
    rules = Suppressor([_rule(1, member_id=1)])
    assert rules
    assert rules.match(_event()) == 1
    assert rules.match(_event(destination_member=None, source_member=1)) == 1
    assert rules.match(_event(destination_member=2)) is None


def test_every_condition_must_hold() -> None:
    rules = Suppressor([_rule(1, member_id=1, identifier="sid:1:2001219", network="10.1.0.0/24")])
    assert rules.match(_event()) == 1
    assert rules.match(_event(classification_identifier="sid:1:9")) is None
    assert rules.match(_event(destination_ip="10.1.9.5")) is None


def test_the_identifier_may_name_the_type() -> None:
    rules = Suppressor([_rule(1, identifier="scanner")])
    assert rules.match(_event(classification_identifier="sid:1:5", destination_member=3)) == 1
    assert rules.match(_event(classification_type="brute-force")) is None


def test_a_network_covers_either_address_and_ipv6_with_a_zone() -> None:
    rules = Suppressor([_rule(1, network="2001:db8::/32")])
    assert rules.match(_event(source_ip="2001:db8::1%eth0")) == 1
    assert rules.match(_event(destination_ip="2001:db8:ffff::9")) == 1
    assert rules.match(_event(source_ip="not an address")) is None


def test_an_indicator_rule_needs_the_event_to_have_matched_it() -> None:
    rules = Suppressor([_rule(4, indicator_id=77)])
    assert rules.match(_event(matched_indicators=[12, 77])) == 4
    assert rules.match(_event(matched_indicators=[12])) is None


def test_the_lowest_numbered_matching_rule_counts() -> None:
    rules = Suppressor([_rule(9, member_id=1), _rule(3, identifier="scanner"), _rule(5)])
    assert rules.match(_event()) == 3


def test_a_bare_signature_id_is_written_as_events_carry_it() -> None:
    assert normalise_identifier(" 2001219 ") == "sid:1:2001219"
    assert normalise_identifier("scanner") == "scanner"


def test_a_rule_is_active_until_it_expires() -> None:
    assert is_active({"expires_at": None}, T)
    assert is_active({"expires_at": T + timedelta(seconds=1)}, T)
    assert not is_active({"expires_at": T}, T)
