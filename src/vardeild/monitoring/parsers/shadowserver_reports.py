"""Shadowserver's report types as data: what each one means and how its columns map to `Event`.

One `Report` per report type (the name Shadowserver puts in the file name: `scan_ftp`,
`event4_sinkhole`, ...), with

- its classification (RSIT taxonomy / type / identifier). The identifiers are, by default,
  Shadowserver's own report names lower-cased (`Accessible-FTP` -> `accessible-ftp`), as in the
  schema Shadowserver publishes for IntelMQ. The *types* are chosen per report from the meaning of
  each RSIT type, and are sometimes more precise than Shadowserver's schema, which files almost
  every scan under vulnerable / vulnerable-system:
    - a service that should not face the Internet at all (RDP, SMB, FTP, Telnet, databases,
      ADB, IPMI, ...) is potentially-unwanted-accessible;
    - one that leaks data by design when exposed (Elasticsearch, MongoDB, Redis, SNMP, ...) is
      information-disclosure;
    - a UDP/TCP service abusable for reflection (chargen, NTP, SSDP, memcached, CLDAP, ...) is
      ddos-amplifier;
    - a known vulnerability (the `*_vulnerable` reports, Exchange, ISAKMP, Netis) is
      vulnerable-system, and SSL FREAK/POODLE weak-crypto;
    - informational population scans (Accessible HTTP/SSL/SSH/SMTP) stay other / other.
  Infection reports (sinkholes) carry the malware family: `infection` -> `malware_name`, and the
  family is the identifier, so alerts fold per family. Where several columns fill one field
  (`family` and `infection`), the last one listed that is not empty wins.
  Compromised hosts (SYNful Knock implants, compromised websites and IoT devices) are
  intrusions / system-compromise; the IP spoofer report is fraud / masquerade and blocklists
  other / blacklist, as in Shadowserver's schema.
- its default severity (Shadowserver's "default severity by report type"); a `severity` column
  in a row, which newer reports have, overrides it.
- its column -> field mapping: a layout shared by a family of reports (HOST: `ip`, `port`,
  `asn`, `hostname` are the member's exposed host; EVENT: `src_*` is the source and `dst_*` the
  destination; REFERER: the `http_referer_*` host is the source) plus per-report overrides.
  The member may be on either side: scans name the member's host as the source; honeypot and
  darknet events name the attacker (often the member's compromised host) as the source and the
  honeypot or target as the destination; DDoS-target reports have the member as destination.
  The pipeline attributes both sides. Every column not mapped goes into `extra` under its own
  name.
- `detect`: columns that identify the report from its header alone, for files whose name does
  not say (the most specific match wins; reports whose headers are indistinguishable have
  none). IPv6 twins (`scan6_*`, `event6_*`) never have any: their headers equal the IPv4 ones
  and map the same way.

A test checks that every classification is a valid RSIT pair and every field exists on `Event`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from vardeild.monitoring.model import Severity

Columns = Mapping[str, tuple[str, ...]]
Overrides = Mapping[str, str | tuple[str, ...] | None]  # a field, fields, or None: keep in extra

# -- Layouts: which columns name which side ----------------------------------------------------

HOST: Columns = {
    "timestamp": ("time_source",),
    "ip": ("source_ip",),
    "port": ("source_port",),
    "asn": ("source_asn",),
    "hostname": ("source_reverse_dns",),
    "protocol": ("protocol_transport",),
    "severity": ("severity",),
}
EVENT: Columns = {
    "timestamp": ("time_source",),
    "protocol": ("protocol_transport",),
    "src_ip": ("source_ip",),
    "src_port": ("source_port",),
    "src_asn": ("source_asn",),
    "src_hostname": ("source_reverse_dns",),
    "dst_ip": ("destination_ip",),
    "dst_port": ("destination_port",),
    "dst_asn": ("destination_asn",),
    "dst_hostname": ("destination_fqdn",),
    "application": ("protocol_application",),
    "severity": ("severity",),
}
REFERER: Columns = {
    "timestamp": ("time_source",),
    "protocol": ("protocol_transport",),
    "http_referer_ip": ("source_ip",),
    "http_referer_port": ("source_port",),
    "http_referer_asn": ("source_asn",),
    "http_referer_hostname": ("source_fqdn",),
    "http_referer": ("source_url",),
    "dst_ip": ("destination_ip",),
    "dst_port": ("destination_port",),
    "dst_asn": ("destination_asn",),
    "severity": ("severity",),
}
TIME_ONLY: Columns = {"timestamp": ("time_source",), "severity": ("severity",)}

# Column names an unknown report is guessed from (its columns are also all kept in extra).
GENERIC: Columns = {
    **HOST,
    **{k: v for k, v in EVENT.items() if k != "application"},
    "source_ip": ("source_ip",),
    "source_port": ("source_port",),
    "dst_ip": ("destination_ip",),
}

# -- Classifications ---------------------------------------------------------------------------

ACCESSIBLE = ("vulnerable", "potentially-unwanted-accessible")
DISCLOSURE = ("vulnerable", "information-disclosure")
AMPLIFIER = ("vulnerable", "ddos-amplifier")
VULNERABLE = ("vulnerable", "vulnerable-system")
WEAK_CRYPTO = ("vulnerable", "weak-crypto")
INFECTED = ("malicious-code", "infected-system")
DISTRIBUTION = ("malicious-code", "malware-distribution")
COMPROMISED = ("intrusions", "system-compromise")
SCANNER = ("information-gathering", "scanner")
DDOS = ("availability", "ddos")
OTHER = ("other", "other")
UNDETERMINED = ("other", "undetermined")

S = Severity


@dataclass(frozen=True, slots=True)
class Report:
    """One Shadowserver report type and how its rows become events."""

    name: str  # the report type, as in the file name: scan_ftp
    title: str  # Shadowserver's name for it: Accessible-FTP
    taxonomy: str
    type: str
    identifier: str
    severity: Severity
    columns: Columns  # column -> the Event fields it fills
    detect: tuple[str, ...] = ()  # columns that identify the report by its header
    application: str | None = None  # protocol_application when no column gives one
    transport: str | None = None  # protocol_transport when no column gives one
    url_host: str | None = None  # the column holding the host of relative URL columns
    networks: bool = False  # the ip column may hold a CIDR (kept in extra, not source_ip)


def _columns(layout: Columns, overrides: Overrides) -> Columns:
    """The layout with per-report overrides."""
    merged = dict(layout)
    for column, fields in overrides.items():
        if fields is None:
            merged.pop(column, None)
        else:
            merged[column] = (fields,) if isinstance(fields, str) else fields
    return merged


def _report(
    name: str,
    title: str,
    classification: tuple[str, str],
    severity: Severity,
    layout: Columns = HOST,
    *,
    identifier: str | None = None,
    columns: Overrides | None = None,
    detect: tuple[str, ...] = (),
    application: str | None = None,
    transport: str | None = None,
    url_host: str | None = None,
    networks: bool = False,
) -> Report:
    taxonomy, kind = classification
    return Report(
        name=name,
        title=title,
        taxonomy=taxonomy,
        type=kind,
        identifier=identifier or title.lower().replace("/", "-"),
        severity=severity,
        columns=_columns(layout, columns or {}),
        detect=detect,
        application=application,
        transport=transport,
        url_host=url_host,
        networks=networks,
    )


def _ipv6(report: Report) -> list[Report]:
    """A report and its IPv6 twin (`scan_x` -> `scan6_x`, `event4_x` -> `event6_x`): the same
    columns and meaning, and a header that cannot tell them apart (so no `detect`)."""
    for v4, v6 in (("scan_", "scan6_"), ("event4_", "event6_"), ("population_", "population6_")):
        if report.name.startswith(v4):
            name = v6 + report.name.removeprefix(v4)
            break
    else:
        name = report.name + "6"
    return [report, replace(report, name=name, title=f"IPv6-{report.title}", detect=())]


# Sinkhole reports: the source is the infected host, the destination the sinkhole. The malware
# family is the identifier too: `infection` where given, else `family`.
_FAMILY = ("malware_name", "classification_identifier")
_INFECTION: Overrides = {
    "family": _FAMILY,
    "infection": _FAMILY,
    "application": "protocol_application",
}
_SINKHOLE_HTTP: Overrides = {
    **_INFECTION,
    "http_host": "destination_fqdn",
    "dst_hostname": None,
    "http_url": "destination_url",
}
_DDOS_EVENT: Overrides = {
    "family": "malware_name",
    "application": None,
}  # application is the botnet here

_SCANS: list[Report] = [
    *_ipv6(_report("scan_activemq", "Accessible-ActiveMQ", ACCESSIBLE, S.HIGH,
                   detect=("command", "vendor"))),
    _report("scan_adb", "Accessible-ADB", ACCESSIBLE, S.CRITICAL, detect=("device", "features"),
            application="adb"),
    _report("scan_afp", "Accessible-AFP", ACCESSIBLE, S.HIGH, detect=("afp_versions",),
            application="afp"),
    _report("scan_amqp", "Accessible-AMQP", ACCESSIBLE, S.MEDIUM,
            detect=("version_major", "capabilities"), application="amqp"),
    _report("scan_ard", "Accessible-ARD", AMPLIFIER, S.HIGH, application="ard"),
    *_ipv6(_report("scan_badsecrets", "Badsecrets", VULNERABLE, S.HIGH)),
    *_ipv6(_report("scan_bgp", "Open-BGP", ACCESSIBLE, S.HIGH, application="bgp")),
    _report("scan_chargen", "Open-Chargen", AMPLIFIER, S.MEDIUM, application="chargen"),
    _report("scan_cisco_smart_install", "Accessible-Cisco-Smart-Install", ACCESSIBLE, S.CRITICAL,
            application="cisco-smart-install"),
    _report("scan_coap", "Accessible-CoAP", AMPLIFIER, S.MEDIUM, application="coap"),
    _report("scan_couchdb", "Accessible-CouchDB", DISCLOSURE, S.HIGH, detect=("couchdb_version",),
            application="couchdb"),
    *_ipv6(_report("scan_cwmp", "Accessible-CWMP", ACCESSIBLE, S.MEDIUM, application="cwmp")),
    _report("scan_db2", "Open-DB2-Discovery-Service", AMPLIFIER, S.HIGH, detect=("db2_hostname",),
            application="db2"),
    _report("scan_ddos_middlebox", "Vulnerable-DDoS-Middlebox", AMPLIFIER, S.MEDIUM,
            detect=("source_port", "bytes")),
    *_ipv6(_report("scan_dns", "DNS-Open-Resolvers", AMPLIFIER, S.MEDIUM,
                   identifier="dns-open-resolver", detect=("dns_version", "min_amplification"),
                   application="dns")),
    _report("scan_docker", "Accessible-Docker", ACCESSIBLE, S.CRITICAL,
            detect=("experimental", "api_version"), application="docker"),
    _report("scan_dvr_dhcpdiscover", "Accessible-DVR-DHCPDiscover", AMPLIFIER, S.HIGH,
            detect=("video_input_channels",), application="dvr-dhcpdiscover"),
    *_ipv6(_report("scan_elasticsearch", "Open-Elasticsearch", DISCLOSURE, S.HIGH,
                   detect=("lucene_version",), application="elasticsearch")),
    _report("scan_epmd", "Accessible-Erlang-Port-Mapper-Daemon", ACCESSIBLE, S.HIGH,
            detect=("nodes",), application="epmd"),
    *_ipv6(_report("scan_exchange", "Vulnerable-Exchange-Server", VULNERABLE, S.CRITICAL,
                   detect=("servername", "url"), application="http")),
    *_ipv6(_report("scan_ftp", "Accessible-FTP", ACCESSIBLE, S.MEDIUM,
                   detect=("banner", "auth_tls_response"), application="ftp")),
    _report("scan_hadoop", "Accessible-Hadoop", DISCLOSURE, S.HIGH, detect=("clusterid",),
            application="hadoop"),
    *_ipv6(_report("scan_http", "Accessible-HTTP", OTHER, S.INFO, application="http")),
    *_ipv6(_report("scan_http_proxy", "Open-HTTP-Proxy", ACCESSIBLE, S.MEDIUM, application="http")),
    *_ipv6(_report("scan_http_vulnerable", "Vulnerable-HTTP", VULNERABLE, S.CRITICAL,
                   detect=("build_date", "www_authenticate"), application="http")),
    _report("scan_ics", "Accessible-ICS", ACCESSIBLE, S.HIGH, detect=("device_id", "raw_response")),
    *_ipv6(_report("scan_imap_vulnerable", "Vulnerable-IMAP", VULNERABLE, S.MEDIUM,
                   application="imap")),
    *_ipv6(_report("scan_ip_tunnel", "Open-IP-Tunnel", VULNERABLE, S.MEDIUM)),
    _report("scan_ipmi", "Open-IPMI", ACCESSIBLE, S.HIGH, detect=("ipmi_version",),
            application="ipmi", transport="udp"),
    *_ipv6(_report("scan_ipp", "Open-IPP", ACCESSIBLE, S.HIGH, detect=("printer_uuid",),
                   application="ipp")),
    *_ipv6(_report("scan_isakmp", "Vulnerable-ISAKMP", VULNERABLE, S.LOW, detect=("initiator_spi",),
                   application="isakmp")),
    _report("scan_kubernetes", "Accessible-Kubernetes-API", ACCESSIBLE, S.HIGH,
            detect=("git_tree_state", "compiler"), application="kubernetes"),
    *_ipv6(_report("scan_ldap_tcp", "Open-LDAP-TCP", ACCESSIBLE, S.HIGH,
                   detect=("naming_contexts", "cipher_suite"), application="ldap")),
    _report("scan_ldap_udp", "Open-LDAP", AMPLIFIER, S.HIGH, application="ldap"),
    _report("scan_loop_dos", "Loop-DoS", VULNERABLE, S.HIGH),
    _report("scan_mdns", "Open-mDNS", AMPLIFIER, S.MEDIUM, detect=("mdns_name",),
            application="mdns"),
    _report("scan_memcached", "Open-Memcached", AMPLIFIER, S.HIGH, detect=("pointer_size",),
            application="memcached"),
    *_ipv6(_report("scan_mikrotik_service", "Accessible-MikroTik-Service", ACCESSIBLE, S.MEDIUM)),
    *_ipv6(_report("scan_mongodb", "Open-MongoDB", DISCLOSURE, S.HIGH, detect=("javascriptengine",),
                   application="mongodb")),
    *_ipv6(_report("scan_mqtt", "Open-MQTT", ACCESSIBLE, S.MEDIUM,
                   detect=("anonymous_access", "hex_code"), application="mqtt")),
    *_ipv6(_report("scan_mqtt_anon", "Open-Anonymous-MQTT", DISCLOSURE, S.HIGH,
                   detect=("hex_code",), application="mqtt")),
    *_ipv6(_report("scan_msrpc", "Accessible-MS-RPC", ACCESSIBLE, S.HIGH, application="msrpc")),
    _report("scan_mssql", "Open-MSSQL", AMPLIFIER, S.HIGH, detect=("instance_name", "named_pipe"),
            application="mssql"),
    *_ipv6(_report("scan_mysql", "Accessible-MySQL", ACCESSIBLE, S.HIGH,
                   detect=("mysql_protocol_version",), application="mysql")),
    _report("scan_nat_pmp", "Open-NATPMP", VULNERABLE, S.HIGH, detect=("external_ip",),
            application="nat-pmp"),
    _report("scan_netbios", "Open-NetBIOS-Nameservice", AMPLIFIER, S.HIGH, detect=("workgroup",),
            application="netbios"),
    _report("scan_netis_router", "Open-Netis", VULNERABLE, S.CRITICAL),
    *_ipv6(_report("scan_ntp", "NTP-Version", AMPLIFIER, S.MEDIUM, detect=("clk_wander",),
                   application="ntp")),
    *_ipv6(_report("scan_ntpmonitor", "NTP-Monitor", AMPLIFIER, S.MEDIUM, detect=("packets",),
                   application="ntp")),
    *_ipv6(_report("scan_pop3_vulnerable", "Vulnerable-POP3", VULNERABLE, S.MEDIUM,
                   application="pop3")),
    _report("scan_portmapper", "Open-Portmapper", AMPLIFIER, S.MEDIUM, detect=("mountd_port",),
            application="portmapper"),
    _report("scan_post_exploitation_framework", "Post-Exploitation-Framework",
            ("malicious-code", "c2-server"), S.HIGH, detect=("beacon_type",)),
    *_ipv6(_report("scan_postgres", "Accessible-PostgreSQL", ACCESSIBLE, S.HIGH,
                   detect=("startup_error_code",), application="postgresql")),
    _report("scan_qotd", "Open-QOTD", AMPLIFIER, S.MEDIUM, detect=("quote",), application="qotd"),
    _report("scan_quic", "Accessible-QUIC", OTHER, S.INFO, detect=("version_field_1",),
            application="quic"),
    _report("scan_radmin", "Accessible-Radmin", ACCESSIBLE, S.HIGH, application="radmin"),
    *_ipv6(_report("scan_rdp", "Accessible-RDP", ACCESSIBLE, S.HIGH, detect=("rdp_protocol",),
                   application="rdp", transport="tcp")),
    _report("scan_rdpeudp", "Accessible-MS-RDPEUDP", AMPLIFIER, S.HIGH, detect=("sessionid",),
            application="rdpeudp"),
    _report("scan_redis", "Open-Redis", DISCLOSURE, S.HIGH, detect=("multiplexing_api",),
            application="redis"),
    *_ipv6(_report("scan_rsync", "Accessible-Rsync", DISCLOSURE, S.MEDIUM,
                   detect=("motd", "has_password"), application="rsync")),
    _report("scan_sip", "Accessible-SIP", ACCESSIBLE, S.HIGH, detect=("sip_via",),
            application="sip"),
    *_ipv6(_report("scan_slp", "Accessible-SLP", AMPLIFIER, S.HIGH, detect=("language_tag",),
                   application="slp")),
    *_ipv6(_report("scan_smb", "Accessible-SMB", ACCESSIBLE, S.HIGH, detect=("smb_version_string",),
                   application="smb", transport="tcp")),
    *_ipv6(_report("scan_smtp", "Accessible-SMTP", OTHER, S.INFO, application="smtp")),
    *_ipv6(_report("scan_smtp_vulnerable", "Vulnerable-SMTP", VULNERABLE, S.CRITICAL,
                   application="smtp")),
    *_ipv6(_report("scan_snmp", "Open-SNMP", DISCLOSURE, S.HIGH, detect=("sysdesc", "community"),
                   application="snmp")),
    _report("scan_socks", "Accessible-SOCKS4/5-Proxy", ACCESSIBLE, S.MEDIUM, application="socks"),
    _report("scan_ssdp", "Open-SSDP", AMPLIFIER, S.HIGH, detect=("unique_service_name",),
            application="ssdp"),
    *_ipv6(_report("scan_ssh", "Accessible-SSH", OTHER, S.LOW, detect=("serverid_software",),
                   application="ssh")),
    *_ipv6(_report("scan_ssl", "Accessible-SSL", OTHER, S.INFO,
                   detect=("ssl_poodle", "freak_vulnerable"), transport="tcp")),
    *_ipv6(_report("scan_ssl_freak", "SSL-FREAK-Vulnerable-Servers", WEAK_CRYPTO, S.LOW,
                   identifier="ssl-freak", detect=("freak_vulnerable", "page_sha256fp"),
                   transport="tcp")),
    *_ipv6(_report("scan_ssl_poodle", "SSL-POODLE-Vulnerable-Servers", WEAK_CRYPTO, S.LOW,
                   identifier="ssl-poodle", detect=("ssl_poodle", "page_sha256fp"),
                   transport="tcp")),
    *_ipv6(_report("scan_stun", "Accessible-STUN", AMPLIFIER, S.MEDIUM, detect=("magic_cookie",),
                   application="stun")),
    # SYNful Knock is an implant in Cisco IOS: a router in this report is compromised.
    _report("scan_synfulknock", "SYNful-Knock", COMPROMISED, S.CRITICAL, detect=("raw_packet",)),
    *_ipv6(_report("scan_telnet", "Accessible-Telnet", ACCESSIBLE, S.MEDIUM, application="telnet")),
    _report("scan_tftp", "Open-TFTP", AMPLIFIER, S.MEDIUM, detect=("errormessage",),
            application="tftp"),
    _report("scan_ubiquiti", "Accessible-Ubiquiti-Discovery-Service", AMPLIFIER, S.HIGH,
            detect=("radioname",), application="ubiquiti-discovery"),
    *_ipv6(_report("scan_vnc", "Accessible-VNC", ACCESSIBLE, S.HIGH, application="vnc",
                   transport="tcp")),
    _report("scan_ws_discovery", "Accessible-WS-Discovery-Service", AMPLIFIER, S.MEDIUM,
            application="ws-discovery"),
    _report("scan_xdmcp", "Open-XDMCP", AMPLIFIER, S.HIGH, detect=("reported_hostname",),
            application="xdmcp"),
]  # fmt: skip

_OTHERS: list[Report] = [
    _report("blocklist", "Blocklist", ("other", "blacklist"), S.LOW, identifier="blacklisted-ip",
            detect=("reason",), networks=True),
    _report("compromised_account", "Compromised-Account",
            ("information-content-security", "data-leak"), S.CRITICAL, TIME_ONLY, detect=("email",),
            columns={"infection": "malware_name"}),
    *_ipv6(_report("compromised_iot", "Compromised-IoT-Device", COMPROMISED, S.CRITICAL,
                   detect=("malpubkey_sha256",), columns={"family": "malware_name"})),
    *_ipv6(_report("compromised_website", "Compromised-Website", COMPROMISED, S.CRITICAL,
                   detect=("redirect_target", "detected_since"), url_host="http_host",
                   columns={"http_host": "source_fqdn", "url": "source_url",
                            "family": "malware_name", "application": "protocol_application"})),
    *_ipv6(_report("device_id", "Device-Identification", UNDETERMINED, S.INFO)),
    _report("malware_url", "Malware-URL", DISTRIBUTION, S.CRITICAL, detect=("url", "sha256"),
            columns={"url": "source_url", "host": "source_fqdn", "sha256": "malware_hash_sha256",
                     "application": "protocol_application"}),
    *_ipv6(_report("population_bgp", "Accessible-BGP", ACCESSIBLE, S.MEDIUM, application="bgp")),
    *_ipv6(_report("population_http_proxy", "Accessible-HTTP-Proxy", OTHER, S.LOW,
                   application="http")),
    *_ipv6(_report("population_msmq", "Accessible-MSMQ", ACCESSIBLE, S.MEDIUM, application="msmq")),
    *_ipv6(_report("population_xmpp", "Accessible-XMPP", OTHER, S.INFO, application="xmpp")),
    _report("ransomware_victim", "Ransomware-Victim", COMPROMISED, S.CRITICAL, TIME_ONLY,
            detect=("leak_site_url",), columns={"ransomware": "malware_name"}),
    # Sandbox reports: a sample run by Shadowserver reached a server in the member's network.
    _report("sandbox_conn", "Sandbox-Connections", DISTRIBUTION, S.LOW,
            detect=("bytes_in", "bytes_out"),
            columns={"host": "source_fqdn", "md5": "malware_hash_md5", "sha1": "malware_hash_sha1",
                     "sha256": "malware_hash_sha256"}),
    _report("sandbox_dns", "Sandbox-DNS", OTHER, S.LOW, TIME_ONLY, detect=("request", "response"),
            application="dns",
            columns={"request": ("dns_query", "destination_fqdn"), "md5": "malware_hash_md5",
                     "md5hash": "malware_hash_md5", "sha1": "malware_hash_sha1",
                     "sha256": "malware_hash_sha256", "family": "malware_name"}),
    _report("sandbox_url", "Sandbox-URL", DISTRIBUTION, S.LOW, detect=("url", "user_agent", "md5"),
            columns={"url": "source_url", "hostname": "source_fqdn", "md5": "malware_hash_md5",
                     "sha1": "malware_hash_sha1", "sha256": "malware_hash_sha256"}),
    # Spam URL: the advertised site is the source; the sending host stays in extra (src_*).
    _report("spam_url", "Spam-URL", ("abusive-content", "spam"), S.LOW,
            detect=("sender", "subject"), columns={"url": "source_url", "hostname": "source_fqdn"}),
    # Special reports are one-off campaigns (Cyclops Blink, ...): the tag names which.
    _report("special", "Special", VULNERABLE, S.CRITICAL, detect=("status", "method"),
            columns={"tag": "classification_identifier"}),
]  # fmt: skip


_HONEYPOT_SCAN: Overrides = {"infection": None}  # "infection" names the scan, not malware

_EVENTS: list[Report] = [
    _report("event4_ddos_participant", "DDoS-Participant", DDOS, S.HIGH, EVENT,
            columns=_DDOS_EVENT),
    _report("event4_honeypot_adb_scan", "Honeypot-ADB-Scanner", SCANNER, S.INFO, EVENT,
            detect=("maxdata", "system_type"), columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_brute_force", "Honeypot-Brute-Force-Events",
            ("intrusion-attempts", "brute-force"), S.CRITICAL, EVENT,
            detect=("client_version", "password"), columns={"payload_md5": "malware_hash_md5"}),
    # Darknet: the source sent unsolicited traffic (mostly a bot scanning); no destination.
    _report("event4_honeypot_darknet", "Honeypot-Darknet", OTHER, S.HIGH, EVENT,
            identifier="darknet", columns={"family": "malware_name", "infection": "malware_name"}),
    _report("event4_honeypot_ddos", "Honeypot-DDoS", DDOS, S.CRITICAL, EVENT,
            columns=_DDOS_EVENT),
    _report("event4_honeypot_ddos_amp", "Honeypot-Amplification-DDoS-Events", DDOS, S.LOW, EVENT,
            detect=("avg_pps", "max_pps"), columns=_DDOS_EVENT),
    # DDoS target: the member is the destination (the attacked host), the source the attacker.
    _report("event4_honeypot_ddos_target", "Honeypot-DDoS-Target", DDOS, S.LOW, EVENT,
            columns=_DDOS_EVENT),
    _report("event4_honeypot_http_scan", "Honeypot-HTTP-Scan", SCANNER, S.HIGH, EVENT,
            detect=("pattern", "url_scheme"),
            columns={**_HONEYPOT_SCAN, "file_md5": "malware_hash_md5",
                     "file_sha256": "malware_hash_sha256"}),
    _report("event4_honeypot_ics_scan", "Honeypot-ICS-Scanner", SCANNER, S.CRITICAL, EVENT,
            detect=("slave_id", "function_code", "sensor_id"), columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_ikev2_scan", "Honeypot-IKEv2-Scanner", SCANNER, S.INFO, EVENT,
            columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_rdp_scan", "Honeypot-RDP-Scanner", SCANNER, S.HIGH, EVENT,
            detect=("cookie",), columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_rocketmq_scan", "Honeypot-RocketMQ-Scanner", SCANNER, S.INFO, EVENT,
            detect=("serialize_type",), columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_smb_scan", "Honeypot-SMB-Scanner", SCANNER, S.HIGH, EVENT,
            detect=("command", "supported_protocols", "vulnerability_enum"),
            columns=_HONEYPOT_SCAN),
    _report("event4_honeypot_snmp_scan", "Honeypot-SNMP-Scanner", SCANNER, S.HIGH, EVENT,
            columns=_HONEYPOT_SCAN),
    *_ipv6(_report("event4_initial_access_broker", "Initial-Access-Broker", COMPROMISED,
                   S.CRITICAL, EVENT, columns={"infection": "malware_name"})),
    # IP spoofer: the source network lets packets with forged source addresses out (no BCP 38).
    _report("event4_ip_spoofer", "IP-Spoofer-Events", ("fraud", "masquerade"), S.MEDIUM, EVENT,
            identifier="ip-spoofer", detect=("routedspoof",), columns=_HONEYPOT_SCAN),
    _report("event4_microsoft_sinkhole", "Microsoft-Sinkhole-Events", INFECTED, S.CRITICAL,
            EVENT, identifier="microsoft-sinkhole", columns=_INFECTION),
    _report("event4_microsoft_sinkhole_http", "Microsoft-Sinkhole-Events-HTTP", INFECTED,
            S.CRITICAL, EVENT, identifier="microsoft-sinkhole-http", url_host="http_host",
            application="http", columns=_SINKHOLE_HTTP),
    *_ipv6(_report("event4_sinkhole", "Sinkhole-Events", INFECTED, S.CRITICAL, EVENT,
                   identifier="sinkhole", columns=_INFECTION)),
    # Sinkhole DNS: the source asked for a sinkholed name (an infected client or its resolver).
    _report("event4_sinkhole_dns", "Sinkhole-DNS", OTHER, S.INFO, EVENT,
            detect=("query_type", "query"), application="dns",
            columns={"family": "malware_name", "infection": "malware_name",
                     "query": ("dns_query", "destination_fqdn")}),
    *_ipv6(_report("event4_sinkhole_http", "Sinkhole-Events-HTTP", INFECTED, S.CRITICAL, EVENT,
                   identifier="sinkhole-http", url_host="http_host", application="http",
                   columns=_SINKHOLE_HTTP)),
    # Sinkhole HTTP referer: a web site (the source) links to a sinkholed name.
    *_ipv6(_report("event4_sinkhole_http_referer", "Sinkhole-Events-HTTP-Referer", INFECTED,
                   S.CRITICAL, REFERER, identifier="sinkhole-http-referer",
                   detect=("http_referer_ip",), url_host="http_host", application="http",
                   columns={"family": "malware_name", "infection": "malware_name",
                            "http_host": "destination_fqdn", "http_url": "destination_url",
                            "application": "protocol_application"})),
]  # fmt: skip

REPORTS: dict[str, Report] = {report.name: report for report in (*_SCANS, *_OTHERS, *_EVENTS)}

# How to treat a report type nobody has described: guessed columns, everything in extra.
UNKNOWN_CLASSIFICATION = UNDETERMINED
UNKNOWN_SEVERITY = Severity.LOW
