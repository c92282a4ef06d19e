"""Parsing and normalising the identifiers a registry holds: networks, ASNs, domains, e-mail
addresses and Norwegian organisation numbers.

Each function returns the canonical form or raises ValueError with a message a person can act on;
callers wrap that message with the record and field it came from.
"""

from __future__ import annotations

import ipaddress
import re

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Brønnøysund's weights for the mod-11 check digit of a 9-digit organisation number.
_ORG_NUMBER_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MAX_ASN = 4_294_967_295


def parse_network(text: str) -> IPNetwork:
    """Return the network written as CIDR; raise ValueError if malformed or host bits are set.

    A bare address is taken as a single host (/32 or /128): registries list lone servers.
    """
    value = text.strip()
    if not value:
        raise ValueError("is empty; write a network in CIDR form such as 192.0.2.0/24")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IPv4 or IPv6 network; write it in CIDR form "
                "such as 192.0.2.0/24 or 2001:db8::/32"
            ) from exc
        raise ValueError(
            f"{value!r} has host bits set; the network is {loose.with_prefixlen}, "
            f"or write a single host as {value.partition('/')[0]}/{loose.max_prefixlen}"
        ) from exc


def parse_asn(value: object) -> int:
    """Return an AS number from 64500, '64500' or 'AS64500'; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an AS number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().upper().removeprefix("AS")
        if not text.isdigit() or not text.isascii():
            raise ValueError(f"{value!r} is not an AS number; write it as 64500 or AS64500")
        number = int(text)
    else:
        raise ValueError(f"{value!r} is not an AS number")
    if not 0 < number <= MAX_ASN:
        raise ValueError(f"AS number {number} is outside 1..{MAX_ASN}")
    return number


def normalise_domain(text: str) -> str:
    """Return the domain lower-cased, IDNA-encoded, without a trailing dot; raise ValueError."""
    value = text.strip().rstrip(".").lower()
    if not value:
        raise ValueError("is empty; write a domain such as example.no")
    if value.startswith("*."):
        raise ValueError(
            f"{text!r} is a wildcard; write the domain itself, its subdomains are implied"
        )
    try:
        ascii_form = value.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{text!r} is not a valid domain name ({exc})") from exc
    if len(ascii_form) > 253:
        raise ValueError(f"{text!r} is longer than 253 characters")
    labels = ascii_form.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{text!r} is not a valid domain name; write it as example.no")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} looks like an address, not a domain name")
    return ascii_form


def normalise_email(text: str) -> str:
    """Return the address with its domain lower-cased; raise ValueError if it is not one address.

    Control characters, commas and angle brackets are refused: they are how header injection
    and multi-recipient tricks reach an SMTP envelope.
    """
    value = text.strip()
    if any(ch in value for ch in "\r\n\t\0,;<> ") or not _EMAIL.match(value):
        raise ValueError(f"{text!r} is not a single e-mail address such as soc@example.no")
    local, _, domain = value.rpartition("@")
    return f"{local}@{normalise_domain(domain)}"


def validate_org_number(text: str) -> str:
    """Return a Norwegian organisation number as 9 digits; raise ValueError if the mod-11 check
    digit is wrong. Spaces are allowed in the input (as in '974 760 673')."""
    digits = text.replace(" ", "").strip()
    if len(digits) != 9 or not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{text!r} is not 9 digits; a Norwegian organisation number has 9")
    total = sum(int(d) * w for d, w in zip(digits[:8], _ORG_NUMBER_WEIGHTS, strict=True))
    remainder = total % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(digits[8]):
        raise ValueError(f"{text!r} fails the mod-11 check digit; check for a mistyped digit")
    return digits


def org_number_with_check_digit(first_eight: str) -> str | None:
    """Return first_eight plus its check digit, or None where no valid digit exists."""
    total = sum(int(d) * w for d, w in zip(first_eight, _ORG_NUMBER_WEIGHTS, strict=True))
    remainder = total % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else f"{first_eight}{check}"


def domain_and_parents(domain: str) -> list[str]:
    """Return the domain and each parent down to the last two labels: a.b.example.no ->
    [a.b.example.no, b.example.no, example.no]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]
