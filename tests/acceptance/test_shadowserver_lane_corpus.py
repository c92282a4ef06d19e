"""The Shadowserver lane over every report of the shared corpus: where it takes a report, it
stores exactly what the general path stores (rows byte for byte, windows, counts, alerts); it
takes the plain reports whose plans it can store, and declines the rest."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.report_lane import both, drafts_of, report_records, require_lane

from vardeild.members.attribution import AttributionIndex

pytestmark = pytest.mark.acceptance


def test_the_lane_stores_what_the_general_path_stores_over_the_corpus(corpus: Path) -> None:
    require_lane()
    # Half the IPv4 space, a domain and an AS number: rows attributed by each way, and not.
    index = AttributionIndex.build([("0.0.0.0/1", 1)], [("example.com", 2)], [(4134, 3)])
    paths = sorted((corpus / "shadowserver").glob("*.csv"))
    assert paths
    taken: list[str] = []
    for path in paths:
        records = report_records(path.read_bytes())
        for store_unattributed in (False, True):
            general, lane = both(records, path.name, index, store_unattributed=store_unattributed)
            if lane.work.lane is None:
                assert lane.rows == general.rows, path.name
                assert lane.bad == general.bad, path.name
                continue
            assert lane.rows == general.rows, path.name
            assert lane.windows == general.windows, path.name
            assert lane.counts == general.counts, path.name
            assert general.bad == [], path.name
            assert drafts_of(lane, frozenset({1})) == drafts_of(general, frozenset({1}))
            if store_unattributed:
                taken.append(path.name)
    # Measured 2026-11-29: the lane takes these reports of the corpus; the others have a
    # column its inline rules do not store (URLs, severities, identifiers) or a row that
    # is not plain.
    assert len(taken) >= 50, (len(taken), taken)  # 56 of 70 on 2026-11-29
