"""What a Suricata alert means: rule classtypes mapped to RSIT, severity, and the rest of what
an alert section says (`alert_meaning`, remembered per section).

EVE writes an alert's classtype as its description (`alert.category`, "A Network Trojan was
detected"), taken from the sensor's classification.config. `CLASSTYPES` holds every classtype of
Suricata's classification.config (which Emerging Threats rules use), plus the four that Snort's
adds and some rule sets still use, each with the RSIT type it means for the host inside the
sector. Lookup is by description or short name, case-insensitive; a category that is missing,
empty or unknown (a local classification.config) is `intrusion-attempts/ids-alert`: a sensor
fired, someone has to look.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from vardeild.core.taxonomy import taxonomy_of
from vardeild.monitoring.model import ParseError, Severity
from vardeild.monitoring.parsers.eve_types import (
    ALERT_DECODER,
    Alert,
    address,
    decode_section,
)

DEFAULT_TYPE: Final = "ids-alert"

# short name -> (description as EVE writes it, RSIT classification type, priority it ships with)
CLASSTYPES: Final[dict[str, tuple[str, str, int]]] = {
    # Traffic that is not an attack by itself: kept, but as "other".
    "not-suspicious": ("Not Suspicious Traffic", "other", 3),
    "unknown": ("Unknown Traffic", "undetermined", 3),
    "tcp-connection": ("A TCP connection was detected", "other", 4),
    "protocol-command-decode": ("Generic Protocol Command Decode", "other", 3),
    "misc-activity": ("Misc activity", "other", 3),
    "icmp-event": ("Generic ICMP event", "other", 3),
    "policy-violation": ("Potential Corporate Privacy Violation", "other", 1),
    "inappropriate-content": ("Inappropriate Content was Detected", "other", 1),
    "external-ip-check": ("Device Retrieving External IP Address Detected", "other", 2),
    # Something suspicious without a more precise meaning.
    "bad-unknown": ("Potentially Bad Traffic", "ids-alert", 2),
    "string-detect": ("A suspicious string was detected", "ids-alert", 3),
    "suspicious-filename-detect": ("A suspicious filename was detected", "ids-alert", 2),
    "unusual-client-port-connection": ("A client was using an unusual port", "ids-alert", 2),
    "non-standard-protocol": ("Detection of a non-standard protocol or event", "ids-alert", 2),
    "web-application-activity": (
        "access to a potentially vulnerable web application",
        "ids-alert",
        2,
    ),
    "misc-attack": ("Misc Attack", "ids-alert", 2),
    # Reconnaissance.
    "attempted-recon": ("Attempted Information Leak", "scanner", 2),
    "network-scan": ("Detection of a Network Scan", "scanner", 3),
    "rpc-portmap-decode": ("Decode of an RPC Query", "scanner", 2),
    "social-engineering": ("Possible Social Engineering Attempted", "social-engineering", 2),
    # Information that left a host.
    "successful-recon-limited": (
        "Information Leak",
        "unauthorised-information-access",
        2,
    ),
    "successful-recon-largescale": ("Large Scale Information Leak", "data-leak", 2),
    "sdf": ("Sensitive Data was Transmitted Across the Network", "data-leak", 2),
    # Attempts to get in.
    "attempted-user": ("Attempted User Privilege Gain", "exploit", 1),
    "unsuccessful-user": ("Unsuccessful User Privilege Gain", "exploit", 1),
    "attempted-admin": ("Attempted Administrator Privilege Gain", "exploit", 1),
    "shellcode-detect": ("Executable code was detected", "exploit", 1),
    "system-call-detect": ("A system call was detected", "exploit", 2),
    "web-application-attack": ("Web Application Attack", "exploit", 1),
    "client-side-exploit": ("Known client side exploit attempt", "exploit", 1),
    "suspicious-login": (
        "An attempted login using a suspicious username was detected",
        "brute-force",
        2,
    ),
    "default-login-attempt": (
        "Attempt to login by a default username and password",
        "brute-force",
        2,
    ),
    # Someone got in.
    "successful-user": ("Successful User Privilege Gain", "unprivileged-account-compromise", 1),
    "successful-admin": (
        "Successful Administrator Privilege Gain",
        "privileged-account-compromise",
        1,
    ),
    # Malware on a host: the alert's inside host is the infected one, also for C2 traffic
    # (c2-server would name the outside end, which is the indicator, not the event).
    "trojan-activity": ("A Network Trojan was detected", "infected-system", 1),
    "command-and-control": (
        "Malware Command and Control Activity Detected",
        "infected-system",
        1,
    ),
    "domain-c2": ("Domain Observed Used for C2 Detected", "infected-system", 1),
    "malware-cnc": ("Known malware command and control traffic", "infected-system", 1),
    "targeted-activity": ("Targeted Malicious Activity was Detected", "infected-system", 1),
    "pup-activity": ("Possibly Unwanted Program Detected", "infected-system", 2),
    "exploit-kit": ("Exploit Kit Activity Detected", "malware-distribution", 1),
    "file-format": (
        "Known malicious file or file based exploit",
        "malware-distribution",
        1,
    ),
    # Availability.
    "attempted-dos": ("Attempted Denial of Service", "dos", 2),
    "successful-dos": ("Denial of Service", "dos", 2),
    "denial-of-service": ("Detection of a Denial of Service Attack", "dos", 2),
    # Fraud.
    "credential-theft": ("Successful Credential Theft Detected", "phishing", 1),
    "coin-mining": ("Crypto Currency Mining Activity Detected", "unauthorised-use-of-resources", 2),
}

# Every description and short name, folded, -> (taxonomy, type). Built once; `taxonomy_of`
# raising here on import is the check that the table names only RSIT types.
_LOOKUP: Final[dict[str, tuple[str, str]]] = {}
for _short, (_description, _type, _priority) in CLASSTYPES.items():
    _LOOKUP[_description.casefold()] = _LOOKUP[_short] = (taxonomy_of(_type), _type)
_DEFAULT: Final = (taxonomy_of(DEFAULT_TYPE), DEFAULT_TYPE)
# The exact spellings EVE writes, for a lookup without folding on the hot path.
_EXACT: Final = {description: _LOOKUP[short] for short, (description, _, _) in CLASSTYPES.items()}

_SEVERITY_OF_PRIORITY: Final = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW}
# ET's `signature_severity` metadata can only raise what the priority says.
_SEVERITY_FLOOR: Final = {"critical": Severity.CRITICAL, "major": Severity.HIGH}


def classify_category(category: str | None) -> tuple[str, str]:
    """Return the RSIT (taxonomy, type) of an alert category; the default if it is unknown."""
    if not category:
        return _DEFAULT
    found = _EXACT.get(category)
    if found is None:
        found = _LOOKUP.get(category.strip().casefold(), _DEFAULT)
    return found


def alert_severity(priority: int | None, signature_severity: Sequence[str] | None) -> Severity:
    """Return the severity of an alert: priority 1 high, 2 medium, 3 low, anything else info,
    raised to critical or high by ET's `signature_severity` Critical or Major."""
    severity = _SEVERITY_OF_PRIORITY.get(priority, Severity.INFO) if priority else Severity.INFO
    if signature_severity:
        for label in signature_severity:
            floor = _SEVERITY_FLOOR.get(label.casefold())
            if floor is not None and floor > severity:
                severity = floor
    return severity


# What each alert section seen lately means, by the section's bytes: sensors repeat a few hundred
# signatures, and a hit saves decoding and interpreting the section. Sections with
# alert.source/target (per flow) are not kept; the dict is cleared whole when full.
# (taxonomy, type, identifier, description, severity, malware name, extra fields)
AlertMeaning = tuple[str, str, str, str, Severity, str | None, dict[str, Any]]
alerts: dict[bytes, AlertMeaning] = {}
ALERT_CACHE_SIZE = 4_096


def alert_meaning(section: bytes) -> AlertMeaning:
    """Return what an alert section means, and remember it for the next alert with the same
    section bytes (most alerts repeat a few signatures); raise ParseError when the section is
    missing or has no signature_id."""
    if not section or section == b"null":
        raise ParseError("alert event without an alert section")
    alert: Alert = decode_section(ALERT_DECODER, section, "alert")
    sid = alert.signature_id
    if sid is None:
        raise ParseError("alert.signature_id: missing")
    gid = 1 if alert.gid is None else alert.gid
    fields: dict[str, Any] = {"signature_id": sid, "gid": gid}
    if alert.rev is not None:
        fields["rev"] = alert.rev
    if alert.category is not None:
        fields["category"] = alert.category
    if alert.action is not None:
        fields["action"] = alert.action
    meta = alert.metadata
    signature_severity = malware = None
    if meta is not None:
        signature_severity = meta.signature_severity
        if signature_severity:
            fields["signature_severity"] = signature_severity[0]
        if meta.malware_family:
            malware = meta.malware_family[0].lower()
    cacheable = True
    if alert.source is not None and alert.source.ip is not None:
        fields["alert_source_ip"] = address(alert.source.ip, "alert.source.ip")
        cacheable = False
    if alert.target is not None and alert.target.ip is not None:
        fields["alert_target_ip"] = address(alert.target.ip, "alert.target.ip")
        cacheable = False
    taxonomy, ctype = classify_category(alert.category)
    severity = alert_severity(alert.severity, signature_severity)
    meaning = (
        taxonomy,
        ctype,
        f"sid:{gid}:{sid}",
        alert.signature or "",
        severity,
        malware,
        fields,
    )
    if cacheable:
        if len(alerts) >= ALERT_CACHE_SIZE:
            alerts.clear()
        alerts[section] = meaning
    return meaning
