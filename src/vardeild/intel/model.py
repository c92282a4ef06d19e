"""Indicators: their types, the one canonical form of each type's values, and what the services
hand back. No I/O.

Every value is stored, compared and matched in its canonical form, so that `Example.NO.`,
`example.no` and `EXAMPLE.no` are one indicator, and so that the matcher can compare exactly.
Each normaliser returns that form or raises ValueError with a message a person can act on;
callers add the line and column the value came from. docs/indicators.md is the reference.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from vardeild.core.errors import FieldProblem
from vardeild.core.identifiers import normalise_domain, normalise_email, parse_asn, parse_network
from vardeild.core.tlp import Tlp

MAX_VALUE_LENGTH = 2048  # bytes of UTF-8: a btree entry on PostgreSQL holds at most ~2.7 kB
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 2000
MAX_SOURCE_LENGTH = 64  # it is the audit entry's entity id for a load
MAX_OBJECT_ID_LENGTH = 128  # a STIX id is 'type--' and a 36-character UUID
DEFAULT_TLP = Tlp.AMBER
DEFAULT_CONFIDENCE = 50
DEFAULT_SOURCE = "manual"


class IndicatorType(StrEnum):
    """What an indicator's value is, and so which event fields it is matched against."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"
    CIDR = "cidr"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    JA3 = "ja3"
    JA3S = "ja3s"
    JA4 = "ja4"
    TLS_SNI = "tls-sni"
    HTTP_HOST = "http-host"
    ASN = "asn"
    X509_SHA1 = "x509-sha1"


# type -> (what the value is, its canonical form, which event fields it matches). Kept as data:
# docs/indicators.md lists the same, and a test checks that every type is documented.
TYPE_REFERENCE: dict[IndicatorType, tuple[str, str, str]] = {
    IndicatorType.IPV4: (
        "An IPv4 address",
        "dotted quad without leading zeros: `192.0.2.1`",
        "`source.ip`, `destination.ip`",
    ),
    IndicatorType.IPV6: (
        "An IPv6 address",
        "compressed, lower case: `2001:db8::1`",
        "`source.ip`, `destination.ip` (in any textual form)",
    ),
    IndicatorType.CIDR: (
        "An IPv4 or IPv6 network; host bits must be clear",
        "`192.0.2.0/24`, `2001:db8::/32`; a bare address is a /32 or /128",
        "`source.ip`, `destination.ip` inside the network",
    ),
    IndicatorType.DOMAIN: (
        "A domain name; it also stands for every name under it",
        "lower case, IDNA (`xn--`) for non-ASCII names, no trailing dot",
        "`source.fqdn`, `destination.fqdn`, `extra.dns.query`, `extra.tls.sni`, "
        "`extra.http.host`, the host of `source.url` and `destination.url`: the name itself "
        "or any name ending in `.` and the domain",
    ),
    IndicatorType.URL: (
        "A URL with a scheme and a host",
        "scheme and host lower case, default port dropped, fragment dropped, an empty path "
        "written `/`; path and query as given",
        "`source.url`, `destination.url` after the same normalisation",
    ),
    IndicatorType.EMAIL: (
        "An e-mail address",
        "domain part lower case",
        "nothing yet (stored for sharing)",
    ),
    IndicatorType.MD5: ("An MD5 file hash", "32 hex digits, lower case", "`malware.hash.md5`"),
    IndicatorType.SHA1: ("A SHA-1 file hash", "40 hex digits, lower case", "`malware.hash.sha1`"),
    IndicatorType.SHA256: (
        "A SHA-256 file hash",
        "64 hex digits, lower case",
        "`malware.hash.sha256`",
    ),
    IndicatorType.JA3: (
        "A JA3 TLS client fingerprint",
        "32 hex digits, lower case",
        "`extra.tls.ja3`",
    ),
    IndicatorType.JA3S: (
        "A JA3S TLS server fingerprint",
        "32 hex digits, lower case",
        "`extra.tls.ja3s`",
    ),
    IndicatorType.JA4: (
        "A JA4 TLS client fingerprint",
        "`t13d1516h2_8daaf6152771_b186095e22b6`, lower case",
        "`extra.tls.ja4`",
    ),
    IndicatorType.TLS_SNI: (
        "A TLS server name, matched as that exact name only",
        "as a domain",
        "`extra.tls.sni`, exactly",
    ),
    IndicatorType.HTTP_HOST: (
        "An HTTP Host header value, matched as that exact host only",
        "as a domain, or an IP address (IPv6 in brackets); no port",
        "`extra.http.host` (its port ignored), exactly",
    ),
    IndicatorType.ASN: ("An autonomous system", "`AS64500`", "nothing yet (stored for sharing)"),
    IndicatorType.X509_SHA1: (
        "The SHA-1 fingerprint of an X.509 certificate (abuse.ch SSLBL)",
        "40 hex digits, lower case (colons removed)",
        "nothing yet (stored for sharing)",
    ),
}


def types_table() -> str:
    """Return TYPE_REFERENCE as the Markdown table docs/indicators.md holds."""
    rows = ["| type | what it is | canonical form | matched against |", "|---|---|---|---|"]
    rows += [
        f"| `{kind.value}` | {what} | {form} | {fields} |"
        for kind, (what, form, fields) in TYPE_REFERENCE.items()
    ]
    return "\n".join(rows) + "\n"


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"^(?:{_OCTET}\.){{3}}{_OCTET}$")
_LDH_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_ASCII_DOMAIN = re.compile(rf"^(?:{_LDH_LABEL}\.)+{_LDH_LABEL}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_JA4 = re.compile(r"^[tqd][0-9a-z]{2}[di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")
_ASN_TEXT = re.compile(r"^AS[0-9]+$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")
_HOST = re.compile(r"^[a-z0-9_.-]+$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_HEX_LENGTHS = {
    IndicatorType.MD5: 32,
    IndicatorType.SHA1: 40,
    IndicatorType.SHA256: 64,
    IndicatorType.JA3: 32,
    IndicatorType.JA3S: 32,
    IndicatorType.X509_SHA1: 40,
}


def _reject_blank_or_long(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("is empty")
    size = len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    if size > MAX_VALUE_LENGTH:
        raise ValueError(f"is {size} bytes long; at most {MAX_VALUE_LENGTH} are allowed")
    if _SPACE_OR_CONTROL.search(value):
        raise ValueError(f"{value!r} holds spaces or control characters")
    return value


def normalise_ip(text: str, version: int) -> str:
    """Return the canonical text of an IPv4 (version 4) or IPv6 (6) address; raise ValueError."""
    value = _reject_blank_or_long(text)
    if version == 4 and _DOTTED_QUAD.match(value):
        return value  # already canonical; the common case of a million-line feed
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        what = "IPv4" if version == 4 else "IPv6"
        raise ValueError(f"{value!r} is not an {what} address") from None
    if address.version != version:
        raise ValueError(f"{value!r} is an IPv{address.version} address, not IPv{version}")
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            raise ValueError(f"{value!r} has a zone id; write the address without %{{zone}}")
        if address.ipv4_mapped is not None:
            raise ValueError(
                f"{value!r} is an IPv4-mapped address; write it as {address.ipv4_mapped} (ipv4), "
                "which also matches its mapped form"
            )
    return str(address)


def normalise_cidr(text: str) -> str:
    """Return the canonical text of a network (`192.0.2.0/24`); raise ValueError, also when host
    bits are set."""
    value = _reject_blank_or_long(text)
    network = parse_network(value)
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        raise ValueError(f"{value!r} is in the IPv4-mapped range; write the IPv4 network")
    return str(network)


def normalise_host_name(text: str) -> str:
    """Return a domain name lower case, IDNA-encoded, without trailing dot; raise ValueError."""
    value = _reject_blank_or_long(text)
    name = value.rstrip(".").lower()
    # An ASCII name in letter-digit-hyphen labels is what core's normaliser would return, and
    # far cheaper to recognise than to pass through the IDNA codec a million times.
    if len(name) <= 253 and _ASCII_DOMAIN.match(name) and not name.rpartition(".")[2].isdigit():
        return name
    return normalise_domain(value)


def normalise_http_host(text: str) -> str:
    """Return an HTTP host as a canonical domain name, IPv4 address or bracketed IPv6 address;
    raise ValueError (also when a port is given: the port is never part of the match)."""
    value = _reject_blank_or_long(text)
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        if ":" in value:
            raise ValueError(
                f"{value!r} holds a port or is not a host; write the host only"
            ) from None
        return normalise_domain(value)
    return f"[{address}]" if address.version == 6 else str(address)


def normalise_url(text: str) -> str:
    """Return the URL with scheme and host lower case, the default port and the fragment dropped,
    and an empty path written `/`; path, query and user info stay as given. Raise ValueError."""
    value = _reject_blank_or_long(text)
    if "://" not in value:
        raise ValueError(f"{value!r} has no scheme; write it as http://example.no/path")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not _SCHEME.match(scheme):
        raise ValueError(f"{value!r} has no valid scheme")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    host = url_host_name(parts.hostname)
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            raise ValueError(f"{value!r} has an invalid IPv6 host") from None
    elif not host or not _HOST.match(host):
        raise ValueError(f"{value!r} has an invalid host {host!r}")
    userinfo = parts.netloc.rpartition("@")[0]
    authority = f"{userinfo}@{host}" if "@" in parts.netloc else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        authority = f"{authority}:{port}"
    path = parts.path or ("/" if scheme in _DEFAULT_PORTS else "")
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{authority}{path}{query}"


def url_host_name(host: str) -> str:
    """Return a URL's host as the matcher compares it: lower case, no trailing dot, IDNA for
    non-ASCII names ('' where a non-ASCII name has no IDNA form)."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""


def normalise_hex(text: str, kind: IndicatorType) -> str:
    """Return a hash or JA3/JA3S fingerprint as lower-case hex of its length; raise ValueError."""
    value = _reject_blank_or_long(text)
    length = _HEX_LENGTHS[kind]
    if not _HEX.match(value):
        raise ValueError(f"{value!r} is not hexadecimal; type {kind.value} is {length} hex digits")
    if len(value) != length:
        raise ValueError(f"{value!r} has {len(value)} hex digits; type {kind.value} has {length}")
    return value.lower()


def _x509_sha1(text: str) -> str:
    """Certificate fingerprints are often written with colons (`AB:CD:...`); drop them."""
    return normalise_hex(text.replace(":", ""), IndicatorType.X509_SHA1)


def normalise_ja4(text: str) -> str:
    """Return a JA4 fingerprint lower case; raise ValueError unless it has JA4's a_b_c form."""
    value = _reject_blank_or_long(text).lower()
    if not _JA4.match(value):
        raise ValueError(
            f"{value!r} is not a JA4 fingerprint such as t13d1516h2_8daaf6152771_b186095e22b6"
        )
    return value


def normalise_indicator(kind: IndicatorType, text: str) -> str:
    """Return the canonical form of a value of the given type; raise ValueError saying why it is
    not one (and what it looks like instead, where that can be told)."""
    try:
        return _NORMALISERS[kind](text)
    except ValueError as exc:
        hint = ""
        try:
            other, _ = infer_indicator(text)
        except ValueError:
            pass
        else:
            if other is not kind:
                hint = f" (it looks like type {other.value})"
        raise ValueError(f"{exc}{hint}") from None


def infer_indicator(text: str) -> tuple[IndicatorType, str]:
    """Return the type a value must be and its canonical form; raise ValueError when it is
    ambiguous (32 hex digits: MD5, JA3 or JA3S) or is no indicator at all."""
    value = _reject_blank_or_long(text)
    if "://" in value:
        return IndicatorType.URL, normalise_url(value)
    if "@" in value:
        return IndicatorType.EMAIL, normalise_email(value)
    if _HEX.match(value):
        if len(value) == 32:
            raise ValueError(
                f"{value!r} is 32 hex digits: an MD5 hash, a JA3 or a JA3S fingerprint; "
                "give the type (md5, ja3 or ja3s)"
            )
        for kind in (IndicatorType.SHA1, IndicatorType.SHA256):
            if len(value) == _HEX_LENGTHS[kind]:
                return kind, value.lower()
        if not value.isdigit():
            raise ValueError(
                f"{value!r} is {len(value)} hex digits, no hash length Vardeild knows "
                "(MD5 32, SHA-1 40, SHA-256 64)"
            )
    if _JA4.match(value.lower()):
        return IndicatorType.JA4, value.lower()
    if _ASN_TEXT.match(value):
        return IndicatorType.ASN, f"AS{parse_asn(value)}"
    if value.isdigit():
        raise ValueError(f"{value!r} is a number; write an AS number as AS{value} or give a type")
    if "/" in value:
        if not value.rpartition("/")[2].isdigit():
            raise ValueError(f"{value!r} looks like a URL without a scheme; write http://{value}")
        return IndicatorType.CIDR, normalise_cidr(value)
    if ":" in value or value.replace(".", "").isdigit():
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IP address") from None
        kind = IndicatorType.IPV4 if address.version == 4 else IndicatorType.IPV6
        return kind, normalise_ip(value, address.version)
    try:
        return IndicatorType.DOMAIN, normalise_host_name(value)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an IP address, network, domain, URL, e-mail address, hash, JA4 "
            f"fingerprint or AS number (as a domain: {exc})"
        ) from None


def _asn(text: str) -> str:
    return f"AS{parse_asn(_reject_blank_or_long(text))}"


def _email(text: str) -> str:
    return normalise_email(_reject_blank_or_long(text))


_NORMALISERS = {
    IndicatorType.IPV4: lambda text: normalise_ip(text, 4),
    IndicatorType.IPV6: lambda text: normalise_ip(text, 6),
    IndicatorType.CIDR: normalise_cidr,
    IndicatorType.DOMAIN: normalise_host_name,
    IndicatorType.URL: normalise_url,
    IndicatorType.EMAIL: _email,
    IndicatorType.MD5: lambda text: normalise_hex(text, IndicatorType.MD5),
    IndicatorType.SHA1: lambda text: normalise_hex(text, IndicatorType.SHA1),
    IndicatorType.SHA256: lambda text: normalise_hex(text, IndicatorType.SHA256),
    IndicatorType.JA3: lambda text: normalise_hex(text, IndicatorType.JA3),
    IndicatorType.JA3S: lambda text: normalise_hex(text, IndicatorType.JA3S),
    IndicatorType.JA4: normalise_ja4,
    IndicatorType.TLS_SNI: normalise_host_name,
    IndicatorType.HTTP_HOST: normalise_http_host,
    IndicatorType.ASN: _asn,
    IndicatorType.X509_SHA1: _x509_sha1,
}


def parse_indicator_type(text: str) -> IndicatorType:
    """Return the type text names (case-insensitive; `_` for `-` accepted); raise ValueError."""
    value = text.strip().lower().replace("_", "-")
    try:
        return IndicatorType(value)
    except ValueError:
        choices = ", ".join(kind.value for kind in IndicatorType)
        raise ValueError(f"{text!r} is not an indicator type; write one of {choices}") from None


def parse_confidence(text: str) -> int:
    """Return a confidence from 0 to 100; raise ValueError."""
    value = text.strip()
    if not value.isdigit() or not value.isascii() or int(value) > 100:
        raise ValueError(f"{text!r} is not a whole number from 0 to 100")
    return int(value)


def parse_valid_until(text: str) -> datetime:
    """Return the instant an indicator stops matching, in UTC: a date alone means through the end
    of that day (UTC); a time without an offset is UTC. Raise ValueError."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(days=1)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or time; write 2026-12-31 or 2026-12-31T12:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_tags(text: str) -> tuple[str, ...]:
    """Return the tags of a cell separated by `;` or `,`, stripped and without repeats; raise
    ValueError on too many, too long or control characters."""
    tags: list[str] = []
    for part in re.split(r"[;,]", text):
        tag = part.strip()
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        if _CONTROL.search(tag):
            raise ValueError(f"tag {tag!r} holds control characters")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"has {len(tags)} tags; at most {MAX_TAGS} are allowed")
    return tuple(tags)


def clean_source(text: str) -> str:
    """Return a source name stripped; raise ValueError if empty, too long or holding control
    characters."""
    value = text.strip()
    if not value:
        raise ValueError("is empty; name where the indicators come from, e.g. feodotracker")
    if len(value) > MAX_SOURCE_LENGTH:
        raise ValueError(f"is longer than {MAX_SOURCE_LENGTH} characters")
    if _CONTROL.search(value):
        raise ValueError("holds control characters")
    return value


@dataclass(frozen=True, slots=True)
class IndicatorRecord:
    """One indicator read from a file, checked and canonical, ready to store."""

    line: int
    type: IndicatorType
    value: str
    tlp: Tlp
    confidence: int
    valid_until: datetime | None
    tags: tuple[str, ...] = ()
    description: str = ""
    stix_id: str | None = None  # the STIX indicator id or MISP attribute uuid it came from
    first_seen: datetime | None = None  # when the source first saw it, if it says


@dataclass(frozen=True, slots=True)
class Indicator:
    """A stored indicator."""

    id: int
    type: IndicatorType
    value: str
    source: str
    tlp: Tlp
    confidence: int
    first_seen: datetime
    last_seen: datetime
    valid_until: datetime | None
    tags: tuple[str, ...]
    description: str
    sighting_count: int
    last_sighted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    stix_id: str | None = None  # the STIX indicator id or MISP attribute uuid it came from
    feed_id: int | None = None  # the configured feed that brought it

    def is_valid_at(self, moment: datetime) -> bool:
        """Return True if the indicator matches at that moment (it has not expired)."""
        return self.valid_until is None or self.valid_until > moment

    def to_dict(self) -> dict[str, Any]:
        """Return the indicator as JSON-ready values (times as ISO 8601)."""

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {
            "id": self.id,
            "type": self.type.value,
            "value": self.value,
            "source": self.source,
            "tlp": self.tlp.value,
            "confidence": self.confidence,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "valid_until": iso(self.valid_until),
            "tags": list(self.tags),
            "description": self.description,
            "sighting_count": self.sighting_count,
            "last_sighted_at": iso(self.last_sighted_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "stix_id": self.stix_id,
            "feed_id": self.feed_id,
        }


@dataclass(frozen=True)
class IndicatorFilter:
    """Which indicators to list; None means any."""

    type: IndicatorType | None = None
    source: str | None = None
    text: str | None = None  # a part of the value
    valid_at: datetime | None = None  # only those that match at this moment
    tlp: Tlp | None = None
    feed_id: int | None = None


@dataclass(frozen=True)
class LoadResult:
    """What a load did (or, in a dry run, would do)."""

    source: str
    format: str
    dry_run: bool
    records: int  # valid indicator rows read
    created: int
    updated: int
    unchanged: int
    duplicates: int  # rows repeating an earlier row's type and value; the later one counts
    skipped: int  # invalid rows left out (--skip-invalid)
    problems: tuple[FieldProblem, ...] = ()
    by_type: dict[str, int] = field(default_factory=dict)
    revision: int = 0  # the indicator revision after the load
    unmatchable: int = 0  # objects kept as not matchable (STIX patterns, MISP attributes)
    ignored: int = 0  # objects that are no indicators (reports, context attributes)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready values."""
        return {
            "unmatchable": self.unmatchable,
            "ignored": self.ignored,
            "source": self.source,
            "format": self.format,
            "dry_run": self.dry_run,
            "records": self.records,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "problems": [str(problem) for problem in self.problems],
            "by_type": dict(self.by_type),
            "revision": self.revision,
        }


@dataclass(frozen=True)
class IndicatorStats:
    """Counts over the whole indicator table."""

    total: int
    valid: int
    expired: int
    by_type: dict[str, int]
    by_source: dict[str, int]
    sighted: int  # indicators seen by the sensors at least once
    sightings: int  # sightings in all
    revision: int

    def to_dict(self) -> dict[str, Any]:
        """Return the counts as JSON-ready values."""
        return {
            "total": self.total,
            "valid": self.valid,
            "expired": self.expired,
            "by_type": dict(self.by_type),
            "by_source": dict(self.by_source),
            "sighted": self.sighted,
            "sightings": self.sightings,
            "revision": self.revision,
        }
