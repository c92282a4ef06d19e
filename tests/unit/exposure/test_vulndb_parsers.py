"""Reading NVD API 2.0, CVE JSON 5, KEV and EPSS documents: what is kept, and every bad record
named with its place and why while the rest still load."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest

from support.vulndb import cpe_match, cve5_record, epss_csv, kev_catalogue, nvd_cve, nvd_response
from vardeild.exposure import vulndb_parsers
from vardeild.exposure.vulndb_parsers import parse_document
from vardeild.exposure.vulndb_records import DocumentError, DocumentKind

SSH = "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*"


def test_nvd_keeps_ranges_the_english_description_and_the_best_cvss() -> None:
    entry = nvd_cve("CVE-2099-5001", [cpe_match(SSH, start_ex="8.0", end_in="9.3p1")])
    entry["cve"]["metrics"]["cvssMetricV40"] = [
        {
            "source": "cna@example.org",
            "type": "Secondary",
            "cvssData": {"version": "4.0", "baseScore": 6.9},
        },
    ]
    entry["cve"]["metrics"]["cvssMetricV31"].insert(
        0, {"source": "cna@example.org", "type": "Secondary", "cvssData": {"baseScore": 5.0}}
    )
    parsed = parse_document(nvd_response(entry), "page.json")
    assert (parsed.kind, parsed.total, parsed.page_size) == (DocumentKind.NVD, 1, 1)
    (record,) = parsed.cves
    assert (record.cvss_score, record.cvss_version) == (6.9, "4.0")
    assert record.description == "A synthetic weakness."
    (criterion,) = record.criteria
    assert (criterion.vendor, criterion.product, criterion.part) == ("openbsd", "openssh", "a")
    assert (criterion.version_start, criterion.start_including) == ("8.0", False)
    assert (criterion.version_end, criterion.end_including) == ("9.3p1", True)
    assert criterion.where == "configurations[0].nodes[0].cpeMatch[0]"


def test_nvd_primary_score_wins_within_a_version() -> None:
    entry = nvd_cve("CVE-2099-5002", [cpe_match(SSH)], score=9.1)
    entry["cve"]["metrics"]["cvssMetricV31"].insert(
        0, {"source": "cna@example.org", "type": "Secondary", "cvssData": {"baseScore": 5.0}}
    )
    (record,) = parse_document(nvd_response(entry), "p").cves
    assert record.cvss_score == 9.1


def test_nvd_rejected_status_and_and_conditions() -> None:
    rejected = nvd_cve("CVE-2099-5003", [cpe_match(SSH)], status="Rejected")
    both = nvd_cve(
        "CVE-2099-5004",
        [cpe_match(SSH, end_ex="9.0")],
        [cpe_match("cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*", vulnerable=False)],
        operator="AND",
    )
    first, second = parse_document(nvd_response(rejected, both), "p").cves
    assert first.state == "REJECTED"
    app, platform = second.criteria
    assert app.conditions == "[cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*]"
    assert platform.vulnerable is False
    assert (
        platform.conditions == "[cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:* versionEndExcluding 9.0]"
    )


def test_nvd_bad_records_are_named_and_the_rest_load() -> None:
    good = nvd_cve("CVE-2099-5005", [cpe_match(SSH)])
    both_bounds = nvd_cve("CVE-2099-5006", [cpe_match(SSH, end_in="1", end_ex="2")])
    document = json.loads(nvd_response(good, both_bounds))
    document["vulnerabilities"].append("not an object")
    parsed = parse_document(json.dumps(document).encode(), "p.json")
    assert [r.cve_id for r in parsed.cves] == ["CVE-2099-5005"]
    assert [str(p) for p in parsed.problems] == [
        "p.json: vulnerabilities[1] (CVE-2099-5006): configurations[0].nodes[0].cpeMatch[0]: "
        "both including and excluding bounds given",
        "p.json: vulnerabilities[2]: no 'cve' object",
    ]


def test_cve5_affected_versions_become_criteria() -> None:
    record = cve5_record(
        "CVE-2099-5007",
        [
            {
                "vendor": "Example Corp",
                "product": "Thing",
                "versions": [
                    {"status": "affected", "version": "2.0", "lessThanOrEqual": "2.4.1"},
                    {"status": "affected", "version": "3.1.0"},
                    {"status": "affected", "version": "0", "lessThan": "*"},
                    {"status": "unaffected", "version": "2.5"},
                    {
                        "status": "affected",
                        "version": "a1b2c3",
                        "lessThan": "d4e5f6",
                        "versionType": "git",
                    },
                ],
            },
            {
                "cpes": ["cpe:2.3:a:example:thing_pro:*:*:*:*:*:*:*:*"],
                "vendor": "Example",
                "product": "Thing Pro",
                "defaultStatus": "affected",
            },
        ],
    )
    (parsed,) = parse_document(json.dumps(record).encode(), "CVE-2099-5007.json").cves
    assert (parsed.cvss_score, parsed.cvss_version) == (8.7, "4.0")
    summary = [
        (
            c.vendor,
            c.product,
            c.version_start,
            c.version_end,
            c.end_including,
            c.criteria.split(":")[5],
        )
        for c in parsed.criteria
    ]
    assert summary == [
        ("example_corp", "thing", "2.0", "2.4.1", True, "*"),
        ("example_corp", "thing", None, None, False, "3\\.1\\.0"),
        ("example_corp", "thing", None, None, False, "*"),
        ("example", "thing_pro", None, None, False, "*"),
    ]
    assert parsed.criteria[0].where == "cna.affected[0]"


def test_cve5_cpe_applicability_is_read_like_nvd_configurations() -> None:
    record = cve5_record("CVE-2099-5008", [])
    record["containers"]["cna"]["cpeApplicability"] = [
        {
            "nodes": [
                {"operator": "OR", "negate": False, "cpeMatch": [cpe_match(SSH, end_ex="9.8p1")]}
            ]
        }
    ]
    (parsed,) = parse_document(json.dumps(record).encode(), "x").cves
    (criterion,) = parsed.criteria
    assert (criterion.product, criterion.version_end) == ("openssh", "9.8p1")


def test_a_list_of_cve5_records_names_the_bad_one() -> None:
    bad = {"cveMetadata": {"cveId": "CVE-2099-5009"}, "containers": {}}
    parsed = parse_document(
        json.dumps([cve5_record("CVE-2099-5010", []), bad]).encode(), "all.json"
    )
    assert [r.cve_id for r in parsed.cves] == ["CVE-2099-5010"]
    assert [str(p) for p in parsed.problems] == [
        "all.json: [1]: CVE-2099-5009: no 'containers.cna' object"
    ]


def test_kev_json_and_csv_give_the_same_entries() -> None:
    from_json = parse_document(kev_catalogue(("CVE-2099-5011", True)), "kev.json")
    assert from_json.version == "2026.11.28"
    (entry,) = from_json.kev
    assert (entry.ransomware, entry.due_date, entry.date_added) == (
        True,
        date(2026, 12, 11),
        date(2026, 11, 20),
    )
    csv_text = (
        "cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,"
        "dueDate,knownRansomwareCampaignUse,notes,cwes\n"
        'CVE-2099-5011,Example,Widget,"Example Widget weakness",2026-11-20,"A synthetic entry.",'
        '"Apply updates per vendor instructions.",2026-12-11,Known,,"CWE-79"\n'
        "CVE-2099-5012,Example,Widget,Bad,2026-13-40,x,y,2026-12-11,Unknown,,\n"
    )
    from_csv = parse_document(csv_text.encode(), "kev.csv")
    assert from_csv.kev == from_json.kev
    assert [str(p) for p in from_csv.problems] == [
        "kev.csv: line 3: dateAdded '2026-13-40' is not a date (YYYY-MM-DD)"
    ]


def test_epss_reads_the_comment_line_gzip_and_a_headerless_excerpt() -> None:
    parsed = parse_document(gzip.compress(epss_csv(("CVE-2099-5013", 0.25, 0.5))), "e.csv.gz")
    (score,) = parsed.epss
    assert (score.epss, score.percentile, score.score_date, score.model_version) == (
        0.25,
        0.5,
        date(2026, 11, 28),
        "v2026.06.15",
    )
    tail = parse_document(
        b"CVE-2026-9853,0.00144,0.03099\nCVE-2026-9854,1.5,0.1\nCVE-1,0.1,0.1\n", "t.csv"
    )
    assert [s.cve_id for s in tail.epss] == ["CVE-2026-9853"]
    assert [str(p) for p in tail.problems] == [
        "t.csv: line 2: epss '1.5' is outside 0-1",
        "t.csv: line 3: not a CVE id: 'CVE-1'",
    ]


def test_whole_documents_that_cannot_be_read_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_document(b'{"vulnerabilities": [', "broken.json")
    with pytest.raises(DocumentError, match="not UTF-8"):
        parse_document(b"\xff\xfe,1,2", "binary.csv")
    with pytest.raises(DocumentError, match="broken gzip"):
        parse_document(b"\x1f\x8b\x08\x00garbage", "broken.gz")
    monkeypatch.setattr(vulndb_parsers, "MAX_DOCUMENT_BYTES", 1000)
    with pytest.raises(DocumentError, match="larger than 1,000 bytes uncompressed"):
        parse_document(gzip.compress(b"#" * 5000), "bomb.csv.gz")
    with pytest.raises(DocumentError, match="larger than 1,000 bytes"):
        parse_document(b" " * 2000, "big.json")
