"""Matching measured on a labelled set: synthetic CVE records covering every version edge, and
(product, version, expected CVEs) cases; precision and recall must both be 1.0."""

from __future__ import annotations

import json

import pytest

from support.vulndb import cpe_match, cve5_record, nvd_cve, nvd_response
from vardeild.exposure.vuln_matcher import VulnMatcher
from vardeild.exposure.vuln_model import CveRecord, ProductVersion
from vardeild.exposure.vulndb_parsers import parse_document

SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"
SSL = "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"
HTTPD = "cpe:2.3:a:apache:http_server:{}:*:*:*:*:*:*:*"
WIDGET = "cpe:2.3:a:example:widget:*:*:*:*:*:*:*:*"
PANOS = "cpe:2.3:o:paloaltonetworks:pan-os:*:*:*:*:*:*:*:*"

NVD = nvd_response(
    nvd_cve("CVE-2099-1001", [cpe_match(SSH, start_in="9.0", end_ex="9.3p2")]),
    nvd_cve("CVE-2099-1002", [cpe_match(SSH, end_in="8.9p1")]),
    nvd_cve("CVE-2099-1003", [cpe_match("cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*")]),
    nvd_cve("CVE-2099-1004", [cpe_match(SSL, start_in="1.0.2", end_ex="1.0.2k")]),
    nvd_cve("CVE-2099-1005", [cpe_match(SSL, start_ex="1.1.1", end_in="1.1.1t")]),
    nvd_cve(
        "CVE-2099-1006", [cpe_match(HTTPD.format("2.4.49")), cpe_match(HTTPD.format("2.4.50"))]
    ),
    nvd_cve("CVE-2099-1007", [cpe_match(HTTPD.format("*"), end_ex="2.4.10")]),
    nvd_cve("CVE-2099-1008", [cpe_match(WIDGET, end_ex="2.0")]),
    nvd_cve("CVE-2099-1009", [cpe_match(WIDGET, start_in="3.0-rc1", end_in="3.0")]),
    nvd_cve("CVE-2099-1010", [cpe_match("cpe:2.3:a:example:gadget:*:*:*:*:*:*:*:*")]),
    nvd_cve("CVE-2099-1011", [cpe_match("cpe:2.3:a:example:firmware:-:*:*:*:*:*:*:*")]),
    nvd_cve(
        "CVE-2099-1012",
        [cpe_match("cpe:2.3:a:example:portal:*:*:*:*:*:*:*:*", end_ex="5.0")],
        [cpe_match("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*", vulnerable=False)],
        operator="AND",
    ),
    nvd_cve(
        "CVE-2099-1013",
        [cpe_match("cpe:2.3:a:example:portal:*:*:*:*:*:*:*:*", vulnerable=False)],
    ),
    nvd_cve("CVE-2099-1014", [cpe_match(SSH)], status="Rejected"),
    nvd_cve("CVE-2099-1015", [cpe_match(PANOS, start_in="10.2.0", end_ex="10.2.9-h1")]),
    nvd_cve(
        "CVE-2099-1016",
        [cpe_match("cpe:2.3:a:example:daemon:*:*:*:*:*:*:*:*", end_ex="1:1.0")],
    ),
    nvd_cve("CVE-2099-1019", [cpe_match("cpe:2.3:a:example:legacy:4.1*:*:*:*:*:*:*:*")]),
    nvd_cve("CVE-2099-1020", [cpe_match("cpe:2.3:a:openssl:openssl:1.0.2k:*:*:*:*:*:*:*")]),
    nvd_cve(
        "CVE-2099-1021",
        [
            cpe_match(
                "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*", start_in="5.10", end_ex="5.10.200"
            )
        ],
    ),
    nvd_cve("CVE-2099-1022", [cpe_match("cpe:2.3:a:example:dual:*:*:*:*:*:*:*:*", end_ex="6.0")]),
    nvd_cve(
        "CVE-2099-1025",
        [cpe_match("cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*", start_in="1.19.0", end_ex="1.21.0")],
    ),
)
CVE5 = [
    cve5_record(
        "CVE-2099-1017",
        [
            {
                "vendor": "Example Corp",
                "product": "Thing Server",
                "versions": [
                    {"status": "unaffected", "version": "0.9"},
                    {
                        "status": "affected",
                        "version": "1.0",
                        "lessThan": "1.4",
                        "versionType": "semver",
                    },
                ],
                "defaultStatus": "unaffected",
            }
        ],
    ),
    cve5_record(
        "CVE-2099-1018",
        [
            {
                "vendor": "Example Corp",
                "product": "Thing Two",
                "versions": [
                    {"status": "affected", "version": "0", "lessThanOrEqual": "2.2.2"},
                    {"status": "affected", "version": "3.0.0"},
                ],
            }
        ],
    ),
    # NVD says < 6.0; the CNA says < 7.0: NVD's analysis wins.
    cve5_record(
        "CVE-2099-1022",
        [
            {
                "vendor": "example",
                "product": "dual",
                "versions": [{"status": "affected", "version": "0", "lessThan": "7.0"}],
            }
        ],
    ),
    cve5_record(
        "CVE-2099-1023",
        [
            {
                "packageName": "libfoo",
                "collectionURL": "https://example.org/libfoo",
                "versions": [
                    {"status": "affected", "version": "2.1.0"},
                    {"status": "affected", "version": "2.1.1"},
                    {"status": "affected", "version": "abc123", "versionType": "git"},
                ],
            }
        ],
    ),
    cve5_record("CVE-2099-1024", [], state="REJECTED"),
]


def pv(
    product: str | None = None,
    version: str | None = None,
    *,
    cpe: str | None = None,
    vendor: str | None = None,
) -> ProductVersion:
    return ProductVersion(cpe=cpe, vendor=vendor, product=product, version=version)


def ids(*numbers: int) -> frozenset[str]:
    return frozenset(f"CVE-2099-{n}" for n in numbers)


EX = "Example"
CASES: list[tuple[ProductVersion, frozenset[str]]] = [
    # OpenSSH: ranges with p-suffixes, an exact version+update CPE, a rejected CVE
    (pv("OpenSSH", "8.9p1"), ids(1002)),
    (pv("OpenSSH", "8.9p2"), ids()),
    (pv("OpenSSH", "9.0"), ids(1001)),
    (pv("OpenSSH", "9.0p1"), ids(1001)),
    (pv("OpenSSH", "9.3p1"), ids(1001, 1003)),
    (pv("OpenSSH", "9.3p1 Ubuntu 3ubuntu0.1"), ids(1001, 1003)),
    (pv("OpenSSH", "9.3"), ids(1001, 1003)),  # 1003: update p1 not seen, said in reason
    (pv("OpenSSH", "9.3p2"), ids()),
    (pv("OpenSSH", "10.0p1"), ids()),
    (pv("OpenSSH", None), ids()),
    (pv(cpe="cpe:/a:openbsd:openssh:9.3p1"), ids(1001, 1003)),
    (pv(cpe="cpe:2.3:a:openbsd:openssh:9.3:p1:*:*:*:*:*:*"), ids(1001, 1003)),
    (pv(cpe="cpe:/a:openbsd:openssh:9.3p2"), ids()),
    # OpenSSL: letters, including/excluding starts and ends, an exact letter version
    (pv("OpenSSL", "1.0.1u"), ids()),
    (pv("OpenSSL", "1.0.2"), ids(1004)),
    (pv("OpenSSL", "1.0.2j"), ids(1004)),
    (pv("OpenSSL", "1.0.2k"), ids(1020)),
    (pv("OpenSSL", "1.0.2za"), ids()),
    (pv("OpenSSL", "1.1.1"), ids()),
    (pv("OpenSSL", "1.1.1a"), ids(1005)),
    (pv("OpenSSL", "1.1.1t"), ids(1005)),
    (pv("OpenSSL", "1.1.1u"), ids()),
    (pv(cpe="cpe:/a:openssl:openssl:1.0.2k"), ids(1020)),
    # Apache httpd: exact versions in one OR node, and numbers never compared as text
    (pv("Apache httpd", "2.4.49"), ids(1006)),
    (pv("Apache httpd", "2.4.50"), ids(1006)),
    (pv("Apache httpd", "2.4.51"), ids()),
    (pv("Apache httpd", "2.4.9"), ids(1007)),
    (pv("Apache httpd", "2.4.10"), ids()),
    (pv("Apache httpd", "2.4.100"), ids()),
    (pv("Apache httpd", "2.4.1"), ids(1007)),
    (pv("Apache httpd", "2.2.34"), ids(1007)),
    (pv(cpe="cpe:/a:apache:http_server:2.4.49"), ids(1006)),
    # pre-releases
    (pv("widget", "1.9", vendor=EX), ids(1008)),
    (pv("widget", "2.0beta", vendor=EX), ids(1008)),
    (pv("widget", "2.0-rc1", vendor=EX), ids(1008)),
    (pv("widget", "2.0", vendor=EX), ids()),
    (pv("widget", "2.0.1", vendor=EX), ids()),
    (pv("widget", "3.0-beta1", vendor=EX), ids()),
    (pv("widget", "3.0-rc1", vendor=EX), ids(1009)),
    (pv("widget", "3.0rc2", vendor=EX), ids(1009)),
    (pv("widget", "3.0", vendor=EX), ids(1009)),
    (pv("widget", "3.0.0", vendor=EX), ids(1009)),
    (pv("widget", "3.0p1", vendor=EX), ids()),
    (pv("widget", "3.0.1", vendor=EX), ids()),
    (pv("widget", "2.5", vendor="Other Vendor"), ids()),
    # `*` ANY covers every version, even an unknown one; `-` NA only NA
    (pv(cpe="cpe:/a:example:gadget:7.7"), ids(1010)),
    (pv(cpe="cpe:/a:example:gadget"), ids(1010)),
    (pv("gadget", None), ids(1010)),
    (pv(cpe="cpe:2.3:a:example:firmware:-:*:*:*:*:*:*:*"), ids(1011)),
    (pv(cpe="cpe:/a:example:firmware:1.0"), ids()),
    (pv("firmware", None, vendor=EX), ids()),
    # AND configuration: the application matches, the platform is not checked
    (pv(cpe="cpe:/a:example:portal:4.9"), ids(1012)),
    (pv(cpe="cpe:/a:example:portal:5.0"), ids()),
    # PAN-OS hotfix letters
    (pv("PAN-OS", "10.2.0"), ids(1015)),
    (pv("PAN-OS", "10.2.8-h3"), ids(1015)),
    (pv("PAN-OS", "10.2.9"), ids(1015)),
    (pv("PAN-OS", "10.2.9-h1"), ids()),
    (pv("PAN-OS", "10.2.10"), ids()),
    (pv("PAN-OS", "10.1.9"), ids()),
    # epochs
    (pv("daemon", "2.0", vendor=EX), ids(1016)),
    (pv("daemon", "1:0.9", vendor=EX), ids(1016)),
    (pv("daemon", "1:1.0", vendor=EX), ids()),
    (pv("daemon", "1:1.0.1", vendor=EX), ids()),
    # CVE JSON 5 affected: vendor/product names, lessThan, lessThanOrEqual, exact, package
    (pv("Thing Server", "0.9", vendor="Example Corp"), ids()),
    (pv("Thing Server", "1.0", vendor="Example Corp"), ids(1017)),
    (pv("Thing Server", "1.3.9", vendor="Example Corp"), ids(1017)),
    (pv("Thing Server", "1.4.0", vendor="Example Corp"), ids()),
    (pv("Thing Two", "0.1", vendor="Example Corp"), ids(1018)),
    (pv("Thing Two", "2.2.2", vendor="Example Corp"), ids(1018)),
    (pv("Thing Two", "2.2.3", vendor="Example Corp"), ids()),
    (pv("Thing Two", "3.0", vendor="Example Corp"), ids(1018)),
    (pv("Thing Two", "3.0.1", vendor="Example Corp"), ids()),
    (pv("libfoo", "2.1.1"), ids(1023)),
    (pv("libfoo", "2.1.2"), ids()),
    # NVD's analysis wins over the CNA's ranges
    (pv(cpe="cpe:/a:example:dual:5.9"), ids(1022)),
    (pv(cpe="cpe:/a:example:dual:6.5"), ids()),
    # a version pattern covers sub-versions, not 4.10
    (pv(cpe="cpe:/a:example:legacy:4.1"), ids(1019)),
    (pv(cpe="cpe:/a:example:legacy:4.1.3"), ids(1019)),
    (pv(cpe="cpe:/a:example:legacy:4.10"), ids()),
    (pv(cpe="cpe:/a:example:legacy:4.2"), ids()),
    # part: an operating system criterion does not match an application
    (pv(cpe="cpe:/o:linux:linux_kernel:5.10.199"), ids(1021)),
    (pv(cpe="cpe:/o:linux:linux_kernel:5.10.200"), ids()),
    (pv(cpe="cpe:/o:linux:linux_kernel:5.9"), ids()),
    (pv(cpe="cpe:/a:linux:linux_kernel:5.10.1"), ids()),
    # one product under several CPE vendors: nmap's igor_sysoev:nginx finds f5:nginx's CVEs
    (pv(cpe="cpe:/a:igor_sysoev:nginx:1.20.0"), ids(1025)),
    (pv("nginx", "1.20.0"), ids(1025)),
    (pv("nginx", "1.21.0"), ids()),
    (pv(cpe="cpe:/a:igor_sysoev:nginx:1.18.0"), ids()),
    # nothing known
    (pv("Nothing At All", "1.0"), ids()),
    (pv(None, None), ids()),
]


def knowledge() -> list[CveRecord]:
    records = list(parse_document(NVD, "labelled-nvd.json").cves)
    for record in CVE5:
        records += parse_document(json.dumps(record).encode(), "labelled-cve5.json").cves
    return records


@pytest.fixture(scope="module")
def matcher() -> VulnMatcher:
    return VulnMatcher(knowledge())


def test_the_labelled_set_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert sum(1 for _, expected in CASES if expected) >= 35


def test_precision_and_recall_are_one(matcher: VulnMatcher) -> None:
    true_positive = false_positive = false_negative = 0
    wrong = []
    for item, expected in CASES:
        got = {m.cve_id for m in matcher.match(item)}
        true_positive += len(got & expected)
        false_positive += len(got - expected)
        false_negative += len(expected - got)
        if got != expected:
            wrong.append((item, sorted(got), sorted(expected)))
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / (true_positive + false_negative)
    print(
        f"\nlabelled matching: {len(CASES)} cases, {true_positive} expected matches; "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert wrong == []
    assert precision == recall == 1.0


def test_each_match_says_why(matcher: VulnMatcher) -> None:
    (match,) = matcher.match(pv("OpenSSH", "9.0p1"))
    assert match.reason == (
        "configurations[0].nodes[0].cpeMatch[0]: cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* "
        "versionStartIncluding 9.0 versionEndExcluding 9.3p2 "
        "(product 'OpenSSH' is openbsd:openssh by the alias table)"
    )
    assert (match.cvss_score, match.cvss_version) == (7.5, "3.1")
    assert match.summary == "A synthetic weakness."
    assert not match.kev


def test_an_and_configuration_names_the_unchecked_platform(matcher: VulnMatcher) -> None:
    (match,) = matcher.match(pv(cpe="cpe:/a:example:portal:4.9"))
    assert "platform not checked: [cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*]" in match.reason


def test_an_update_the_scanner_did_not_see_is_said(matcher: VulnMatcher) -> None:
    found = {m.cve_id: m.reason for m in matcher.match(pv("OpenSSH", "9.3"))}
    assert "update not seen (criteria names update p1)" in found["CVE-2099-1003"]
    assert "update not seen" not in found["CVE-2099-1001"]


def test_an_unknown_vendor_is_said_in_the_reason(matcher: VulnMatcher) -> None:
    (match,) = matcher.match(pv("gadget", None))
    assert match.reason.endswith("(every version) (by product name 'gadget'; vendor not seen)")


def test_a_product_under_another_vendor_is_said(matcher: VulnMatcher) -> None:
    (match,) = matcher.match(pv(cpe="cpe:/a:igor_sysoev:nginx:1.20.0"))
    assert match.reason.endswith("(CPE igor_sysoev:nginx is the same product as f5:nginx)")


def test_a_cve5_only_record_brings_its_cvss_4_score(matcher: VulnMatcher) -> None:
    (match,) = matcher.match(pv("Thing Server", "1.0", vendor="Example Corp"))
    assert (match.cvss_score, match.cvss_version) == (8.7, "4.0")
    assert match.reason.startswith("cna.affected[0]: cpe:2.3:*:example_corp:thing_server:*:")
