"""Reducing STIX 2.1 patterns to indicators the matcher compares exactly. No I/O.

A pattern reduces when it says "the observable equals one of these values": a single equality
(`[ipv4-addr:value = '192.0.2.1']`), equalities joined by OR inside one observation or across
observations, `IN ('a', 'b')`, and `ipv4-addr:value ISSUBSET '10.0.0.0/8'` (a network). Every
such value becomes one indicator. Anything that needs more than one observable at once (AND),
an order or a time window (FOLLOWEDBY, WITHIN, REPEATS, START/STOP), a regular expression or a
wildcard (MATCHES, LIKE), a negation, a comparison other than equality, or an object path the
matcher has no event field for, does not reduce: `PatternNotReducible` says why, and the
importer keeps the indicator as not matchable with that reason.

The pattern is parsed by the STIX project's own grammar (`stix2.pattern_visitor`, built on
`stix2patterns`), not by regular expressions: quoting, escapes and nesting are its problem.
"""

from __future__ import annotations

import re
from typing import Any

from stix2 import patterns as ast
from stix2.pattern_visitor import create_pattern_object

from vardeild.intel.model import IndicatorType, normalise_indicator

# (object type, property path) -> indicator type. None: the type follows from the value (an
# address with a prefix length is a network). Hash names are compared upper case without
# hyphens: the vocabulary writes 'SHA-256', producers in the wild also 'sha256' and 'md5'.
_PATHS: dict[tuple[str, str], IndicatorType | None] = {
    ("ipv4-addr", "value"): None,
    ("ipv6-addr", "value"): None,
    ("domain-name", "value"): IndicatorType.DOMAIN,
    ("url", "value"): IndicatorType.URL,
    ("email-addr", "value"): IndicatorType.EMAIL,
    ("email-message", "from_ref.value"): IndicatorType.EMAIL,
    ("email-message", "sender_ref.value"): IndicatorType.EMAIL,
    ("autonomous-system", "number"): IndicatorType.ASN,
    ("network-traffic", "dst_ref.value"): None,
    ("network-traffic", "src_ref.value"): None,
    ("file", "hashes.MD5"): IndicatorType.MD5,
    ("file", "hashes.SHA1"): IndicatorType.SHA1,
    ("file", "hashes.SHA256"): IndicatorType.SHA256,
    ("x509-certificate", "hashes.SHA1"): IndicatorType.X509_SHA1,
}


class PatternNotReducible(ValueError):
    """The pattern is valid (or not) but says more than "equals one of these values"."""


# The one form most feeds write, `[type:path = 'value']` with a value free of quotes and
# backslashes, means exactly what the grammar would make of it. Recognising it directly spares
# the grammar (~3 ms a pattern in the ANTLR runtime, most of a bundle's import time); every
# other pattern, and any doubt, goes to the grammar.
_SIMPLE = re.compile(
    r"\[\s*([a-z0-9-]+):([a-z0-9_]+(?:\.(?:[A-Za-z0-9_]+|'[A-Za-z0-9_-]+'))*)"
    r"\s*=\s*'([^'\\]*)'\s*\]"
)


def reduce_pattern(pattern: str) -> list[tuple[IndicatorType, str]]:
    """Return the (type, canonical value) pairs a pattern is the OR of, in pattern order and
    without repeats; raise PatternNotReducible naming the part that is not a plain equality,
    or the value that is not valid for its type."""
    simple = _SIMPLE.fullmatch(pattern.strip())
    if simple is not None:
        object_type, path, value = simple.groups()
        path = ".".join(part.strip("'") for part in path.split("."))
        return [_equality(object_type, path, value)]
    try:
        tree = create_pattern_object(pattern, version="2.1")
    except Exception as exc:  # the grammar raises several types; all mean "cannot reduce"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "AND" in message:
            raise PatternNotReducible(f"AND across object types: {message}") from None
        raise PatternNotReducible(f"not a valid STIX 2.1 pattern: {message}") from None
    found: list[tuple[IndicatorType, str]] = []
    _observations(tree, found)
    return list(dict.fromkeys(found))


def _observations(node: Any, found: list[tuple[IndicatorType, str]]) -> None:
    if isinstance(node, ast.ObservationExpression):
        _comparisons(node.operand, found)
    elif isinstance(node, ast.OrObservationExpression):
        for operand in node.operands:
            _observations(operand, found)
    elif isinstance(node, ast.ParentheticalExpression):
        _observations(node.expression, found)
    elif isinstance(node, ast.AndObservationExpression):
        raise PatternNotReducible("AND between observations needs several observables at once")
    elif isinstance(node, ast.FollowedByObservationExpression):
        raise PatternNotReducible("FOLLOWEDBY needs observations in order")
    elif isinstance(node, ast.QualifiedObservationExpression):
        raise PatternNotReducible(f"qualifier {node.qualifier} needs a time window or repeats")
    else:
        raise PatternNotReducible(f"{type(node).__name__} is not an observation")


def _comparisons(node: Any, found: list[tuple[IndicatorType, str]]) -> None:
    if isinstance(node, ast.OrBooleanExpression):
        for operand in node.operands:
            _comparisons(operand, found)
        return
    if isinstance(node, ast.ParentheticalExpression):
        _comparisons(node.expression, found)
        return
    if isinstance(node, ast.AndBooleanExpression):
        raise PatternNotReducible("AND inside an observation needs several properties at once")
    if not isinstance(node, ast._ComparisonExpression):
        raise PatternNotReducible(f"{type(node).__name__} is not a comparison")
    if node.negated:
        raise PatternNotReducible(f"a negated comparison (NOT {node.operator}) is not a value")
    object_type = str(node.lhs.object_type_name)
    path = _path(node.lhs)
    kind = _kind(object_type, path)
    if isinstance(node, ast.EqualityComparisonExpression):
        values = [_constant(node.rhs)]
    elif isinstance(node, ast.InComparisonExpression):
        values = [_constant(item) for item in node.rhs.value]
    elif isinstance(node, ast.IsSubsetComparisonExpression) and kind is None:
        values = [_constant(node.rhs)]
    else:
        raise PatternNotReducible(f"operator {node.operator} is not an equality")
    for value in values:
        found.append(_typed(kind, object_type, value))


def _kind(object_type: str, path: str) -> IndicatorType | None:
    """Return the indicator type of an object path (None: from the value); raise
    PatternNotReducible for a path without an event field."""
    if path.startswith("hashes."):
        path = "hashes." + path.removeprefix("hashes.").upper().replace("-", "")
    key = (object_type, path)
    if key not in _PATHS:
        raise PatternNotReducible(f"{object_type}:{path} has no event field to match")
    return _PATHS[key]


def _equality(object_type: str, path: str, value: str) -> tuple[IndicatorType, str]:
    """Return the indicator of `[object_type:path = 'value']`."""
    return _typed(_kind(object_type, path), object_type, value)


def _path(lhs: Any) -> str:
    parts = []
    for component in lhs.property_path:
        if isinstance(component, ast.ListObjectPathComponent):
            raise PatternNotReducible(
                f"list path {component.property_name}[{component.index}] is not one value"
            )
        parts.append(str(component.property_name).strip("'"))
    return ".".join(parts)


def _constant(node: Any) -> str:
    if isinstance(node, ast.StringConstant | ast.IntegerConstant):
        return str(node.value)
    raise PatternNotReducible(f"{type(node).__name__} is not a string or number")


def _typed(kind: IndicatorType | None, object_type: str, value: str) -> tuple[IndicatorType, str]:
    if kind is IndicatorType.ASN:
        value = f"AS{value}"
    if kind is None:
        if "/" in value:
            kind = IndicatorType.CIDR
            if value.endswith(("/32", "/128")):
                value, kind = value.rpartition("/")[0], None
        if kind is None:
            kind = IndicatorType.IPV6 if ":" in value else IndicatorType.IPV4
    try:
        return kind, normalise_indicator(kind, value)
    except ValueError as exc:
        raise PatternNotReducible(f"{object_type} value {exc}") from None
