"""Comparing product versions as vulnerability data writes them. No I/O.

Why our own comparator: NVD ranges (`versionStartIncluding`, `versionEndExcluding`, ...) and
CVE JSON 5 `versions` carry no version scheme: one record says `9.3p2` (OpenSSH), the next
`1.0.2k` (OpenSSL), `10.2.9-h1` (PAN-OS), `2.0beta` or `1:2.4.52`. `packaging.version` only
accepts PEP 440 and refuses most of these; `univers` needs the scheme named per ecosystem,
which CPE data never names (and it is not in the package lists we may use). So one tolerant
ordering, tested edge by edge (tests/unit/exposure/test_versions*.py), with these rules:

- A version is split into numbers and words at `.`, `-`, `_`, `+`, `~`, spaces and every
  digit/letter boundary; letters are compared lower-cased; a leading `v` is dropped.
- Numbers compare as numbers: `1.2.10` > `1.2.9`; trailing zeros do not count: `1.0` == `1.0.0`.
- Pre-release words sort *before* the release: `dev` < `alpha`/`a<n>` < `beta`/`b<n>` <
  `pre`/`preview` < `rc`/`c<n>` < (release), so `1.0-rc1` < `1.0` and `2.0beta` < `2.0`.
  A single `a`/`b`/`c` is a pre-release only when a number follows it (PEP 440's `1.0a1`).
- Any other word sorts *after* the release and by its letters: OpenSSH's `9.3p1` < `9.3p2`
  and `9.3` < `9.3p1`; OpenSSL's `1.0.2` < `1.0.2a` < `1.0.2k`; PAN-OS hotfixes `10.2.9-h1`.
- At one position a number sorts after a word: `1.0.1` > `1.0a`.
- An epoch `N:` (Debian/RPM) outranks everything after it; `1:1.0` > `2.0`.
- Semantic-versioning build metadata (`+build.5`) is dropped, as SemVer says it must be.

The CPE values `*` (ANY) and `-` (NA) are not versions; callers handle them (see cpe.py) and
`parse_version` refuses them.
"""

from __future__ import annotations

import re
from functools import lru_cache, total_ordering
from typing import Final

# (rank, number, word): comparing these tuples is the whole ordering. Ranks keep numbers,
# words and the end of the version apart without comparing an int with a str.
_PRE: Final = 0
_END: Final = 1
_POST: Final = 2
_NUMBER: Final = 3

Token = tuple[int, int, str]
_END_TOKEN: Final[Token] = (_END, 0, "")

# Pre-release words and their order among themselves.
_PRE_RELEASE: Final[dict[str, int]] = {
    "dev": 0,
    "snapshot": 0,
    "nightly": 0,
    "alpha": 1,
    "beta": 2,
    "milestone": 2,
    "pre": 3,
    "preview": 3,
    "rc": 4,
    "cr": 4,
}
# Single letters that are pre-releases only before a number (PEP 440: 1.0a1, 1.0b2, 1.0c1).
_PRE_LETTERS: Final[dict[str, int]] = {"a": 1, "b": 2, "c": 4}

_SPLIT = re.compile(r"\d+|[a-z]+")
_EPOCH = re.compile(r"^(\d+):(.+)$")
MAX_VERSION_LENGTH: Final = 128


class VersionError(ValueError):
    """The text is not a version we can order (empty, `*`, `-`, no digits or letters)."""


@total_ordering
class Version:
    """A parsed version: compare with <, ==, > (and hash); `text` is what it was made from."""

    __slots__ = ("key", "text")

    def __init__(self, text: str, key: tuple[Token, ...]) -> None:
        self.text = text
        self.key = key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.key == other.key

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Version({self.text!r})"

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version:
    """Return the parsed version; raise VersionError for text that is not an orderable version."""
    return Version(text, version_key(text))


@lru_cache(maxsize=1 << 16)  # NVD repeats the same bounds across thousands of criteria
def version_key(text: str) -> tuple[Token, ...]:
    """Return the sort key of a version (tuples compare in version order); raise VersionError."""
    cleaned = text.strip().lower()
    if cleaned in ("", "*", "-") or len(cleaned) > MAX_VERSION_LENGTH:
        raise VersionError(f"not a version: {text!r}")
    epoch = 0
    if (found := _EPOCH.match(cleaned)) is not None:
        epoch, cleaned = int(found.group(1)), found.group(2)
    cleaned = cleaned.split("+", 1)[0] if "+" in cleaned[1:] else cleaned
    if cleaned.startswith("v") and len(cleaned) > 1 and cleaned[1].isdigit():
        cleaned = cleaned[1:]
    parts = _SPLIT.findall(cleaned)
    if not parts:
        raise VersionError(f"not a version: {text!r}")
    tokens: list[Token] = [(_NUMBER, epoch, "")]
    for index, part in enumerate(parts):
        if part.isdigit():
            tokens.append((_NUMBER, int(part), ""))
            continue
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if part in _PRE_RELEASE:
            tokens.append((_PRE, _PRE_RELEASE[part], part))
        elif part in _PRE_LETTERS and following.isdigit():
            tokens.append((_PRE, _PRE_LETTERS[part], part))
        else:
            tokens.append((_POST, 0, part))
    return (*_drop_padding_zeros(tokens), _END_TOKEN)


def _drop_padding_zeros(tokens: list[Token]) -> list[Token]:
    """Drop zeros that end a run of numbers, so `1.0` == `1.0.0` and `1.0rc1` == `1.0.0rc1`."""
    kept: list[Token] = []
    for index, token in enumerate(tokens):
        if token == (_NUMBER, 0, "") and index > 0:
            rest = tokens[index + 1 :]
            run_ends = next((t for t in rest if t != (_NUMBER, 0, "")), None)
            if run_ends is None or run_ends[0] != _NUMBER:
                continue
        kept.append(token)
    return kept


def compare_versions(left: str, right: str) -> int:
    """Return -1, 0 or 1 as left is before, equal to or after right; raise VersionError."""
    a, b = version_key(left), version_key(right)
    return (a > b) - (a < b)


def leading_version(observed: str) -> str | None:
    """Return the version a scanner printed, without what follows it, or None without one.

    nmap writes `8.2p1 Ubuntu 4ubuntu0.5` for OpenSSH on Ubuntu: the upstream version is the
    first word that starts with a digit (a `v` before it is allowed). Distribution revisions
    after it are dropped, so a backported fix is not seen; docs/vulndb.md says so.
    """
    for word in observed.replace(",", " ").split():
        cleaned = word.strip("()[];")
        if cleaned[:1].isdigit() or (cleaned[:1] in "vV" and cleaned[1:2].isdigit()):
            return cleaned
    return None
