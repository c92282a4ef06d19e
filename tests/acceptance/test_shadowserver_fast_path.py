"""The Shadowserver parser's compiled fast path (`ShadowserverParser.parse_records`) gives the
very events the general path (`iter_file`) gives, over every report of the shared corpus: the
same harmonised fields, the same fingerprint and the same stored JSON and row."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from tests.support.report_lane import report_records

from vardeild.monitoring.batch import BatchProcessor
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord
from vardeild.monitoring.model import Event
from vardeild.monitoring.parsers.shadowserver import ShadowserverParser

pytestmark = pytest.mark.acceptance

OBSERVED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def stored(events: list[Event]) -> list[tuple[dict[str, object], str | None]]:
    """Each event's row for the events table (fingerprint, JSON data, columns)."""
    processor = BatchProcessor(store_unattributed=True)
    return [processor._row(msgspec.structs.replace(e, extra=dict(e.extra))) for e in events]


def test_fast_path_events_equal_the_general_paths_over_the_corpus(corpus: Path) -> None:
    taken = 0
    paths = sorted((corpus / "shadowserver").glob("*.csv"))
    assert paths
    for path in paths:
        records = report_records(path.read_bytes())
        fast = ShadowserverParser().parse_records(records, filename=path.name, observed_at=OBSERVED)
        document = (
            records[0].partition(b"\n")[0]
            + b"\n"
            + b"".join(r.partition(b"\n")[2] for r in records)
        )
        general = [
            o
            for _, o in ShadowserverParser().iter_file(
                io.BytesIO(document), filename=path.name, observed_at=OBSERVED
            )
        ]
        # The corpus's rows are plain (no quoted newline, no carriage return): the fast path
        # declines exactly the files with a row the general path quarantines.
        if fast is None:
            assert not all(isinstance(o, Event) for o in general), path.name
            continue
        taken += 1
        assert [msgspec.json.encode(e) for e in fast] == [
            msgspec.json.encode(e) for e in general
        ], path.name
        assert stored(fast) == stored(general), path.name  # type: ignore[arg-type]
    assert taken >= len(paths) - 5, f"the fast path took only {taken} of {len(paths)}"


def test_a_batch_goes_the_same_way_through_the_processor_on_either_path(corpus: Path) -> None:
    """BatchProcessor._parsed_reports: the fast path, and the general one for a batch it
    declines (a bad row among good ones), give each record its event or precise reason."""
    for path in sorted((corpus / "shadowserver").glob("*.csv")):
        records = [
            RawRecord(position=n, data=d) for n, d in enumerate(report_records(path.read_bytes()))
        ]
        batch = RawBatch(source="t", feed=Feed.SHADOWSERVER, records=records, filename=path.name)
        processor = BatchProcessor(store_unattributed=True)
        outcomes = list(processor._parsed_reports(batch, OBSERVED))
        parser = ShadowserverParser()
        one_by_one = [
            (r, next(iter(parser.parse_bytes(r.data, filename=path.name, observed_at=OBSERVED)))[1])
            for r in records
        ]
        assert [r for r, _ in outcomes] == [r for r, _ in one_by_one], path.name
        for (_, got), (_, alone) in zip(outcomes, one_by_one, strict=True):
            if isinstance(alone, Event):
                assert isinstance(got, Event), path.name
                assert msgspec.json.encode(got) == msgspec.json.encode(alone), path.name
            else:
                assert isinstance(got, str), path.name
