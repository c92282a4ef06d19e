"""The EVE screen's loop in C (parsers/_eve_glance.c) against the loop in Python, line by line,
on the screen tests' lines and on lines mangled at random: every line the C loop counts, the
Python loop counts under the same outcome and sensor. The C loop may keep (pass to the full
parser) a line the Python loop counts — it keeps whatever it does not read itself — but only
for the reasons it documents: an escape, an exponent, a member given twice, deep nesting."""

from __future__ import annotations

import os
import random

import pytest

from support.eve_screen_lines import INDEX, LINES, MATCHER, TS, line
from vardeild.monitoring.ingest import RawRecord
from vardeild.monitoring.parsers import eve_screen
from vardeild.monitoring.parsers.eve_screen import EveScreen
from vardeild.monitoring.store import Outcome

if eve_screen.native_loop is None:
    if os.environ.get("VARDEILD_REQUIRE_NATIVE") == "1":
        raise RuntimeError("VARDEILD_REQUIRE_NATIVE=1 but the EVE screen's C extension is missing")
    pytest.skip("the EVE screen's C extension was not built", allow_module_level=True)

glance = eve_screen.native_loop.glance

Result = tuple[bool, dict[tuple[str, str], int], dict[str, int]]


def screened(data: bytes, *, native: bool, sensor: str | None = None) -> Result:
    """Screen one line alone: (kept for the full parser, counts, seen)."""
    screen = EveScreen(
        INDEX.owner_of_ip,
        MATCHER,
        store_unattributed=False,
        outcomes=(Outcome.UNATTRIBUTED, Outcome.UNMATCHED_PROTOCOL),
        native=native,
    )
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
        screen = EveScreen(
            INDEX.owner_of_ip,
            MATCHER,
            store_unattributed=False,
            outcomes=(Outcome.UNATTRIBUTED, Outcome.UNMATCHED_PROTOCOL),
            native=native,
        )
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
