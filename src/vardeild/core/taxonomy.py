"""The Reference Security Incident Taxonomy (RSIT), as IntelMQ's data format uses it:
each classification type belongs to exactly one taxonomy."""

from __future__ import annotations

TAXONOMY: dict[str, tuple[str, ...]] = {
    "abusive-content": ("spam", "harmful-speech", "violence"),
    "malicious-code": (
        "infected-system",
        "c2-server",
        "malware-distribution",
        "malware-configuration",
    ),
    "information-gathering": ("scanner", "sniffing", "social-engineering"),
    "intrusion-attempts": ("ids-alert", "brute-force", "exploit"),
    "intrusions": (
        "privileged-account-compromise",
        "unprivileged-account-compromise",
        "application-compromise",
        "system-compromise",
        "burglary",
    ),
    "availability": ("ddos", "dos", "outage", "sabotage"),
    "information-content-security": (
        "unauthorised-information-access",
        "unauthorised-information-modification",
        "data-loss",
        "data-leak",
    ),
    "fraud": ("unauthorised-use-of-resources", "copyright", "masquerade", "phishing"),
    "vulnerable": (
        "weak-crypto",
        "ddos-amplifier",
        "potentially-unwanted-accessible",
        "information-disclosure",
        "vulnerable-system",
    ),
    "other": ("other", "undetermined", "blacklist", "dga-domain", "tor"),
    "test": ("test",),
}

TAXONOMY_OF_TYPE: dict[str, str] = {
    kind: taxonomy for taxonomy, kinds in TAXONOMY.items() for kind in kinds
}


def taxonomy_of(classification_type: str) -> str:
    """Return the taxonomy a classification type belongs to; raise ValueError if unknown."""
    try:
        return TAXONOMY_OF_TYPE[classification_type]
    except KeyError:
        raise ValueError(
            f"{classification_type!r} is not a classification type of the Reference Security "
            f"Incident Taxonomy; known: {', '.join(sorted(TAXONOMY_OF_TYPE))}"
        ) from None
