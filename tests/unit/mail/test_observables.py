"""Candidate observables in report text: defanged forms refanged, each kind recognised, file
names and e-mail domains not taken for domains, hashes by length, bounded in number."""

from __future__ import annotations

from vardeild.mail.observables import extract_observables, refang


def _pairs(text: str) -> set[tuple[str, str]]:
    return {(o.kind, o.value) for o in extract_observables(text)}


def test_refang_undoes_the_usual_defanging() -> None:
    assert refang("hxxps://evil[.]example/a") == "https://evil.example/a"
    assert refang("hXXp[:]//bad(.)example") == "http://bad.example"
    assert refang("10.0.0[.]1 and c2[dot]example") == "10.0.0.1 and c2.example"
    assert refang("abuse[at]example.org") == "abuse@example.org"


def test_every_kind_is_found_in_a_report() -> None:
    text = (
        "We saw beacons from 203.0.113.7 and 2001:db8::1f to hxxp://c2[.]evil-example.net/gate.php"
        " and evil-example[.]org. Payload sha256 "
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08, md5 "
        "d41d8cd98f00b204e9800998ecf8427e, sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709. "
        "It exploits cve-2024-3400."
    )
    assert _pairs(text) == {
        ("ipv4", "203.0.113.7"),
        ("ipv6", "2001:db8::1f"),
        ("url", "http://c2.evil-example.net/gate.php"),
        ("domain", "c2.evil-example.net"),
        ("domain", "evil-example.org"),
        ("sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("cve", "CVE-2024-3400"),
    }


def test_file_names_addresses_and_non_addresses_are_not_taken() -> None:
    text = "See report.pdf and invoice.exe; write to ola@medlem.example; 999.1.1.1 is no address"
    assert _pairs(text) == set()


def test_a_url_with_an_ip_host_gives_the_address_too() -> None:
    pairs = _pairs("fetched from http://198.51.100.4:8080/x.sh.")
    assert pairs == {("url", "http://198.51.100.4:8080/x.sh"), ("ipv4", "198.51.100.4")}


def test_each_once_in_order_and_bounded() -> None:
    found = extract_observables("10.1.1.1 10.1.1.2 10.1.1.1")
    assert [o.value for o in found] == ["10.1.1.1", "10.1.1.2"]
    many = " ".join(f"10.2.{i // 250}.{i % 250}" for i in range(2000))
    assert len(extract_observables(many, limit=50)) == 50
