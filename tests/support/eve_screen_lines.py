"""EVE lines for the screen's tests (tests/unit/monitoring/test_eve_screen*.py): a member
registry, indicators of every kind, and lines covering every event type, the dns v1/v2/v3
layouts, tunnels, escapes, missing members, wrong types and malformed JSON."""

from __future__ import annotations

import json
from typing import Any

from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.members.attribution import AttributionIndex

TS = "2024-03-01T00:00:00.000000+0100"
MEMBER_A, MEMBER_B, MEMBER_C = 11, 12, 13

INDEX = AttributionIndex.build(
    [("10.0.0.0/8", MEMBER_A), ("192.0.2.0/24", MEMBER_B), ("2001:db8::/32", MEMBER_C)], [], []
)
INDICATORS = [
    (1, IndicatorType.IPV4, "203.0.113.9"),
    (2, IndicatorType.CIDR, "198.51.100.0/28"),
    (3, IndicatorType.IPV6, "2001:db8:bad::1"),
    (4, IndicatorType.DOMAIN, "evil.example"),
    (5, IndicatorType.URL, "http://files.example/payload.exe"),
    (6, IndicatorType.TLS_SNI, "sni-only.example"),
    (7, IndicatorType.HTTP_HOST, "host-only.example"),
    (8, IndicatorType.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
    (9, IndicatorType.SHA256, "a" * 64),
    (10, IndicatorType.JA3, "e7d705a3286e19ea42f587b344ee6865"),
    (11, IndicatorType.JA3S, "f4febc55ea12b31ae17cfb7e614afda8"),
    (12, IndicatorType.JA4, "t13d1516h2_8daaf6152771_02713d6af862"),
    (13, IndicatorType.SHA1, "b" * 40),
    (14, IndicatorType.DOMAIN, "xn--bcher-kva.example"),
    (15, IndicatorType.URL, "http://proxy.example/direct"),
]
MATCHER = IndicatorMatcher.build(sorted(INDICATORS, key=lambda entry: entry[1]))


def line(kind: str = "flow", /, **members: Any) -> bytes:
    """Return an EVE line in Suricata's member order, members overriding the defaults (`...`
    removes one). A backslash written in a value stays one: "\\u0000" is JSON's escape."""
    record: dict[str, Any] = {
        "timestamp": TS,
        "flow_id": 1234,
        "in_iface": "eth0",
        "event_type": kind,
        "src_ip": "10.1.2.3",
        "src_port": 51000,
        "dest_ip": "93.184.216.34",
        "dest_port": 443,
        "proto": "TCP",
    }
    for key, value in members.items():
        if value is ...:
            record.pop(key, None)
        else:
            record[key] = value
    return json.dumps(record, separators=(",", ":")).replace("\\\\", "\\").encode()


FLOW = {
    "pkts_toserver": 3,
    "pkts_toclient": 2,
    "bytes_toserver": 300,
    "bytes_toclient": 200,
    "start": TS,
    "end": TS,
    "age": 1,
    "state": "closed",
    "reason": "timeout",
    "alerted": False,
}
ALERT = {
    "action": "allowed",
    "gid": 1,
    "signature_id": 2010935,
    "rev": 3,
    "signature": "ET POLICY Suspicious inbound",
    "category": "Potentially Bad Traffic",
    "severity": 2,
}

LINES: list[bytes] = [
    # flow: member to outside, outside to outside (unattributed), IPv6, expanded IPv6, mapped
    line("flow", flow=FLOW, app_proto="tls"),
    line("flow", src_ip="8.8.8.8", dest_ip="9.9.9.9", flow=FLOW),
    line("flow", src_ip="2001:db8::5", dest_ip="2a00:1450::1", flow=FLOW),
    line("flow", src_ip="2001:0db8:0000:0000:0000:0000:0000:0005", dest_ip="8.8.4.4"),
    line("flow", src_ip="::ffff:203.0.113.9", dest_ip="10.9.9.9"),
    line("netflow", netflow={"pkts": 4, "bytes": 400, "age": 0}),
    # addresses an indicator holds: an address, inside a CIDR, an IPv6 address
    line("flow", dest_ip="203.0.113.9", flow=FLOW),
    line("flow", src_ip="198.51.100.7", dest_ip="10.0.0.1"),
    line("flow", src_ip="2001:db8:bad::1", dest_ip="2001:db8::2"),
    line("flow", src_ip="203.0.113.10", dest_ip="10.0.0.1"),  # same /24, not listed
    # a tunnel: the outer addresses nested, the inner ones on top
    line("flow", tunnel={"src_ip": "203.0.113.9", "dest_ip": "10.0.0.1", "depth": 1}),
    line(
        "dns",
        tunnel={"src_ip": "192.0.2.1", "dest_ip": "10.0.0.1", "depth": 1},
        dns={"type": "query", "rrname": "www.evil.example", "rrtype": "A"},
    ),
    # dns v1 query/answer, v2 answer with answers and grouped, v3 request/response
    line("dns", dns={"type": "query", "id": 1, "rrname": "example.org", "rrtype": "A"}),
    line(
        "dns",
        dns={
            "type": "answer",
            "rrname": "Deep.Sub.Evil.Example.",
            "rrtype": "A",
            "rdata": "192.0.2.7",
            "ttl": 60,
        },
    ),
    line(
        "dns",
        dns={
            "version": 2,
            "type": "answer",
            "rrname": "benign.example.net",
            "answers": [{"rrname": "benign.example.net", "rrtype": "A", "rdata": "192.0.2.8"}],
            "grouped": {"A": ["192.0.2.8"]},
        },
    ),
    line(
        "dns",
        dns={
            "version": 3,
            "type": "request",
            "queries": [{"rrname": "evil.example", "rrtype": "A"}],
        },
    ),
    line(
        "dns",
        dns={
            "version": 3,
            "type": "response",
            "queries": [{"rrname": "fine.example", "rrtype": "A"}],
            "answers": [{"rrname": "fine.example", "rdata": "1.2.3.4"}],
        },
    ),
    line("dns", dns={"query": [{"rrname": "x.evil.example", "rrtype": "A"}]}),
    line("dns", dns={"answer": {"rrname": "evil.example", "rrtype": "A"}}),
    line("dns", dns={"type": "query", "rrname": "notevil.example"}),  # not under evil.example
    line("dns", dns={"type": "query", "rrname": "b\\u00fccher.example"}),  # IDNA: matches 14
    line("dns", dns={"type": "query", "rrname": "ev\\u0000il.example"}),  # NUL in a name
    line("dns", dns=None),
    # http: domain, URL, http-host indicator, a host with a port, a proxy's absolute URL,
    # CONNECT, an escaped slash, a host in upper case with a trailing dot
    line("http", http={"hostname": "cdn.evil.example", "url": "/x", "http_method": "GET"}),
    line("http", http={"hostname": "files.example", "url": "/payload.exe", "status": 200}),
    line("http", http={"hostname": "files.example", "url": "/other.exe"}),
    line("http", http={"hostname": "host-only.example", "url": "/"}),
    line("http", http={"hostname": "host-only.example:8080", "url": "/"}),
    line("http", http={"hostname": "plain.example", "url": "http://proxy.example/direct"}),
    line(
        "http",
        http={"hostname": "plain.example", "url": "plain.example:443", "http_method": "CONNECT"},
    ),
    line("http", http={"hostname": "files.example", "url": "\\/payload.exe"}),
    line("http", http={"hostname": "FILES.EXAMPLE.", "url": "/payload.exe", "http_port": 80}),
    line("http", http={"hostname": "files.example", "url": "/payload.exe", "http_port": 8080}),
    line(
        "http",
        http={"hostname": "benign.example", "url": "/index.html", "http_user_agent": "curl/8"},
    ),
    line("http2", http={"hostname": "evil.example", "url": "/"}, http2={"stream_id": 1}),
    # tls and quic: SNI (domain, sni-only), fingerprints, none
    line("tls", tls={"sni": "api.evil.example", "version": "TLS 1.3"}),
    line("tls", tls={"sni": "sni-only.example", "ja3": {"hash": "0" * 32}}),
    line(
        "tls",
        tls={
            "sni": "fine.example",
            "ja3": {"hash": "E7D705A3286E19EA42F587B344EE6865", "string": "771,..."},
        },
    ),
    line("tls", tls={"sni": "fine.example", "ja3s": {"hash": "f4febc55ea12b31ae17cfb7e614afda8"}}),
    line("tls", tls={"sni": "fine.example", "ja4": "t13d1516h2_8daaf6152771_02713d6af862"}),
    line("tls", tls={"sni": "fine.example", "ja3": {"hash": "1" * 32}, "ja4": "t13d_other"}),
    line("tls", tls={"version": "TLS 1.2"}),
    line("quic", quic={"sni": "evil.example", "version": "1"}),
    line("quic", quic={"sni": "fine.example", "ja4": "t13d1516h2_8daaf6152771_02713d6af862"}),
    line("quic", quic={"sni": "fine.example"}),
    # files
    line("fileinfo", fileinfo={"filename": "a.exe", "md5": "D41D8CD98F00B204E9800998ECF8427E"}),
    line("fileinfo", fileinfo={"filename": "b.exe", "sha256": "a" * 64, "size": 10}),
    line("fileinfo", fileinfo={"filename": "c.exe", "sha1": "b" * 40}),
    line("fileinfo", fileinfo={"filename": "d.exe", "md5": "0" * 32, "size": 10}),
    line("smtp", smtp={"helo": "mx"}, files=[{"filename": "x", "sha256": "a" * 64}]),
    line("smtp", smtp={"helo": "mx", "mail_from": "<a@b>"}, email={"status": "PARSE_DONE"}),
    line("ssh", ssh={"client": {"software_version": "OpenSSH"}, "server": {}}),
    # generic and unknown protocols, mdns with its names in its own section
    line("smb", smb={"command": "SMB2_COMMAND_CREATE", "request": {"operation": "x"}}),
    line("krb5", krb5={"cname": "alice"}),
    line("mdns", mdns={"type": "query", "rrname": "printer.evil.example"}),
    line("llmnr", llmnr={"type": "query", "rrname": "host"}),
    line("brand_new", brand_new={"x": 1}),
    line("frame", frame={"type": "pdu"}),
    # the sensor named in the line, with NUL in it
    line("flow", host="sensor-bergen"),
    line("flow", host="sensor-bergen"),
    line("flow", host="sensor-\\u0000x"),
    line("flow", host="sensor-tromso", src_ip="8.8.8.8", dest_ip="9.9.9.9"),
    # alerts, anomalies, drops, stats: always the full path
    line("alert", alert=ALERT, http={"hostname": "evil.example", "url": "/"}),
    line("alert", alert=ALERT, src_ip="8.8.8.8", dest_ip="192.0.2.4"),
    line("alert", alert=ALERT, src_ip="8.8.8.8", dest_ip="9.9.9.9"),
    line("alert", alert={"signature": "no sid"}),
    line("anomaly", anomaly={"type": "decode", "event": "ipv4.trunc_pkt"}),
    line("drop", drop={"reason": "stream error"}),
    line("stats", stats={"uptime": 10, "capture": {"kernel_packets": 5, "kernel_drops": 0}}),
    # missing members
    line("flow", src_ip=..., dest_ip=...),
    line("flow", src_port=..., dest_port=...),
    line("flow", timestamp=...),
    line("flow", event_type=...),
    line(""),
    line("http", http={}),
    line("http", http={"url": "/only-a-path"}),
    # other timestamp layouts and bad timestamps
    line("flow", timestamp="2024-03-01T00:00:00Z"),
    line("flow", timestamp="2024-03-01 00:00:00.123456+0100"),
    line("flow", timestamp="2024-03-01T00:00:00.123456"),
    line("flow", timestamp="2024-03-01T00:00:00.12345x+0100"),
    line("flow", timestamp="2024-13-01T00:00:00.000000+0100"),
    line("flow", timestamp="yesterday"),
    line("flow", timestamp=""),
    line("flow", timestamp=20240301),
    line("flow", timestamp="0001-01-01T00:30:00.000000+0100"),
    line("flow", timestamp="2024-03-01T00:00:00.0000000+0100"),
    line("flow", timestamp="2024-03-01T00:00:00.000000+01000"),
    line("flow", timestamp="2024-03-01T00:00:00.000000+010"),
    line("flow", timestamp="2024-03-01T00:00:00.000000+01:00"),
    # wrong types and values in members the screen reads
    line("flow", src_port="80"),
    line("flow", src_port="http"),
    line("flow", dest_port=70000),
    line("flow", dest_port=-1),
    line("flow", dest_port=80.5),
    line("flow", src_ip=12),
    line("flow", src_ip="10.1.2"),
    line("flow", src_ip=""),
    line("flow", event_type=7),
    line("dns", dns={"type": "query", "rrname": 5}),
    line("dns", dns={"queries": {"rrname": "evil.example"}}),
    line("http", http={"hostname": ["evil.example"]}),
    line("http", http={"hostname": "fine.example", "http_port": "80"}),
    line("tls", tls={"ja3": "e7d705a3286e19ea42f587b344ee6865"}),
    line("tls", tls=[]),
    line("fileinfo", fileinfo={"md5": 1}),
    line("flow", host=5),
    # escapes in strings
    line("http", http={"hostname": "ev\\u0069l.example", "url": "/"}),
    line("http", http={"hostname": "fine.example", "url": '/a\\"b', "http_user_agent": "\\t"}),
    line("flow", in_iface="eth\\ud800"),
    # malformed lines
    b'{"timestamp":"' + TS.encode() + b'","event_type":"flow"',
    b'{"timestamp":"' + TS.encode() + b'","event_type":"flow","x":NaN}',
    b'{"timestamp":"' + TS.encode() + b'","event_type":"flow","x":"a\x01b"}',
    b'{"timestamp":"' + TS.encode() + b'","event_type":"flow","src_ip":"10.0.0.\xff"}',
    b'{"timestamp":"' + TS.encode() + b'","event_type":"flow","x":"\xff"}',
    b"\xef\xbb\xbf" + line("flow"),
    b'{"event_type":"flow","timestamp":"'
    + TS.encode()
    + b'","deep":'
    + b"[" * 2000
    + b"]" * 2000
    + b"}",
    b"[1,2]",
    b"   ",
    b"",
    line("flow") + b' {"a":1}',
    line("flow") + b"\r",
    b'{"event_type":"flow","event_type":"alert","timestamp":"' + TS.encode() + b'"}',
    b'{"event_type":"alert","event_type":"flow","timestamp":"' + TS.encode() + b'"}',
]
