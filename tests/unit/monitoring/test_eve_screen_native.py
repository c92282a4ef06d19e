"""The EVE screen's loop in C (parsers/_eve_glance.c) against the loop in Python, line by line,
on the screen tests' lines and on lines mangled at random: every line the C loop counts, the
Python loop counts under the same outcome and sensor. The C loop may keep (pass to the full
parser) a line the Python loop counts — it keeps whatever it does not read itself — but only
for the reasons it documents: an escape, an exponent, a member given twice, deep nesting."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from support.eve_screen_lines import INDEX, LINES, MATCHER, TS, line
from vardeild.monitoring.batch import BatchProcessor
from vardeild.monitoring.ingest import Feed, RawBatch, RawRecord, split_lines
from vardeild.monitoring.parsers import eve_screen
from vardeild.monitoring.parsers.eve_screen import EveScreen
from vardeild.monitoring.store import Outcome
from vardeild.monitoring.suppression import Suppressor

if eve_screen.native_loop is None:
    if os.environ.get("VARDEILD_REQUIRE_NATIVE") == "1":
        raise RuntimeError("VARDEILD_REQUIRE_NATIVE=1 but the EVE screen's C extension is missing")
    pytest.skip("the EVE screen's C extension was not built", allow_module_level=True)

glance = eve_screen.native_loop.glance
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

Result = tuple[bool, dict[tuple[str, str], int], dict[str, int]]


def new_screen(*, native: bool) -> EveScreen:
    """A screen over the test registry and indicators, with the C loop or the Python one."""
    return EveScreen(
        INDEX.owner_of_ip,
        MATCHER,
        store_unattributed=False,
        outcomes=(Outcome.UNATTRIBUTED, Outcome.UNMATCHED_PROTOCOL),
        native=native,
    )


def screened(data: bytes, *, native: bool, sensor: str | None = None) -> Result:
    """Screen one line alone: (kept for the full parser, counts, seen)."""
    screen = new_screen(native=native)
    counts: dict[tuple[str, str], int] = {}
    seen: dict[str, int] = {}
    rest = screen.screen([RawRecord(0, data)], sensor, counts, seen)
    return bool(rest), counts, seen


def mangled(seed: int, count: int) -> list[bytes]:
    """Lines of LINES cut short, with bytes changed, dropped, doubled or inserted."""
    rng = random.Random(seed)
    specials = b'"\\{}[],:0-.e \x00\x1f\x7f\x80\xff'
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(LINES))
        for _ in range(rng.randint(1, 3)):
            if not data:
                break
            at = rng.randrange(len(data))
            action = rng.randrange(4)
            if action == 0:
                data[at] = rng.choice(specials)
            elif action == 1:
                del data[at]
            elif action == 2:
                data.insert(at, rng.choice(specials))
            else:
                data[at:at] = data[at : at + rng.randint(1, 12)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("sensor", [None, "sensor-oslo"])
def test_the_c_loop_decides_the_screen_tests_lines_as_python_does(sensor: str | None) -> None:
    differ = []
    for data in LINES:
        native, python = (
            screened(data, native=True, sensor=sensor),
            screened(data, native=False, sensor=sensor),
        )
        if native != python:
            differ.append(data)
            assert native[0], f"counted by C, not as Python: {data!r}"
    # The lines the C loop keeps beyond Python's: escapes, and a member it reads given twice.
    assert differ
    assert all(b"\\" in data or data.count(b'"event_type"') > 1 for data in differ), differ


def test_every_cut_of_a_line_is_kept_or_counted_as_python_does() -> None:
    for data in LINES[:60]:
        for end in range(len(data) + 1):
            cut = data[:end]
            native, python = screened(cut, native=True), screened(cut, native=False)
            assert native == python or native[0], cut


def test_mangled_lines_are_kept_or_counted_as_python_does() -> None:
    for data in mangled(seed=3, count=20_000):
        native, python = screened(data, native=True), screened(data, native=False)
        assert native == python or native[0], data


def test_a_batch_keeps_the_records_in_order_and_counts_runs_per_sensor() -> None:
    lines = [
        line("flow", host="a"),
        line("alert", host="a"),
        line("flow", host="a"),
        line("flow", host="b", src_ip="8.8.8.8", dest_ip="9.9.9.9"),
        line("flow"),
        line("stats", host="b"),
        line("flow", host="a"),
    ]
    records = [RawRecord(i, data) for i, data in enumerate(lines)]
    results = []
    for native in (True, False):
        screen = new_screen(native=native)
        counts: dict[tuple[str, str], int] = {}
        seen: dict[str, int] = {}
        rest = screen.screen(records, None, counts, seen)
        results.append(([r.position for r in rest], counts, seen))
    assert results[0] == results[1]
    assert results[0] == (
        [1, 5],
        {
            ("a", Outcome.UNMATCHED_PROTOCOL): 3,
            ("b", Outcome.UNATTRIBUTED): 1,
            ("", Outcome.UNMATCHED_PROTOCOL): 1,
        },
        {"a": 3, "b": 1},
    )


def test_glance_reads_the_members_the_screen_needs() -> None:
    data = line(
        "dns",
        host="s1",
        dns={
            "rrname": "a.example",
            "queries": [{"rrname": "b.example"}, {"rrname": ""}],
            "answer": {"rrname": "c.example"},
        },
        tls={"sni": "d.example", "ja3": {"hash": "j3"}, "ja3s": None, "ja4": "j4"},
        quic={"sni": "e.example"},
        http={"hostname": "h.example", "url": "/u", "http_port": 8080},
        fileinfo={"md5": "m", "sha256": "s"},
        files=[{"sha1": "f"}],
    )
    assert glance(data) == {
        "timestamp": TS,
        "event_type": "dns",
        "src_ip": "10.1.2.3",
        "dest_ip": "93.184.216.34",
        "host": "s1",
        "hostname": "h.example",
        "url": "/u",
        "names": ["a.example", "b.example", "c.example", "d.example", "e.example"],
        "prints": ["j3", "j4"],
        "hashes": ["m", "s", "f"],
    }


@pytest.mark.parametrize(
    "data",
    [
        b'{"event_type":"flow","src_port":1e2}',  # an exponent
        b'{"event_type":"flow","x":123456789012345678901}',  # 21 digits
        b'{"event_type":"flow","src_ip":"a\\u0041"}',  # an escape in a member read
        b'{"event_type":"flow","event_type":"flow"}',  # a member read, twice
        b'{"event_type":"flow","dns":{"rrname":"a","rrname":"b"}}',
        b'{"event_type":"flow","x":' + b"[" * 65 + b"]" * 65 + b"}",  # deeper than 64
        b'{"event_type":"flow","files":[' + b",".join([b'{"md5":"x"}'] * 17) + b"]}",  # > 16
        b'{"event_type":"flow","src_port":-0}',
        b'{"event_type":"flow","src_port":65536}',
        b'{"event_type":"flow","x":01}',
        b'{"event_type":"flow","x":1.}',
        b'{"event_type":"flow","x":tru}',
        b'{"event_type":"flow"} x',
        b'{"event_type":"flow","\\u0078":1}',  # an escaped key at the top
    ],
)
def test_what_the_c_loop_keeps_for_what_it_is(data: bytes) -> None:
    assert glance(data) is None


def test_what_the_c_loop_reads_past() -> None:
    assert glance(b' {"event_type":"flow","x":[1,-2.5,"a\\u00e9\\n",{"y":null}],"z":true}\r\n') == {
        "timestamp": None,
        "event_type": "flow",
        "src_ip": None,
        "dest_ip": None,
        "host": None,
        "hostname": None,
        "url": None,
        "names": [],
        "prints": [],
        "hashes": [],
    }


# --- the first pass: answers kept in C, read without the GIL --------------------------------


Screened = tuple[list[int], dict[tuple[str, str], int], dict[str, int]]


def run_twice(lines: list[bytes], *, native: bool, sensor: str | None = None) -> list[Screened]:
    """Screen the lines as one batch, twice, with one screen: the second time the C loop's
    first pass settles whatever the first time's answers cover. Each time: (the positions
    kept, counts, seen)."""
    screen = new_screen(native=native)
    records = [RawRecord(i, data) for i, data in enumerate(lines)]
    results: list[Screened] = []
    for _ in range(2):
        counts: dict[tuple[str, str], int] = {}
        seen: dict[str, int] = {}
        rest = screen.screen(records, sensor, counts, seen)
        results.append(([record.position for record in rest], counts, seen))
    return results


@pytest.mark.parametrize("sensor", [None, "sensor-oslo"])
@pytest.mark.parametrize("copies", [1, 20])  # 20: over 512 lines, the GIL given up
def test_the_first_pass_decides_as_python_does(sensor: str | None, copies: int) -> None:
    lines = [data for data in LINES if b"\\" not in data and data.count(b'"event_type"') < 2]
    lines *= copies
    native = run_twice(lines, native=True, sensor=sensor)
    python = run_twice(lines, native=False, sensor=sensor)
    assert native == python
    assert native[1][1]  # the second time, lines were counted (by the first pass)


def test_mangled_lines_in_a_warm_screen_are_kept_or_counted_as_python_does() -> None:
    lines = LINES + mangled(seed=5, count=5_000)
    native, python = run_twice(lines, native=True), run_twice(lines, native=False)
    for (kept_c, counts_c, _), (kept_py, counts_py, _) in zip(native, python, strict=True):
        assert set(kept_py) <= set(kept_c)
        extra = set(kept_c) - set(kept_py)
        # Only lines the C reader refuses for what they are (an escape, an exponent, a member
        # twice, ...), never for an answer it kept.
        assert all(glance(lines[i]) is None for i in extra)
        assert sum(counts_py.values()) - sum(counts_c.values()) == len(extra)


def stamps(seed: int, count: int) -> list[str]:
    """Timestamps in Suricata's layout, most with a field out of range or a calendar edge."""
    rng = random.Random(seed)
    fields = [
        ["0001", "0002", "1999", "2000", "2023", "2024", "2100", "9998", "9999", "0000"],
        ["00", "01", "02", "09", "11", "12", "13", "99"],
        ["00", "01", "28", "29", "30", "31", "32"],
        ["00", "12", "23", "24", "99"],
        ["00", "30", "59", "60"],
        ["00", "30", "59", "60", "61"],
        ["+", "-"],
        ["00", "01", "13", "23", "24", "99"],
        ["00", "30", "59", "60"],
    ]
    out = []
    for _ in range(count):
        y, mo, d, h, mi, s, sign, zh, zm = (rng.choice(options) for options in fields)
        out.append(f"{y}-{mo}-{d}T{h}:{mi}:{s}.{rng.randrange(10**6):06d}{sign}{zh}{zm}")
    return out


def test_the_c_timestamp_check_accepts_only_what_the_parser_accepts() -> None:
    """The first pass checks Suricata's layout itself: a timestamp it passes must be one
    eve.py parses (the lines are otherwise counted by the first pass, so a wrong answer shows
    as a line counted here and kept by Python)."""
    texts = stamps(seed=11, count=4_000)
    lines = [line("flow", timestamp=text) for text in texts] * 2  # over 512: no GIL
    native, python = run_twice(lines, native=True), run_twice(lines, native=False)
    assert native[1] == python[1]
    assert 0 < len(native[1][0]) < len(lines)  # some parse, some do not


def test_hashes_and_fingerprints_of_indicators_are_kept_by_the_first_pass() -> None:
    listed = [
        line(
            "tls", tls={"sni": "fine.example", "ja3": {"hash": "E7D705A3286E19EA42F587B344EE6865"}}
        ),
        line("tls", tls={"sni": "fine.example", "ja4": "t13d1516h2_8daaf6152771_02713d6af862"}),
        line("fileinfo", fileinfo={"md5": "d41d8cd98f00b204e9800998ecf8427e"}),
        line("smtp", files=[{"sha256": "A" * 64}]),
    ]
    unlisted = [
        line("tls", tls={"sni": "fine.example", "ja3": {"hash": "1" * 32}, "ja4": "t13d_x"}),
        line("fileinfo", fileinfo={"md5": "0" * 32, "sha1": "c" * 40}),
    ]
    lines = (listed + unlisted) * 100
    native = run_twice(lines, native=True)
    assert native == run_twice(lines, native=False)
    kept = set(native[1][0])
    assert kept == {i for i in range(len(lines)) if i % 6 < 4}


def test_screens_shared_by_threads_answer_as_one_thread_does() -> None:
    """BatchProcessor may screen HTTP batches from several threads at once: the first pass of
    one call never reads the tables while another call's second pass writes them."""
    lines = [data for data in LINES if b"\\" not in data] * 8
    batches = [
        [RawRecord(i, data) for i, data in enumerate(lines[k:] + lines[:k])] for k in range(8)
    ]
    screen = new_screen(native=True)

    def screened_batch(records: list[RawRecord]) -> tuple[list[int], dict[Any, int]]:
        counts: dict[tuple[str, str], int] = {}
        rest = screen.screen(records, None, counts, {})
        return [record.position for record in rest], counts

    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(screened_batch, batches * 4))
    alone = [screened_batch(records) for records in batches] * 4
    assert together == alone


# --- blocks: a file reader's lines, unsplit ----------------------------------------------------


def blocks_of(lines: list[bytes], *, per_block: int, start: int = 1000) -> list[tuple[int, bytes]]:
    """The lines as a file reader hands them over: blocks of whole lines with their offsets,
    with blank, whitespace-only and CRLF-ended lines among them."""
    text = b"".join(
        data
        + (b"\r\n" if n % 7 == 3 else b"\n")
        + (b"\n" if n % 5 == 0 else b"")
        + (b" \t \x0b\n" if n % 11 == 4 else b"")
        for n, data in enumerate(lines)
    )
    parts = text.split(b"\n")[:-1]
    out, offset = [], start
    for first in range(0, len(parts), per_block):
        block = b"".join(part + b"\n" for part in parts[first : first + per_block])
        out.append((offset, block))
        offset += len(block)
    return out


@pytest.mark.parametrize("per_block", [1, 7, 10_000])
def test_screen_blocks_keeps_and_counts_as_screening_the_split_records(per_block: int) -> None:
    lines = [data for data in LINES if b"\n" not in data and b"\r" not in data] * 12  # > 512
    blocks = tuple(blocks_of(lines, per_block=per_block))
    split = [record for start, data in blocks for record in split_lines(start, data)]

    by_blocks, by_records = new_screen(native=True), new_screen(native=True)
    for _ in range(2):  # the second time warm: the first pass settles most lines
        counts_b: dict[tuple[str, str], int] = {}
        counts_r: dict[tuple[str, str], int] = {}
        seen_b: dict[str, int] = {}
        seen_r: dict[str, int] = {}
        kept, total = by_blocks.screen_blocks(blocks, None, counts_b, seen_b)
        rest = by_records.screen(split, None, counts_r, seen_r)
        assert total == len(split)
        assert kept == rest  # the same positions and bytes, in order
        assert (counts_b, seen_b) == (counts_r, seen_r)
        assert sum(counts_b.values()) + len(kept) == total


def test_a_batch_of_blocks_is_processed_as_the_same_batch_of_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = LINES * 6
    blocks = tuple(blocks_of(lines, per_block=50))
    records = [record for start, data in blocks for record in split_lines(start, data)]
    head = [RawRecord(0, line("flow", host="first"))]  # records before blocks, as after _add

    def processed(batch: RawBatch) -> Any:
        work = BatchProcessor(store_unattributed=False).process(
            batch, NOW, INDEX, MATCHER, Suppressor([])
        )
        return (
            work.records,
            [(event.fingerprint, row) for event, row in work.keep],
            [(record.position, reason) for record, reason in work.bad],
            work.counts,
            work.seen,
            work.sightings,
        )

    as_blocks = RawBatch(source="t", feed=Feed.EVE, records=list(head), blocks=blocks)
    as_records = RawBatch(source="t", feed=Feed.EVE, records=head + records)
    expected = processed(as_records)
    assert expected[0] == len(records) + 1
    assert processed(as_blocks) == expected
    monkeypatch.setattr(eve_screen, "native_loop", None)  # no C loop: the blocks are split
    assert processed(as_blocks) == expected
