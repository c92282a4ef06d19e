"""Files as a way in: checkpoints committed with the data, partial lines, rotation and
truncation while following, and Shadowserver reports resumed by line."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support.pipeline import add_member, count_events, counters, eve_line, make_pipeline
from vardeild.app import build_platform
from vardeild.monitoring.files import (
    Totals,
    csv_records,
    expand_paths,
    ingest_eve_files,
    ingest_shadowserver_files,
    source_of,
)
from vardeild.monitoring.ingest import Checkpoint, IngestResult, RawBatch
from vardeild.monitoring.pipeline import Pipeline
from vardeild.monitoring.store import get_checkpoint
from vardeild.monitoring.tables import EventRow, QuarantineRow
from vardeild.platform import Platform
from vardeild.settings import Settings


def lines(first: int, count: int) -> list[bytes]:
    """Return count distinct alert lines at a member address."""
    return [eve_line(dst="10.1.0.5", src_port=first + i) for i in range(count)]


def write(path: Path, data: list[bytes], *, mode: str = "wb") -> None:
    with path.open(mode) as handle:
        handle.write(b"".join(line + b"\n" for line in data))


def lookup(platform: Platform) -> Callable[[str], Checkpoint | None]:
    def checkpoint_of(source: str) -> Checkpoint | None:
        with platform.session() as session:
            return get_checkpoint(session, source)

    return checkpoint_of


def read_eve(platform: Platform, *paths: Path, **options: object) -> Totals:
    """Run the EVE reader once with a new pipeline, as a restarted process would."""
    return ingest_eve_files(
        make_pipeline(platform), list(paths), checkpoint_of=lookup(platform), **options
    )  # type: ignore[arg-type]


def test_a_restart_resumes_at_the_checkpoint(platform: Platform, tmp_path: Path) -> None:
    add_member(platform, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 5))
    first = read_eve(platform, eve)
    assert (first.records, first.events_stored) == (5, 5)
    with platform.session() as session:
        held = get_checkpoint(session, source_of(eve))
    stat = eve.stat()
    assert held == Checkpoint(source_of(eve), f"{stat.st_dev}:{stat.st_ino}", stat.st_size)
    write(eve, lines(100, 3), mode="ab")
    second = read_eve(platform, eve)
    # Only the new lines are read: nothing is met again as a duplicate.
    assert (second.records, second.events_stored, second.events_duplicate) == (3, 3, 0)
    assert read_eve(platform, eve).records == 0
    with platform.session() as session:
        assert count_events(session) == 8


def test_a_partial_last_line_waits_for_its_newline(platform: Platform, tmp_path: Path) -> None:
    add_member(platform, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    whole = lines(0, 3)
    complete = whole[0] + b"\n" + whole[1] + b"\n"
    eve.write_bytes(complete + whole[2][:40])
    assert read_eve(platform, eve).events_stored == 2
    with platform.session() as session:
        held = get_checkpoint(session, source_of(eve))
        assert held is not None
        assert held.position == len(complete)
        assert session.scalar(select(func.count()).select_from(QuarantineRow)) == 0
    with eve.open("ab") as handle:
        handle.write(whole[2][40:] + b"\n")
    assert read_eve(platform, eve).events_stored == 1
    with platform.session() as session:
        assert count_events(session) == 3


def test_bad_lines_are_quarantined_at_their_byte_offset(platform: Platform, tmp_path: Path) -> None:
    add_member(platform, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    good = lines(0, 2)
    eve.write_bytes(good[0] + b"\n\n   \n{broken\n" + good[1] + b"\n")
    totals = read_eve(platform, eve)
    assert (totals.events_stored, totals.quarantined) == (2, 1)
    with platform.session() as session:
        (held,) = session.scalars(select(QuarantineRow)).all()
    assert held.position == len(good[0]) + len(b"\n\n   \n")
    assert bytes(held.raw) == b"{broken"
    assert held.source == source_of(eve)


def test_another_file_under_the_path_is_read_from_the_start(
    platform: Platform, tmp_path: Path
) -> None:
    add_member(platform, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 4))
    read_eve(platform, eve)
    rotated = tmp_path / "eve.json.1"
    eve.rename(rotated)
    write(eve, lines(50, 2))  # a new inode, shorter than the old position
    assert read_eve(platform, eve).events_stored == 2


def test_a_truncated_file_is_read_from_the_start(platform: Platform, tmp_path: Path) -> None:
    add_member(platform, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 4))
    read_eve(platform, eve)
    with eve.open("r+b") as handle:  # copytruncate: same inode, now shorter
        handle.truncate(0)
    write(eve, lines(60, 1), mode="ab")
    assert read_eve(platform, eve).events_stored == 1


def test_directories_stand_for_their_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_bytes(b"")
    (tmp_path / "a.json").write_bytes(b"")
    (tmp_path / ".hidden").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    assert expand_paths([tmp_path]) == [tmp_path / "a.json", tmp_path / "b.json"]
    with pytest.raises(FileNotFoundError):
        expand_paths([tmp_path / "missing"])


# --- following -------------------------------------------------------------------------------


@pytest.fixture
def live(fresh_database_url: str, tmp_path: Path) -> Iterator[Platform]:
    """A platform on a database of its own (the reader's thread commits for real)."""
    built = build_platform(
        Settings(database_url=fresh_database_url, data_dir=tmp_path / "data"), migrate=True
    )
    yield built
    built.engine.dispose()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stored(platform: Platform) -> int:
    with platform.session() as session:
        return count_events(session)


Step = tuple[int, str, Callable[[], None] | None]


class Script(threading.Event):
    """The follower's stop event, which also drives the test: each time the follower has read
    everything there is and idles, it checks what is stored and takes the test's next step on
    the files. It runs in the follower's own thread, between two of its passes, so no step can
    race the follower (a test that wrote from another thread and polled the database passed
    or failed with the scheduler; see test_lines_written_just_before_a_rotation_are_kept)."""

    def __init__(self, stored: Callable[[], int], steps: list[Step]) -> None:
        super().__init__()
        self.stored = stored
        self.steps = steps
        self.failures: list[str] = []

    def wait(self, timeout: float | None = None) -> bool:
        if not self.steps:
            self.set()
            return True
        expected, what, action = self.steps.pop(0)
        got = self.stored()
        if got != expected:
            self.failures.append(f"{what}: {got} events stored, {expected} expected")
            self.set()
        elif action is not None:
            action()
        return self.is_set()


def test_follow_survives_rotation_and_truncation(live: Platform, tmp_path: Path) -> None:
    add_member(live, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 3))

    def rotate() -> None:
        # The last lines written to the old file, then a new file at the path.
        write(eve, lines(20, 1), mode="ab")
        eve.rename(tmp_path / "eve.json.1")
        write(eve, lines(30, 2))

    def truncate() -> None:
        # Truncation (copytruncate): the same inode starts again, shorter.
        with eve.open("r+b") as handle:
            handle.truncate(0)
        write(eve, lines(40, 1), mode="ab")

    script = Script(
        lambda: stored(live),
        [
            (3, "the first lines", lambda: write(eve, lines(10, 2), mode="ab")),
            (5, "appended lines", rotate),
            (8, "the rest of the old file and the new one", truncate),
            (9, "lines after truncation", None),
        ],
    )
    # batch_seconds=0: whatever a pass reads is committed before the follower idles.
    totals = ingest_eve_files(
        make_pipeline(live),
        [eve],
        checkpoint_of=lookup(live),
        follow=True,
        stop=script,
        batch_seconds=0,
        poll_seconds=0,
    )
    assert script.failures == []
    assert script.steps == []
    assert totals.events_duplicate == 0
    new_inode = eve.stat()
    with live.session() as session:
        held = get_checkpoint(session, source_of(eve))
        assert held is not None
        assert held.identity == f"{new_inode.st_dev}:{new_inode.st_ino}"
        assert held.position == new_inode.st_size
        assert counters(session) == {"stored": 9}


def test_lines_written_just_before_a_rotation_are_kept(
    live: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made certain: the writer appends a line and the file is rotated just after
    the follower found the end of the old file and before it looks at the path again."""
    add_member(live, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 1))
    real_stat = os.stat
    rotated: list[bool] = []

    def stat_after_rotation(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if path == eve and not rotated and stored(live) == 1:
            rotated.append(True)
            write(eve, lines(20, 1), mode="ab")  # the old file's last line
            eve.rename(tmp_path / "eve.json.1")
            write(eve, lines(30, 1))
        return real_stat(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("vardeild.monitoring.files.os.stat", stat_after_rotation)
    script = Script(lambda: stored(live), [(3, "the old file's last line and the new file", None)])
    ingest_eve_files(
        make_pipeline(live),
        [eve],
        checkpoint_of=lookup(live),
        follow=True,
        stop=script,
        batch_seconds=0,
        poll_seconds=0,
    )
    assert rotated == [True]
    assert script.failures == []


def test_stopping_commits_what_was_read(live: Platform, tmp_path: Path) -> None:
    add_member(live, "10.1.0.0/16")
    eve = tmp_path / "eve.json"
    write(eve, lines(0, 4))
    stop = threading.Event()
    pipeline: Pipeline = make_pipeline(live)
    # A long batch window: only the stop makes the pending lines commit.
    reader = threading.Thread(
        target=ingest_eve_files,
        args=(pipeline, [eve]),
        kwargs={
            "checkpoint_of": lookup(live),
            "follow": True,
            "stop": stop,
            "batch_seconds": 3600,
            "poll_seconds": 0.02,
        },
    )
    reader.start()
    time.sleep(0.3)
    assert stored(live) == 0
    stop.set()
    reader.join(timeout=20)
    assert stored(live) == 4


# --- Shadowserver ----------------------------------------------------------------------------

HEADER = b'"timestamp","ip","port","hostname","tag","asn","geo","region","city"\n'


def report_row(ip: str, n: int, *, hostname: str = "") -> bytes:
    return (
        f'"2026-11-28 0{n % 10}:00:00","{ip}",3389,"{hostname}","rdp",64500,"NO","R","C"\n'.encode()
    )


def test_a_report_is_resumed_by_line_and_rows_may_span_lines(
    platform: Platform, tmp_path: Path
) -> None:
    member = add_member(platform, "10.1.0.0/16")
    report = tmp_path / "2026-11-28-scan_rdp-norway-geo.csv"
    spanning = report_row("10.1.0.9", 3, hostname="two\nlines")
    report.write_bytes(
        HEADER + report_row("10.1.0.7", 1) + spanning + b'"not a time","10.1.0.8",1,,,,,,\n'
    )
    with report.open("rb") as stream:
        assert [n for n, _ in csv_records(stream)] == [1, 2, 3, 5]

    def run() -> Totals:
        return ingest_shadowserver_files(
            make_pipeline(platform), [report], checkpoint_of=lookup(platform), batch_records=2
        )

    first = run()
    assert (first.records, first.events_stored, first.quarantined) == (3, 2, 1)
    assert first.batches == 2
    with platform.session() as session:
        events = session.scalars(select(EventRow).order_by(EventRow.id)).all()
        assert {e.source_member_id for e in events} == {member}
        assert {e.feed_code for e in events} == {"scan_rdp"}
        (held,) = session.scalars(select(QuarantineRow)).all()
        assert held.position == 5
        assert bytes(held.raw).startswith(HEADER)
        assert held.filename == report.name
        checkpoint = get_checkpoint(session, source_of(report))
        assert checkpoint is not None
        assert checkpoint.identity.startswith("sha256:")
        assert checkpoint.position == 5
    assert run().records == 0  # nothing after the checkpoint
    with report.open("ab") as handle:
        handle.write(report_row("10.1.0.10", 4))
    # Different content: another report under the same path, read from its start; rows seen
    # before are recognised by their fingerprints.
    again = run()
    assert (again.events_stored, again.events_duplicate) == (1, 2)


def test_a_report_s_first_batches_grow_from_small_to_the_batch_size(tmp_path: Path) -> None:
    """The writer starts on a small first batch; each next one is twice the last, up to the
    batch size; every row is in exactly one batch, in order."""
    report = tmp_path / "2026-11-28-scan_rdp-norway-geo.csv"
    report.write_bytes(
        HEADER + b"".join(report_row(f"10.1.{n // 256}.{n % 256}", n) for n in range(40_000))
    )
    seen: list[list[int]] = []

    class Recording:
        def ingest(self, batch: RawBatch) -> IngestResult:
            seen.append([r.position for r in batch.records])
            return IngestResult(records=len(batch.records))

    totals = ingest_shadowserver_files(
        Recording(), [report], checkpoint_of=lambda source: None, batch_records=12_000
    )
    assert [len(b) for b in seen] == [5_000, 10_000, 12_000, 12_000, 1_000]
    assert [p for b in seen for p in b] == list(range(2, 40_002))
    assert totals.records == 40_000


def test_an_empty_report_is_quarantined_not_lost(platform: Platform, tmp_path: Path) -> None:
    report = tmp_path / "scan_rdp.csv"
    report.write_bytes(b"")
    totals = ingest_shadowserver_files(
        make_pipeline(platform), [report], checkpoint_of=lookup(platform)
    )
    assert totals.quarantined == 1
    assert not os.path.getsize(report)


class RecordsOnly:
    """The pipeline behind a sink that does not take blocks: the reader splits every line."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.ingest = pipeline.ingest


@pytest.mark.parametrize("sink", ["blocks", "records"])
def test_blocks_and_records_read_a_file_alike(
    platform: Platform, tmp_path: Path, sink: str
) -> None:
    """The pipeline takes a file's lines as blocks and splits them itself (RawBatch.blocks);
    another sink gets records. Either way: the same counts, and the same offsets for what is
    quarantined, with blank and CRLF lines, and an over-long line that makes the reader turn
    the blocks it holds into records in the middle of a batch."""
    add_member(platform, "10.1.0.0/16")
    alerts = lines(0, 6)
    flow = [eve_line(event_type="flow", dst="10.1.0.5", src_port=500 + i) for i in range(4)]
    outside = [
        eve_line(event_type="flow", src="8.8.8.8", dst="9.9.9.9", src_port=i) for i in (1, 2)
    ]
    head = b"".join(
        [
            alerts[0],
            b"\n\n",
            flow[0],
            b"\n  \t\n",
            alerts[1],
            b"\r\n",
            outside[0],
            b"\n",
            b"{broken\n",
            flow[1],
            b"\n",
            alerts[2],
            b"\n",
        ]
    )
    huge = b"x" * (5 << 20)  # no newline for 5 MiB: cut at 4 MiB, quarantined
    tail = b"\n" + b"".join(
        data + b"\n" for data in (flow[2], alerts[3], outside[1], flow[3], alerts[4], alerts[5])
    )
    eve = tmp_path / "eve.json"
    eve.write_bytes(head + huge + tail)
    pipeline = make_pipeline(platform)
    target = pipeline if sink == "blocks" else RecordsOnly(pipeline)
    checkpoint_of = lookup(platform)
    totals = ingest_eve_files(target, [eve], checkpoint_of=checkpoint_of)  # type: ignore[arg-type]
    assert (totals.records, totals.events_stored, totals.quarantined) == (15, 6, 3)
    assert (totals.events_unmatched_protocol, totals.events_unattributed) == (4, 2)
    with platform.session() as session:
        held = [
            (row.position, bytes(row.raw)[:8])
            for row in session.scalars(select(QuarantineRow).order_by(QuarantineRow.position))
        ]
        stored = sorted(row.raw for row in session.scalars(select(EventRow)))
        checkpoint = get_checkpoint(session, source_of(eve))
    assert held[0] == (head.index(b"{broken"), b"{broken")
    assert held[1] == (len(head), b"xxxxxxxx")
    assert held[2][1] == b"xxxxxxxx"  # the rest of the long line, up to its newline
    assert [raw.rstrip("\r") for raw in stored] == sorted(a.decode() for a in alerts)
    assert checkpoint is not None
    assert checkpoint.position == eve.stat().st_size
