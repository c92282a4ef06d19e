"""CPE names: parsing 2.3 formatted strings and 2.2 URIs, and matching attributes. No I/O.

Our own small parser rather than the `cpe` package: that one is untyped, builds heavy objects
per name, and we parse every `criteria` of every CVE at load and match time (the bench runs
hundreds of thousands); the grammar we need (NISTIR 7695 binding and unbinding) fits in a page.

A parsed value is kept *unquoted* (`\\:` becomes `:`), lower-cased, with two special values:
`ANY` (`*`, also an empty 2.2 component) and `NA` (`-`). A value with an unquoted `*` or `?`
inside it is a pattern (NISTIR 7695 §6.2); `value_matches` handles it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

ANY: Final = "*"
NA: Final = "-"
ATTRIBUTES: Final = (
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
)
MAX_CPE_LENGTH: Final = 1024
# Escaped characters stay as a private marker while splitting, so `\:` never splits.
WILDCARD = "\x00"  # stands for an unquoted `*` inside a value
_WILDCARD = WILDCARD
_ONE_CHAR = "\x01"  # stands for an unquoted `?`


class CpeError(ValueError):
    """The text is not a CPE 2.3 formatted string nor a CPE 2.2 URI."""


@dataclass(frozen=True, slots=True)
class Cpe:
    """A CPE name's eleven attributes; each is a value, ANY or NA."""

    part: str
    vendor: str
    product: str
    version: str
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def formatted(self) -> str:
        """Return the CPE 2.3 formatted string of this name (values quoted again)."""
        return "cpe:2.3:" + ":".join(_quote(getattr(self, name)) for name in ATTRIBUTES)


def parse_cpe(text: str) -> Cpe:
    """Return the parsed CPE 2.3 formatted string or 2.2 URI; raise CpeError naming the fault."""
    stripped = text.strip()
    if len(stripped) > MAX_CPE_LENGTH:
        raise CpeError(f"CPE longer than {MAX_CPE_LENGTH} characters")
    lowered = stripped.lower()
    if lowered.startswith("cpe:2.3:"):
        return _parse_formatted(stripped[8:], text)
    if lowered.startswith("cpe:/"):
        return _parse_uri(stripped[5:], text)
    raise CpeError(f"not a CPE name (want cpe:2.3:... or cpe:/...): {text!r}")


def _parse_formatted(body: str, text: str) -> Cpe:
    if "\\" not in body and "?" not in body:
        # The common case (no escapes, `*` only as a whole value): a split is the whole parse.
        fields = body.split(":")
        if len(fields) == len(ATTRIBUTES) and all(f == "*" or "*" not in f for f in fields):
            cleaned = [_special(f.replace("*", _WILDCARD)) for f in fields]
            _check_part(cleaned[0], text)
            return Cpe(*cleaned)
    values: list[str] = []
    current: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise CpeError(f"CPE ends in a lone backslash: {text!r}")
            current.append(escaped)
        elif char == ":":
            values.append("".join(current))
            current = []
        elif char == "*":
            current.append(_WILDCARD)
        elif char == "?":
            current.append(_ONE_CHAR)
        else:
            current.append(char)
    values.append("".join(current))
    if len(values) != len(ATTRIBUTES):
        raise CpeError(f"a CPE 2.3 name has 11 attributes, this has {len(values)}: {text!r}")
    cleaned = [_special(value) for value in values]
    _check_part(cleaned[0], text)
    return Cpe(*cleaned)


def _special(value: str) -> str:
    if value == _WILDCARD:
        return ANY
    if value == "-":
        return NA
    if value == "":
        raise CpeError("a CPE 2.3 attribute is empty (use * for ANY)")
    return value.lower()


def _parse_uri(body: str, text: str) -> Cpe:
    components = body.split(":")
    if len(components) > 7:
        raise CpeError(f"a CPE 2.2 URI has at most 7 components: {text!r}")
    components += [""] * (7 - len(components))
    part, vendor, product, version, update, edition, language = components
    sw_edition = target_sw = target_hw = other = ANY
    if edition.startswith("~"):
        # A packed edition: ~edition~sw_edition~target_sw~target_hw~other (CPE 2.3 §6.1.3.5).
        packed = edition[1:].split("~")
        if len(packed) != 5:
            raise CpeError(f"a packed CPE 2.2 edition has five fields: {text!r}")
        edition_value = _uri_value(packed[0])
        sw_edition, target_sw, target_hw, other = (_uri_value(p) for p in packed[1:])
    else:
        edition_value = _uri_value(edition)
    cpe = Cpe(
        part=_uri_value(part),
        vendor=_uri_value(vendor),
        product=_uri_value(product),
        version=_uri_value(version),
        update=_uri_value(update),
        edition=edition_value,
        language=_uri_value(language),
        sw_edition=sw_edition,
        target_sw=target_sw,
        target_hw=target_hw,
        other=other,
    )
    _check_part(cpe.part, text)
    return cpe


def _uri_value(component: str) -> str:
    if component == "":
        return ANY
    if component == "-":
        return NA
    # %01 and %02 are the URI's one-char and any-chars wildcards.
    return (
        unquote(component.replace("%01", _ONE_CHAR).replace("%02", _WILDCARD)).lower().strip()
        or ANY
    )


def _check_part(part: str, text: str) -> None:
    if part not in ("a", "o", "h", ANY):
        raise CpeError(f"CPE part must be a, o or h, not {part!r}: {text!r}")


_NEEDS_QUOTE = re.compile(r"([^A-Za-z0-9_\x00\x01])")


def _quote(value: str) -> str:
    if value in (ANY, NA):
        return value
    quoted = _NEEDS_QUOTE.sub(r"\\\1", value)
    return quoted.replace(_WILDCARD, "*").replace(_ONE_CHAR, "?")


def is_pattern(value: str) -> bool:
    """Return whether the value holds an unquoted `*` or `?` wildcard."""
    return _WILDCARD in value or _ONE_CHAR in value


def value_matches(criteria: str, observed: str) -> bool:
    """Return whether a criteria attribute value covers an observed one (ANY covers all; NA
    only NA; a pattern its strings; otherwise equality)."""
    if criteria == ANY:
        return True
    if criteria == NA or observed in (ANY, NA):
        return criteria == observed
    if is_pattern(criteria):
        return _pattern(criteria).fullmatch(observed) is not None
    return criteria == observed


def _pattern(value: str) -> re.Pattern[str]:
    parts = []
    for char in value:
        if char == _WILDCARD:
            parts.append(".*")
        elif char == _ONE_CHAR:
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def name_key(name: str) -> str:
    """Return a vendor or product name in CPE's form: lower-case, spaces as underscores."""
    return "_".join(name.lower().split())
