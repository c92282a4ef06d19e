"""Incident cases: their enums, the workflow rules (who may move a case where), what a member
may see of one, references and candidate observables. Pure: no I/O.

The workflow:

    new -> triage -> in_progress -> resolved -> closed
      \\------\\-----------\\-> rejected            (not an incident, a duplicate, out of scope)
    any open case -> merged                       (only through `merge_cases`, never by hand)

A resolved case may go back to in_progress (it was not over); a closed or rejected case may be
reopened into triage only by a CERT admin, so an analyst cannot quietly undo a closure that
statistics and regulatory reports already count. Read-only CERT staff and members move
nothing.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum

from vardeild.access.model import Role
from vardeild.core.errors import Conflict, PermissionDenied, ValidationFailed
from vardeild.core.taxonomy import TAXONOMY_OF_TYPE
from vardeild.core.tlp import Tlp

TITLE_MAX = 300
TEXT_MAX = 20_000
SHORT_MAX = 200


class CaseStatus(StrEnum):
    """Where a case stands in the workflow."""

    NEW = "new"  # reported or escalated, nobody has looked yet
    TRIAGE = "triage"  # someone is judging what it is
    IN_PROGRESS = "in_progress"  # being handled
    RESOLVED = "resolved"  # handled; waiting for the last word before closing
    CLOSED = "closed"  # done
    REJECTED = "rejected"  # not an incident, or not ours
    MERGED = "merged"  # folded into another case (merged_into)

    @property
    def is_open(self) -> bool:
        """Return True while the case still needs work."""
        return self in _OPEN


_OPEN = frozenset({CaseStatus.NEW, CaseStatus.TRIAGE, CaseStatus.IN_PROGRESS})


class Impact(StrEnum):
    """How badly the incident hurts the affected organisations' services."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    SEVERE = "severe"


class Pap(StrEnum):
    """The Permissible Actions Protocol: what a recipient may do with the information."""

    CLEAR = "CLEAR"  # any action, also visible ones
    GREEN = "GREEN"  # active actions that do not alert the adversary
    AMBER = "AMBER"  # passive actions only (look in own logs)
    RED = "RED"  # no action outside the CERT

    @classmethod
    def parse(cls, text: str) -> Pap:
        """Return the label text names (`amber`, `PAP:AMBER`); ValueError naming the choices."""
        value = text.strip().upper().removeprefix("PAP:").strip()
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a PAP label; write one of {', '.join(p.value for p in cls)}"
            ) from None


class Visibility(StrEnum):
    """Who may read a journal entry or an attachment."""

    SHARED = "shared"  # the CERT and the involved members
    INTERNAL = "internal"  # the CERT only; never leaves it


class EntrySource(StrEnum):
    """Where a journal entry or a case came from."""

    WEB = "web"
    API = "api"
    EMAIL = "email"
    SYSTEM = "system"


class InvolvedRole(StrEnum):
    """Why an organisation is part of a case."""

    AFFECTED = "affected"
    REPORTER = "reporter"
    VENDOR = "vendor"
    PARTNER_CERT = "partner_cert"


class InvolvedStatus(StrEnum):
    """Where one involved organisation stands in the case."""

    PENDING = "pending"  # added, not yet told
    INFORMED = "informed"  # an update has gone to it
    WORKING = "working"  # it is acting on the case
    DONE = "done"  # its part is done
    NOT_AFFECTED = "not_affected"  # it checked and is not affected


class LinkKind(StrEnum):
    """What a case can link to."""

    ALERT = "alert"
    EVENT = "event"
    INDICATOR = "indicator"
    FINDING = "finding"
    ADVISORY = "advisory"
    NOTICE = "notice"  # a notice the CERT sent; a case opened from a member's reply links it


class ObservableKind(StrEnum):
    """Candidate observables found in what reached a case."""

    IP = "ip"
    DOMAIN = "domain"
    URL = "url"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    CVE = "cve"


class ObservableStatus(StrEnum):
    """What an analyst made of a candidate observable."""

    CANDIDATE = "candidate"
    PROMOTED = "promoted"  # became an indicator
    DISMISSED = "dismissed"


# --- the workflow --------------------------------------------------------------------------

# Moves by hand: before -> the statuses it may go to. MERGED is reached only by merging.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.TRIAGE, CaseStatus.IN_PROGRESS, CaseStatus.REJECTED}),
    CaseStatus.TRIAGE: frozenset(
        {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.REJECTED}
    ),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.RESOLVED, CaseStatus.TRIAGE}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.IN_PROGRESS}),
    CaseStatus.CLOSED: frozenset({CaseStatus.TRIAGE}),
    CaseStatus.REJECTED: frozenset({CaseStatus.TRIAGE}),
    CaseStatus.MERGED: frozenset(),
}

# Reopening what is finished is an admin's decision.
ADMIN_ONLY: frozenset[tuple[CaseStatus, CaseStatus]] = frozenset(
    {(CaseStatus.CLOSED, CaseStatus.TRIAGE), (CaseStatus.REJECTED, CaseStatus.TRIAGE)}
)

_MOVERS = frozenset({Role.CERT_ADMIN, Role.CERT_ANALYST})


def check_transition(role: Role, before: CaseStatus, after: CaseStatus) -> None:
    """Return if role may move a case from before to after; PermissionDenied when the role may
    not, Conflict when the workflow has no such move."""
    if role not in _MOVERS:
        raise PermissionDenied(f"role {role.value} may not change a case's status")
    if after not in TRANSITIONS[before]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[before])) or "nothing"
        how = " (merge cases with `merge`)" if after is CaseStatus.MERGED else ""
        raise Conflict(
            f"a {before.value} case cannot go to {after.value}{how}; from {before.value} it may "
            f"go to {allowed}"
        )
    if (before, after) in ADMIN_ONLY and role is not Role.CERT_ADMIN:
        raise PermissionDenied(f"only a CERT admin may reopen a {before.value} case; ask one")


def allowed_moves(role: Role, before: CaseStatus) -> list[CaseStatus]:
    """Return the statuses role may move a case in before to, in workflow order."""
    found = []
    for after in CaseStatus:
        try:
            check_transition(role, before, after)
        except (PermissionDenied, Conflict):
            continue
        found.append(after)
    return found


# --- what members see ----------------------------------------------------------------------

# TLP:RED is for the people present: it never leaves the CERT, not even to involved members.
MEMBER_MAX_TLP = Tlp.AMBER_STRICT


def member_may_see(visibility: Visibility, tlp: Tlp) -> bool:
    """Return True if an involved member may read an entry of this visibility and TLP."""
    return visibility is Visibility.SHARED and tlp.rank <= MEMBER_MAX_TLP.rank


# --- references ----------------------------------------------------------------------------

_REFERENCE = re.compile(r"\[?\s*VARDEILD\s*#\s*(\d{1,10})\s*\]?", re.IGNORECASE)


def reference(case_id: int) -> str:
    """Return the case's reference, `VARDEILD#<id>`, as subjects and replies carry it."""
    return f"VARDEILD#{case_id}"


def parse_reference(text: str) -> int | None:
    """Return the case id of the first `VARDEILD#<id>` (bracketed or not) in text, or None."""
    found = _REFERENCE.search(text)
    if found is None:
        return None
    value = int(found.group(1))
    return value if 0 < value <= 2_147_483_647 else None


# --- fields --------------------------------------------------------------------------------


def check_classification(record: str, classification_type: str) -> str:
    """Return the RSIT taxonomy of classification_type; ValidationFailed if it has none."""
    taxonomy = TAXONOMY_OF_TYPE.get(classification_type)
    if taxonomy is None:
        raise ValidationFailed.one(
            record,
            "classification_type",
            f"{classification_type!r} is not a type of the Reference Security Incident "
            "Taxonomy; e.g. phishing, system-compromise, ddos, data-leak, undetermined",
        )
    return taxonomy


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HEX = {ObservableKind.MD5: 32, ObservableKind.SHA1: 40, ObservableKind.SHA256: 64}
_CVE = re.compile(r"^CVE-\d{4}-\d{4,7}$")


def normalise_observable(kind: ObservableKind, value: str) -> str:
    """Return value in the one form observables of kind are stored in; ValueError saying why
    it is not one."""
    text = value.strip()
    if not text or len(text) > 1000:
        raise ValueError(f"a {kind.value} of {len(text)} characters; 1 to 1000 are allowed")
    if kind is ObservableKind.IP:
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise ValueError(f"{text[:80]!r} is not an IP address") from None
    if kind is ObservableKind.DOMAIN:
        name = text.lower().rstrip(".")
        if not _DOMAIN.match(name):
            raise ValueError(f"{text[:80]!r} is not a domain name")
        return name
    if kind is ObservableKind.URL:
        if not re.match(r"^(https?|ftp)://[^\s/$.?#][^\s]*$", text, re.IGNORECASE):
            raise ValueError(f"{text[:80]!r} is not an http(s) or ftp URL")
        return text
    if kind is ObservableKind.CVE:
        name = text.upper()
        if not _CVE.match(name):
            raise ValueError(f"{text[:80]!r} is not a CVE id (CVE-YYYY-NNNN)")
        return name
    digest = text.lower()
    if len(digest) != _HEX[kind] or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{text[:80]!r} is not a {kind.value} hash ({_HEX[kind]} hex digits)")
    return digest
