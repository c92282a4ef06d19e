"""Shared indicators as files a Suricata sensor matches locally: datasets, an IP reputation
list and a rules file that uses them.

- Datasets (Suricata 7+; `dataset:isset,<name>,type <t>,load <file>`): names as `string`
  sets (one base64 line each, as Suricata reads string sets), addresses as `ipv4` and `ip`
  sets, JA3/JA3S as `md5` sets. Rules look them up on `dns.query`, `tls.sni`, `http.host`,
  `ip.src`/`ip.dst` and `ja3.hash`/`ja3s.hash`.
- File hashes: the same one-hex-per-line lists, read by `filemd5`, `filesha1` and
  `filesha256`, which hash the whole file as it is reassembled (a dataset lookup after
  `to_md5` would hash only the buffer inspected).
- Networks (CIDR): an IP reputation file (`reputation-files` in suricata.yaml) with one
  category, the indicator's confidence as its score (1-127), and an `iprep` rule.

Datasets match exact values: a domain indicator matches the name itself, not the names under
it as Vardeild's own matcher does; URLs, e-mail addresses, JA4 and ASNs are not exported.
Every file is written even when empty, and rules keep their sid from one export to the next,
so a sensor's configuration never changes, only the lists do.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from vardeild.core.tlp import Tlp
from vardeild.intel.model import IndicatorType
from vardeild.intel.sharing import SharedIndicator

PREFIX = "vardeild"
SID_BASE = 9_740_000  # sids 9740001-9740099 are Vardeild's intel rules
IPREP_CATEGORY = (1, "VardeildIntel", "Vardeild threat indicators")

# dataset file -> (Suricata dataset type, indicator types in it, base64?)
_DATASETS: dict[str, tuple[str, tuple[IndicatorType, ...], bool]] = {
    "domain": ("string", (IndicatorType.DOMAIN,), True),
    "tls-sni": ("string", (IndicatorType.TLS_SNI,), True),
    "http-host": ("string", (IndicatorType.HTTP_HOST,), True),
    "ipv4": ("ipv4", (IndicatorType.IPV4,), False),
    "ipv6": ("ip", (IndicatorType.IPV6,), False),
    "ja3": ("md5", (IndicatorType.JA3,), False),
    "ja3s": ("md5", (IndicatorType.JA3S,), False),
    "md5": ("md5", (IndicatorType.MD5,), False),
    "sha1": ("sha1", (IndicatorType.SHA1,), False),
    "sha256": ("sha256", (IndicatorType.SHA256,), False),
}

# (sid offset, protocol, sticky buffer or file keyword, dataset, what the message says)
_RULES: tuple[tuple[int, str, str, str, str], ...] = (
    (1, "dns", "dns.query", "domain", "DNS query for a listed domain"),
    (2, "tls", "tls.sni", "domain", "TLS SNI of a listed domain"),
    (3, "http", "http.host", "domain", "HTTP Host of a listed domain"),
    (4, "tls", "tls.sni", "tls-sni", "listed TLS SNI"),
    (5, "http", "http.host", "http-host", "listed HTTP Host"),
    (6, "ip", "ip.src", "ipv4", "traffic from a listed IPv4 address"),
    (7, "ip", "ip.dst", "ipv4", "traffic to a listed IPv4 address"),
    (8, "ip", "ip.src", "ipv6", "traffic from a listed IPv6 address"),
    (9, "ip", "ip.dst", "ipv6", "traffic to a listed IPv6 address"),
    (10, "tls", "ja3.hash", "ja3", "listed JA3 client fingerprint"),
    (11, "tls", "ja3s.hash", "ja3s", "listed JA3S server fingerprint"),
    (12, "any", "filemd5", "md5", "file with a listed MD5"),
    (13, "any", "filesha1", "sha1", "file with a listed SHA-1"),
    (14, "any", "filesha256", "sha256", "file with a listed SHA-256"),
)


@dataclass(frozen=True)
class SensorExport:
    """The files of a sensor export: name -> content, and how many values each list holds."""

    files: dict[str, bytes]
    counts: dict[str, int]


def dataset_file(name: str) -> str:
    """Return the file name of a dataset (`vardeild-domain.lst`)."""
    return f"{PREFIX}-{name}.lst"


def _line(kind: IndicatorType, value: str, encoded: bool) -> str:
    if kind is IndicatorType.HTTP_HOST and value.startswith("["):
        value = value[1:-1]  # Suricata's http.host holds IPv6 literals bracketed; keep both
    return base64.b64encode(value.encode("utf-8")).decode("ascii") if encoded else value


def _rule(sid: int, proto: str, keyword: str, dataset: str, message: str) -> str:
    file = dataset_file(dataset)
    if keyword.startswith("file"):
        match = f"{keyword}:{file};"
        proto = "http" if proto == "any" else proto
    else:
        kind = _DATASETS[dataset][0]
        match = f"{keyword}; dataset:isset,{PREFIX}-{dataset},type {kind},load {file};"
    return (
        f'alert {proto} any any -> any any (msg:"VARDEILD intel {message}"; {match} '
        f"classtype:bad-unknown; sid:{SID_BASE + sid}; rev:1;)"
    )


def suricata_export(indicators: Iterable[SharedIndicator]) -> SensorExport:
    """Return the datasets, IP reputation files and rules of the shared indicators. Raise
    ValueError for a TLP:RED indicator, which never leaves the CERT."""
    by_type: dict[IndicatorType, set[str]] = {}
    networks: dict[str, int] = {}
    for indicator in indicators:
        if indicator.tlp is Tlp.RED:
            raise ValueError(f"indicator {indicator.id} is TLP:RED and is never shared")
        if indicator.type is IndicatorType.CIDR:
            score = max(1, min(127, indicator.confidence * 127 // 100))
            networks[indicator.value] = max(score, networks.get(indicator.value, 0))
        else:
            by_type.setdefault(indicator.type, set()).add(indicator.value)
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for name, (_, kinds, encoded) in _DATASETS.items():
        lines = sorted({_line(k, v, encoded) for k in kinds for v in by_type.get(k, ())})
        files[dataset_file(name)] = "".join(f"{line}\n" for line in lines).encode("ascii")
        counts[name] = len(lines)
    number, short, long = IPREP_CATEGORY
    files[f"{PREFIX}-iprep-categories.txt"] = f"{number},{short},{long}\n".encode()
    files[f"{PREFIX}-iprep.list"] = "".join(
        f"{network},{number},{score}\n" for network, score in sorted(networks.items())
    ).encode("ascii")
    counts["cidr"] = len(networks)
    rules = [_rule(*rule) for rule in _RULES]
    rules.append(
        f'alert ip any any -> any any (msg:"VARDEILD intel traffic with a listed network"; '
        f"iprep:any,{short},>,0; classtype:bad-unknown; sid:{SID_BASE + 15}; rev:1;)"
    )
    header = (
        "# Vardeild threat indicators for Suricata 7+. Datasets load from the rules'\n"
        "# directory; add vardeild-iprep-categories.txt and vardeild-iprep.list to\n"
        "# reputation-categories-file and reputation-files in suricata.yaml.\n"
    )
    files[f"{PREFIX}.rules"] = (header + "\n".join(rules) + "\n").encode("ascii")
    return SensorExport(files=files, counts=counts)
