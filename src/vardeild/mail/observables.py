"""Candidate observables in free text: IP addresses, domains, URLs, file hashes and CVE ids.

Reports quote indicators defanged so that no mail client makes them clickable (`hxxp://`,
`evil[.]example`, `10.0.0[.]1`); they are refanged before matching. What is found is only a
candidate: an analyst decides what becomes an indicator. Nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MAX_OBSERVABLES = 500  # a pasted log of a million lines must not make a million candidates

# Defanging in use by CERTs and vendors, longest first so "[.]" wins over "[" alone.
_DEFANGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"h[xX]{2}p(s?)(?=\[?:|://)", re.IGNORECASE), r"http\1"),
    (re.compile(r"f[xX]p(?=\[?:|://)", re.IGNORECASE), "ftp"),
    (re.compile(r"\[\s*:\s*\]//|\[://\]", re.IGNORECASE), "://"),
    (re.compile(r"\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}", re.I), "."),
    (re.compile(r"\[\s*:\s*\]"), ":"),
    (re.compile(r"\[\s*(?:@|at)\s*\]", re.IGNORECASE), "@"),
)

_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\w)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", re.IGNORECASE)
_DOMAIN = re.compile(
    r"(?<![\w.@-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62})(?![\w-])",
    re.IGNORECASE,
)
_HASH = re.compile(r"(?<![0-9a-f])([0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])", re.I)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.IGNORECASE)
_HASH_TYPES = {32: "md5", 40: "sha1", 64: "sha256"}
# File names look like domains ("report.pdf"); these endings are files far more often than
# top-level domains (.zip and .mov are both, and are kept only in URLs).
_FILE_ENDINGS = frozenset(
    [
        "exe",
        "dll",
        "pdf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "txt",
        "log",
        "csv",
        "json",
        "xml",
        "html",
        "htm",
        "js",
        "zip",
        "rar",
        "gz",
        "tgz",
        "7z",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "svg",
        "mov",
        "mp4",
        "py",
        "sh",
        "bat",
        "ps1",
        "vbs",
        "eml",
        "msg",
        "asc",
        "sig",
        "iso",
        "img",
        "bin",
        "tmp",
        "ini",
        "cfg",
        "conf",
        "yml",
        "yaml",
        "md",
        "jar",
        "war",
        "apk",
        "lnk",
        "hta",
    ]
)


@dataclass(frozen=True)
class Observable:
    """One candidate: its kind (ipv4, ipv6, domain, url, md5, sha1, sha256, cve) and value."""

    kind: str
    value: str

    def as_dict(self) -> dict[str, str]:
        """Return {"type": kind, "value": value}, as stored and handed to cases."""
        return {"type": self.kind, "value": self.value}


def refang(text: str) -> str:
    """Return text with the usual defanging undone (hxxp, [.], (dot), [:], [at])."""
    for pattern, replacement in _DEFANGS:
        text = pattern.sub(replacement, text)
    return text


def extract_observables(text: str, *, limit: int = MAX_OBSERVABLES) -> list[Observable]:
    """Return the candidate observables in text, each once, in order of first appearance,
    at most limit of them."""
    plain = refang(text)
    found: dict[tuple[str, str], Observable] = {}
    order: dict[tuple[str, str], int] = {}
    spans: list[tuple[int, int]] = []

    def add(kind: str, value: str, position: int) -> None:
        key = (kind, value)
        if key not in found and len(found) < limit:
            found[key] = Observable(kind, value)
            order[key] = position

    for match in _URL.finditer(plain):
        url = match.group(0).rstrip(".,;:!?)'\"")
        add("url", url, match.start())
        spans.append((match.start(), match.start() + len(url)))
        host = re.sub(r"^[a-z]+://(?:[^@/]*@)?", "", url, flags=re.IGNORECASE)
        host = re.split(r"[/:?#]", host, maxsplit=1)[0].lower()
        if _is_ip(host):
            add(_ip_kind(host), host, match.start())
        elif _DOMAIN.fullmatch(host):
            add("domain", host, match.start())
    for match in _CVE.finditer(plain):
        add("cve", match.group(0).upper(), match.start())
    for match in _HASH.finditer(plain):
        value = match.group(1).lower()
        add(_HASH_TYPES[len(value)], value, match.start())
    for match in _IPV4.finditer(plain):
        if _is_ip(match.group(0)) and not _inside(match.start(), spans):
            add("ipv4", match.group(0), match.start())
    for match in _IPV6.finditer(plain):
        candidate = match.group(0)
        if candidate.count(":") >= 2 and _is_ip(candidate) and not _inside(match.start(), spans):
            add("ipv6", str(ipaddress.ip_address(candidate)), match.start())
    for match in _DOMAIN.finditer(plain):
        value = match.group(1).lower().rstrip(".")
        ending = value.rpartition(".")[2]
        if ending in _FILE_ENDINGS or ending.isdigit() or _inside(match.start(), spans):
            continue
        add("domain", value, match.start())
    return sorted(found.values(), key=lambda item: order[(item.kind, item.value)])


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _ip_kind(value: str) -> str:
    return "ipv4" if ipaddress.ip_address(value).version == 4 else "ipv6"
