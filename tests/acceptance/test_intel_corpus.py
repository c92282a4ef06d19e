"""Every file in the shared intel corpus (../shared/data/intel_stix, intel_misp, intel_abusech)
imports, or is refused with a precise reason. Counts per file — format detected, indicator
records, objects kept as not matchable, objects ignored, record problems — are asserted, so a
regression (a dropped indicator, a pattern that stops reducing) fails here.

Where a count was checked by hand: poisonivy's 63 records come from 9 indicators whose
patterns OR domains and addresses together; apt1 keeps 2 indicators as not matchable (file
names); the Feodo Tracker file lists 28 C2 addresses under its 9-line banner; URLhaus 24 URLs.
"""

# ruff: noqa: E501  (the corpus paths are long)
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from support.factories import CERT
from vardeild.core.clock import FixedClock
from vardeild.intel.import_service import import_parsed
from vardeild.intel.importers import read_import
from vardeild.intel.imports import ImportDefaults, ImportFormat
from vardeild.intel.tables import IndicatorRow, UnmatchableRow

pytestmark = pytest.mark.acceptance

SCHEMA = "a JSON Schema document, not STIX content"

# path under ../shared/data -> (format, records, unmatchable, ignored, problems, refusal)
EXPECTED: dict[str, tuple[str, int, int, int, int, str | None]] = {
    "intel_abusech/feodotracker_ipblocklist_2024-04-04.csv": ("feodo", 28, 0, 0, 0, None),
    "intel_abusech/urlhaus_csv_online_2025-04-21_excerpt.csv": ("urlhaus", 24, 0, 0, 0, None),
    "intel_misp/intelmq_misp_attribute.json": (
        "misp",
        0,
        0,
        0,
        0,
        "a single MISP attribute, not an event (export the event it belongs to)",
    ),
    "intel_misp/intelmq_misp_event.json": ("misp", 0, 0, 2, 0, None),
    "intel_misp/pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json": ("misp", 3, 2, 4, 0, None),
    "intel_misp/pymisp_existing_event.json": ("misp", 68, 15, 39, 0, None),
    "intel_misp/pymisp_galaxy_1.json": ("misp", 4, 0, 6, 0, None),
    "intel_misp/pymisp_image_event.json": ("misp", 41, 5, 33, 0, None),
    "intel_misp/pymisp_mainly_objects_1.json": ("misp", 17, 4, 53, 0, None),
    "intel_misp/pymisp_malware_exist.json": ("misp", 3, 1, 2, 0, None),
    "intel_misp/pymisp_misp_event.json": ("misp", 0, 0, 2, 0, None),
    "intel_misp/pymisp_search_index_result.json": (
        "misp",
        0,
        0,
        0,
        0,
        "a MISP event index (search result): it lists events without attributes",
    ),
    "intel_misp/pymisp_sharing_groups.json": (
        "misp",
        0,
        0,
        0,
        0,
        "MISP sharing groups, not an event",
    ),
    "intel_misp/pymisp_sighting_1.json": ("misp", 5, 0, 0, 0, None),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--0a3ead4e-6d47-4ccb-854c-a6a4f9d96b22/20170531213019735010.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--0f20e3cb-245b-4a61-8a91-2d93f7cb0e9b/20170531213026496201.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--774a3188-6ba9-4dc4-879d-d54ee48a5ce9/20170531213029458940.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--7e150503-88e7-4861-866b-ff1ac82c4475/20170531213045139269.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--ae676644-d2d2-41b7-af7e-9bed1b55898c/20170531213041022897.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/attack-pattern/attack-pattern--b3d682b6-98f2-4fb0-aa3b-b4df007ca70a/20170531213032662702.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/course-of-action/course-of-action--95ddb356-7ba0-4bd9-a889-247262b8946f/20170531213026495974.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/course-of-action/course-of-action--d9727aee-48b8-4fdb-89e2-4c49746ba4dd/20170531213041022744.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/directory/directory--572827aa-e0cd-44fd-afd5-a717a7585f39.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/identity/identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5/20170601000000000000.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/identity/identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5/20181101232448446000.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/intrusion-set/intrusion-set--a653431d-6a5e-4600-8ad3-609b5af57064/20170531213149412497.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/intrusion-set/intrusion-set--f3bdec95-3d62-42d9-a840-29630f6cdc1a/20170531213153197755.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--6b616fc1-1505-48e3-8b2c-0d19337bff38.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--6b616fc1-1505-48e3-8b2c-0d19337bff38/20170531213258226477.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--6b616fc1-1505-48e3-8b2c-0d19337bff38/20181101232448456000.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--6b616fc1-1505-48e3-8b2c-0d19337bff38/20181101232448457000.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--92ec0cbd-2c30-44a2-b270-73f4ec949841/20170531213326565056.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--96b08451-b27a-4ff6-893f-790e26393a8e/20170531213248482655.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/malware/malware--b42378e0-f147-496f-992a-26a49705395b/20170531213215263882.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/marking-definition/marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--0d4a7788-7f3b-4df8-a498-31a38003c883/20170531213327182784.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--0e55ee98-0c6d-43d4-b424-b18a0036b227/20170531213327082801.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--1e91cd45-a725-4965-abe3-700694374432/20170531213327018782.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--3a3084f9-0302-4fd5-9b8a-e0db10f5345e/20170531213327100701.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--3a3ed0b2-0c38-441f-ac40-53b873e545d1/20170531213327143973.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--592d0c31-e61f-495e-a60e-70d7be59a719/20170531213327021562.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--70dc6b5c-c524-429e-a6ab-0dd40f0482c1/20170531213327044387.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/relationship/relationship--8797579b-e3be-4209-a71b-255a4d08243d/20170531213327051532.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/tool/tool--03342581-f790-4f03-ba41-e82e67392e23/20170531213231601148.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/cti-python-stix2_v21_stix2_data/tool/tool--242f3da3-4425-4d11-8f5c-b842886da966/20170531213212684914.json": (
        "stix",
        0,
        0,
        1,
        0,
        None,
    ),
    "intel_stix/oasis-schemas_indicator-for-c2-ip-address.json": ("stix", 1, 0, 0, 0, None),
    "intel_stix/oasis-schemas_indicator-to-campaign-relationship.json": ("stix", 1, 0, 2, 0, None),
    "intel_stix/oasis-schemas_indicators-for-C2-with-COA.json": ("stix", 2, 0, 6, 0, None),
    "intel_stix/oasis-schemas_infrastructure.json": ("stix", 0, 0, 10, 0, None),
    "intel_stix/oasis-schemas_interop-objectmarking-test.json": ("stix", 0, 0, 1, 0, None),
    "intel_stix/oasis-schemas_interop/attack-pattern.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/campaign.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/core.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/course-of-action.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/grouping.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/indicator.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/infrastructure.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/intrusion-set.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/location.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/malware-analysis.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/malware.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/note.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/observed-data.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/opinion.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/relationship.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/report.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/sighting.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/threat-actor.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/tool.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_interop/vulnerability.json": ("stix", 0, 0, 0, 0, SCHEMA),
    "intel_stix/oasis-schemas_malicious-email-indicator-with-attachment.json": (
        "stix",
        0,
        2,
        4,
        0,
        None,
    ),
    "intel_stix/oasis-schemas_threat-reports_apt1.json": ("stix", 10, 2, 64, 0, None),
    "intel_stix/oasis-schemas_threat-reports_poisonivy.json": ("stix", 63, 3, 130, 0, None),
    "intel_stix/pymisp_stix2.json": ("stix", 0, 0, 3, 0, None),
}


def _corpus_files(corpus: Path) -> set[str]:
    return {
        str(path.relative_to(corpus))
        for folder in ("intel_abusech", "intel_misp", "intel_stix")
        for path in (corpus / folder).rglob("*")
        if path.is_file()
    }


def test_every_corpus_file_is_counted(corpus: Path) -> None:
    assert _corpus_files(corpus) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_imports_or_is_refused_with_a_reason(corpus: Path, name: str) -> None:
    fmt, records, unmatchable, ignored, problems, refusal = EXPECTED[name]
    parsed, detected = read_import(
        (corpus / name).read_bytes(), fmt=ImportFormat.AUTO, defaults=ImportDefaults()
    )
    assert detected.value == fmt
    assert parsed.refused == refusal
    assert (len(parsed.records), len(parsed.unmatchable), parsed.ignored) == (
        records,
        unmatchable,
        ignored,
    )
    if refusal is None:
        assert len(parsed.problems) == problems, parsed.problems
    for kept in parsed.unmatchable:
        assert kept.reason
        assert kept.object_id


@pytest.mark.parametrize(
    "name",
    [
        "intel_stix/oasis-schemas_threat-reports_poisonivy.json",
        "intel_misp/pymisp_existing_event.json",
        "intel_abusech/urlhaus_csv_online_2025-04-21_excerpt.csv",
    ],
)
def test_corpus_file_stores_twice_without_change(
    corpus: Path, session: Session, clock: FixedClock, name: str
) -> None:
    parsed, detected = read_import(
        (corpus / name).read_bytes(), fmt=ImportFormat.AUTO, defaults=ImportDefaults()
    )
    first = import_parsed(session, CERT, parsed, clock=clock, source="corpus", fmt=detected.value)
    again = import_parsed(session, CERT, parsed, clock=clock, source="corpus", fmt=detected.value)
    distinct = len({(record.type, record.value) for record in parsed.records})
    assert first.created == distinct
    assert (again.created, again.updated, again.unchanged) == (0, 0, distinct)
    assert session.scalar(select(func.count()).select_from(IndicatorRow)) == distinct
    kept = session.scalar(select(func.count()).select_from(UnmatchableRow))
    assert kept == len({record.object_id for record in parsed.unmatchable})
