"""The EVE screen (parsers/eve_screen.py) counts protocol lines without a full parse. Here the
same batches go through BatchProcessor with and without it, and every outcome must agree:
what is stored (with its attribution and matched indicators), counted, quarantined (with the
same reason), seen per sensor and sighted per indicator. The lines cover every event type,
the dns v1/v2/v3 layouts, tunnels, escapes, missing members and wrong types. Every test runs
twice: with the screen's loop in C (the extension _eve_glance) and in Python."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest

from support.eve_screen_lines import FLOW, INDEX, INDICATORS, LINES, MATCHER, line
from vardeild.intel.matcher import IndicatorMatcher
from vardeild.intel.model import IndicatorType
from vardeild.monitoring.batch import BatchProcessor, Work
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.parsers import eve_screen
from vardeild.monitoring.parsers.eve_screen import EveScreen
from vardeild.monitoring.store import Outcome
from vardeild.monitoring.suppression import Suppressor

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["native", "python"])
def screen_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the screen's loop in C, then in Python (the screens the test builds,
    itself or through BatchProcessor, take the loop of `eve_screen.native_loop`)."""
    if request.param == "python":
        monkeypatch.setattr(eve_screen, "native_loop", None)
    elif eve_screen.native_loop is None:
        missing = "the EVE screen's C extension was not built (no C compiler at install)"
        if os.environ.get("VARDEILD_REQUIRE_NATIVE") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return str(request.param)


def outcomes(work: Work) -> dict[str, Any]:
    """Return everything a batch's outcome consists of, comparable between two runs."""
    return {
        "keep": [
            (
                event.fingerprint,
                event.source_member,
                event.destination_member,
                event.matched_indicators,
                row,
            )
            for event, row in work.keep
        ],
        "bad": [(record.position, reason) for record, reason in work.bad],
        "stats": work.stats,
        "counts": {key: n for key, n in work.counts.items() if n},
        "seen": work.seen,
        "hits": work.hits,
        "sightings": work.sightings,
    }


def both(
    lines: list[bytes],
    *,
    sensor: str | None = None,
    store_unattributed: bool = False,
    matcher: IndicatorMatcher | None = MATCHER,
) -> tuple[dict[str, Any], dict[str, Any]]:
    records = [RawRecord(position=i * 1000, data=data) for i, data in enumerate(lines)]
    results = []
    for screen in (True, False):
        processor = BatchProcessor(store_unattributed=store_unattributed, screen=screen)
        batch = RawBatch(source="test", feed=Feed.EVE, records=list(records), sensor=sensor)
        results.append(outcomes(processor.process(batch, NOW, INDEX, matcher, Suppressor([]))))
    return results[0], results[1]


@pytest.mark.parametrize("sensor", [None, "sensor-oslo"])
@pytest.mark.parametrize("store_unattributed", [False, True])
def test_the_screen_and_the_full_path_agree_on_every_line(
    sensor: str | None, store_unattributed: bool
) -> None:
    screened, full = both(LINES, sensor=sensor, store_unattributed=store_unattributed)
    assert screened == full


@pytest.mark.parametrize("number", range(len(LINES)))
def test_each_line_alone_has_the_same_outcome(number: int) -> None:
    screened, full = both([LINES[number]])
    assert screened == full


def test_the_lines_cover_every_outcome() -> None:
    _, full = both(LINES)
    kinds = {outcome for (_, outcome) in full["counts"]}
    assert kinds == {
        Outcome.UNATTRIBUTED,
        Outcome.UNMATCHED_PROTOCOL,
        Outcome.QUARANTINED,
        Outcome.SENSOR_STATS,
    }
    matched = {i for *_, ids, _ in full["keep"] for i in ids}
    assert matched == set(range(1, 16))  # every indicator is hit by some line
    assert len(full["bad"]) >= 30


def test_without_a_matcher_both_paths_only_attribute() -> None:
    screened, full = both(LINES, matcher=None)
    assert screened == full
    assert not full["sightings"]


def test_the_screen_counts_most_protocol_lines_itself() -> None:
    """A line the screen passes on costs a full parse: only lines that need one go."""
    counts: dict[tuple[str, str], int] = {}
    screen = EveScreen(
        INDEX.owner_of_ip,
        MATCHER,
        store_unattributed=False,
        outcomes=(Outcome.UNATTRIBUTED, Outcome.UNMATCHED_PROTOCOL),
    )
    clean = [
        line("flow", flow=FLOW),
        line("flow", src_ip="8.8.8.8", dest_ip="9.9.9.9"),
        line("dns", dns={"type": "query", "rrname": "example.org"}),
        line("http", http={"hostname": "benign.example", "url": "/"}),
        line("tls", tls={"sni": "fine.example", "ja3": {"hash": "1" * 32}}),
        line("fileinfo", fileinfo={"md5": "0" * 32}),
    ]
    passed = screen.screen([RawRecord(i, data) for i, data in enumerate(clean)], None, counts, {})
    assert passed == []
    assert counts == {("", Outcome.UNMATCHED_PROTOCOL): 5, ("", Outcome.UNATTRIBUTED): 1}


def test_a_newly_loaded_indicator_reaches_the_screen() -> None:
    data = line("dns", dns={"type": "query", "rrname": "www.fresh.example"})
    processor = BatchProcessor(store_unattributed=False)

    def run(matcher: IndicatorMatcher) -> Work:
        batch = RawBatch(source="t", feed=Feed.EVE, records=[RawRecord(0, data)])
        return processor.process(batch, NOW, INDEX, matcher, Suppressor([]))

    assert run(MATCHER).keep == []  # remembered by the screen as matching nothing
    grown = IndicatorMatcher.build([*INDICATORS, (99, IndicatorType.DOMAIN, "fresh.example")])
    (kept,) = run(grown).keep
    assert kept[0].matched_indicators == [99]


def test_unread_members_are_not_validated_on_counted_lines() -> None:
    """Documented in docs/monitoring.md: a protocol line the screen counts is not checked in
    members it does not read; the full parser quarantines it, the screen counts it."""
    bad_counter = line("flow", flow={**FLOW, "bytes_toserver": "many"})
    bad_agent = line("http", http={"hostname": "benign.example", "url": "/", "status": [1]})
    for data in (bad_counter, bad_agent):
        screened, full = both([data])
        assert [reason for _, reason in full["bad"]]
        assert screened["bad"] == []
        assert screened["counts"] == {("", Outcome.UNMATCHED_PROTOCOL): 1}
