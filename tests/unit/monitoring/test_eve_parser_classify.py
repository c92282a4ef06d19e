"""Alert classtypes mapped to RSIT, and alert severity."""

from __future__ import annotations

import pytest

from vardeild.core.taxonomy import TAXONOMY
from vardeild.monitoring.model import Severity
from vardeild.monitoring.parsers.eve_classify import (
    CLASSTYPES,
    alert_severity,
    classify_category,
)

# Every classtype of Suricata's etc/classification.config (short name, as EVE would not write
# it, and description, as EVE writes it in alert.category).
SURICATA_CLASSTYPES = {
    "not-suspicious": "Not Suspicious Traffic",
    "unknown": "Unknown Traffic",
    "bad-unknown": "Potentially Bad Traffic",
    "attempted-recon": "Attempted Information Leak",
    "successful-recon-limited": "Information Leak",
    "successful-recon-largescale": "Large Scale Information Leak",
    "attempted-dos": "Attempted Denial of Service",
    "successful-dos": "Denial of Service",
    "attempted-user": "Attempted User Privilege Gain",
    "unsuccessful-user": "Unsuccessful User Privilege Gain",
    "successful-user": "Successful User Privilege Gain",
    "attempted-admin": "Attempted Administrator Privilege Gain",
    "successful-admin": "Successful Administrator Privilege Gain",
    "rpc-portmap-decode": "Decode of an RPC Query",
    "shellcode-detect": "Executable code was detected",
    "string-detect": "A suspicious string was detected",
    "suspicious-filename-detect": "A suspicious filename was detected",
    "suspicious-login": "An attempted login using a suspicious username was detected",
    "system-call-detect": "A system call was detected",
    "tcp-connection": "A TCP connection was detected",
    "trojan-activity": "A Network Trojan was detected",
    "unusual-client-port-connection": "A client was using an unusual port",
    "network-scan": "Detection of a Network Scan",
    "denial-of-service": "Detection of a Denial of Service Attack",
    "non-standard-protocol": "Detection of a non-standard protocol or event",
    "protocol-command-decode": "Generic Protocol Command Decode",
    "web-application-activity": "access to a potentially vulnerable web application",
    "web-application-attack": "Web Application Attack",
    "misc-activity": "Misc activity",
    "misc-attack": "Misc Attack",
    "icmp-event": "Generic ICMP event",
    "inappropriate-content": "Inappropriate Content was Detected",
    "policy-violation": "Potential Corporate Privacy Violation",
    "default-login-attempt": "Attempt to login by a default username and password",
    "targeted-activity": "Targeted Malicious Activity was Detected",
    "exploit-kit": "Exploit Kit Activity Detected",
    "external-ip-check": "Device Retrieving External IP Address Detected",
    "domain-c2": "Domain Observed Used for C2 Detected",
    "pup-activity": "Possibly Unwanted Program Detected",
    "credential-theft": "Successful Credential Theft Detected",
    "social-engineering": "Possible Social Engineering Attempted",
    "coin-mining": "Crypto Currency Mining Activity Detected",
    "command-and-control": "Malware Command and Control Activity Detected",
}


def test_every_suricata_classtype_is_mapped_with_its_description() -> None:
    for short, description in SURICATA_CLASSTYPES.items():
        assert CLASSTYPES[short][0] == description


@pytest.mark.parametrize("short", list(CLASSTYPES))
def test_every_classtype_maps_to_an_rsit_pair_by_description_and_short_name(short: str) -> None:
    description = CLASSTYPES[short][0]
    taxonomy, ctype = classify_category(description)
    assert ctype in TAXONOMY[taxonomy]
    assert classify_category(short) == (taxonomy, ctype)
    assert classify_category(f"  {description.upper()} ") == (taxonomy, ctype)


@pytest.mark.parametrize(
    ("category", "pair"),
    [
        ("A Network Trojan was detected", ("malicious-code", "infected-system")),
        ("Attempted Administrator Privilege Gain", ("intrusion-attempts", "exploit")),
        ("Detection of a Network Scan", ("information-gathering", "scanner")),
        ("Potential Corporate Privacy Violation", ("other", "other")),
        ("Successful Administrator Privilege Gain",
         ("intrusions", "privileged-account-compromise")),
        ("Attempted Denial of Service", ("availability", "dos")),
        ("Successful Credential Theft Detected", ("fraud", "phishing")),
        ("Crypto Currency Mining Activity Detected", ("fraud", "unauthorised-use-of-resources")),
        ("Exploit Kit Activity Detected", ("malicious-code", "malware-distribution")),
        ("Unknown Traffic", ("other", "undetermined")),
        ("Potentially Bad Traffic", ("intrusion-attempts", "ids-alert")),
    ],
)  # fmt: skip
def test_classtypes_mean_what_the_issue_says(category: str, pair: tuple[str, str]) -> None:
    assert classify_category(category) == pair


@pytest.mark.parametrize("category", [None, "", "   ", "Local Site Policy", "trojan"])
def test_missing_empty_or_unknown_categories_are_ids_alerts(category: str | None) -> None:
    assert classify_category(category) == ("intrusion-attempts", "ids-alert")


@pytest.mark.parametrize(
    ("priority", "severity"),
    [(1, Severity.HIGH), (2, Severity.MEDIUM), (3, Severity.LOW), (4, Severity.INFO),
     (0, Severity.INFO), (255, Severity.INFO), (None, Severity.INFO)],
)  # fmt: skip
def test_severity_from_priority(priority: int | None, severity: Severity) -> None:
    assert alert_severity(priority, None) is severity


@pytest.mark.parametrize(
    ("priority", "labels", "severity"),
    [
        (3, ["Major"], Severity.HIGH),
        (3, ["Critical"], Severity.CRITICAL),
        (1, ["Critical"], Severity.CRITICAL),
        (None, ["MAJOR"], Severity.HIGH),
        (1, ["Minor"], Severity.HIGH),  # metadata only raises
        (2, ["Informational"], Severity.MEDIUM),
        (3, ["Minor", "Critical"], Severity.CRITICAL),
        (2, [], Severity.MEDIUM),
    ],
)
def test_signature_severity_metadata_raises_severity(
    priority: int | None, labels: list[str], severity: Severity
) -> None:
    assert alert_severity(priority, labels) is severity
