"""A first look at EVE lines that settles, without harmonising them, the protocol records
that are only counted.

On a sensor's stream nine lines in ten are protocol records (flow, dns, http, tls, fileinfo,
...) that touch no indicator: the pipeline stores them nowhere and only counts them, as
"unmatched protocol" or, touching no member either, "unattributed". For those the full parser
(eve.py) would build a whole `Event` (44 fields, extras, timestamps) to throw it away. The
screen decodes only what decides the outcome — the event type, the timestamp, both addresses
and ports, the sensor (`host`), and the observables an indicator can match: the HTTP host and
URL, TLS/QUIC SNI and JA3/JA3S/JA4, the DNS query name, file hashes — attributes both
addresses and asks the matcher whether anything *could* match. A line is counted here only
when the full path would certainly have counted it the same way; every other line goes on to
the full parser unchanged:
- alert, anomaly, drop and stats records, mdns/llmnr (their names sit in another section),
  and lines with a missing or empty event type;
- lines that are not plain ASCII (UTF-8 validation, BOMs), hold a backslash (escapes: NUL,
  surrogates), fail to decode with the screen's types, or carry an invalid timestamp,
  address or port (the full parser names the problem precisely);
- lines whose address, name, hash or fingerprint the matcher may hold (the screen's answers
  are a superset: the full path decides exactly), an HTTP host with a port or URL syntax in
  it, or a URL that is not a path;
- every line of a batch when the matcher offers no screening (`hits_ip` and friends).

What it does not do: validate members it does not read. A protocol line whose flow counter,
user agent, TLS version or other unread member has the wrong JSON type is counted here where
the full parser would quarantine it (docs/monitoring.md says so); JSON syntax, nesting depth
and every member listed above are still checked, by msgspec, on every line.

Answers about addresses and names are remembered per (attribution index, matcher) pair, in
bounded memos that are cleared whole when full, so the screen's result never depends on them.

The loop over a batch runs in C where the extension `_eve_glance` was built (setup.py; the
install goes on without it where there is no compiler): it makes the same decisions with the
same memos, reading each line's bytes once instead of decoding it into a `Glance`, and keeps
(passes to the full parser) every line with anything it does not read itself, such as an
escape in a member it reads. It runs in two passes. The first, without the GIL (for batches
of 512 lines and more), settles the lines whose answers it holds in its own tables (copies
of the memos' answers, and a set of the matcher's hashes and fingerprints), with Suricata's
timestamp layout checked in C; so the writer thread's Python runs meanwhile. The second, with
the GIL, asks the Python memos for the lines left and keeps their answers for the next
batches. `_screen_python` is the loop in Python, the reference the tests hold the C loop to.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any, Final, Protocol

import msgspec

from vardeild.monitoring.ingest import RawRecord
from vardeild.monitoring.model import ParseError
from vardeild.monitoring.parsers.eve_types import address, parse_timestamp

native_loop: ModuleType | None
try:
    from vardeild.monitoring.parsers import _eve_glance as native_loop
except ImportError:  # built without a C compiler: _screen_python does the same, slower
    native_loop = None

__all__ = ["EveScreen", "Screening", "native_loop"]

# Event types the full parser must see: they become stored events or sensor stats, or their
# observables live in a section the screen does not read.
# A missing, null or empty event type too (the full parser names the problem).
FULL_TYPES: Final = frozenset(("alert", "anomaly", "drop", "stats", "mdns", "llmnr", "", None))
MEMO_SIZE: Final = 1 << 17
_FULL: Final[Any] = object()  # an address the full path must see (invalid, or matched)


class _Memo(dict[str, Any]):
    """Answers remembered by key, computed by `answer` on a miss; cleared whole when full.
    A dict subclass so that a hit is one C-level subscript."""

    def __init__(self, answer: Callable[[str], Any]) -> None:
        super().__init__()
        self._answer = answer

    def __missing__(self, key: str) -> Any:
        if len(self) >= MEMO_SIZE:
            self.clear()
        value = self[key] = self._answer(key)
        return value


class Screening(Protocol):
    """What the screen asks of the indicator matcher (intel.matcher.IndicatorMatcher)."""

    def hits_ip(self, ip: str) -> bool:
        """Return whether an IP or network indicator holds the (canonical) address."""
        ...

    def hits_name(self, name: str) -> bool:
        """Return whether a name indicator could match the name (False never misses)."""
        ...

    def hits_digest(self, value: str) -> bool:
        """Return whether a hash or fingerprint indicator could equal the value."""
        ...


# The sections, with the same types as eve_types.py gives the members they share, so that a
# value the full parser would refuse is refused here too (and the line goes to it).
class _Query(msgspec.Struct, frozen=True, gc=False):
    rrname: str | None = None


class _Dns(msgspec.Struct, frozen=True, gc=False):
    rrname: str | None = None
    queries: list[_Query] | None = None
    query: list[_Query] | None = None
    answer: _Query | None = None


class _Http(msgspec.Struct, frozen=True, gc=False):
    hostname: str | None = None
    http_port: int | None = None
    url: str | None = None


class _Fingerprint(msgspec.Struct, frozen=True, gc=False):
    hash: str | None = None


class _Tls(msgspec.Struct, frozen=True, gc=False):
    sni: str | None = None
    ja3: _Fingerprint | None = None
    ja3s: _Fingerprint | None = None
    ja4: str | None = None


class _File(msgspec.Struct, frozen=True, gc=False):
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None


# A port as eve.py takes it without help; a port in quotes ("80") fails the screen's decode,
# and the full parser converts it.
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class Glance(msgspec.Struct, gc=False):
    """What the screen reads of a line, in the order Suricata writes the members."""

    timestamp: str | None = None
    event_type: str | None = None
    src_ip: str | None = None
    src_port: Port | None = None
    dest_ip: str | None = None
    dest_port: Port | None = None
    http: _Http | None = None
    tls: _Tls | None = None
    dns: _Dns | None = None
    fileinfo: _File | None = None
    files: list[_File] | None = None
    quic: _Tls | None = None
    host: str | None = None


_decode = msgspec.json.Decoder(Glance).decode
# Characters that make an HTTP host's URL authority differ from the host itself.
_URL_SYNTAX: Final = (":", "/", "@", "?", "#", "[")


class EveScreen:
    """Counts the EVE protocol lines that need no full parse; one per attribution index and
    matcher (it remembers their answers)."""

    def __init__(
        self,
        owner_of_ip: Callable[[str], int | None],
        matcher: Screening | None,
        *,
        store_unattributed: bool,
        outcomes: tuple[str, str],
        native: bool | None = None,
    ) -> None:
        """owner_of_ip attributes a canonical address; outcomes are the names the pipeline
        counts lines under: (touching no member, protocol records matching nothing). native:
        whether the loop runs in C (None: where the extension was built); True without the
        extension raises RuntimeError."""
        if native and native_loop is None:
            raise RuntimeError("the EVE screen's C extension (_eve_glance) was not built")
        self._native = native_loop if native is not False else None
        # The C loop's copy of the memos' answers, which it reads without the GIL, and the
        # matcher's hashes and fingerprints where it can list them.
        self._native_memos = self._native.Memos() if self._native is not None else None
        listed = getattr(matcher, "screen_digests", None)
        if self._native_memos is not None and listed is not None:
            self._native_memos.know_digests(listed())
        self._owner_of_ip = owner_of_ip
        self._matcher = matcher
        self._store_unattributed = store_unattributed
        self._unattributed, self._unmatched = outcomes
        self._owners = _Memo(self._owner)  # address as written -> owner, or _FULL
        self._names = _Memo(self._name_hits)  # name as written -> may an indicator match it
        self._hosts = _Memo(self._host_hits)  # the same for HTTP hosts (URL syntax: True)
        # TLS fingerprints and file hashes are asked directly: where they are many (a
        # generator's random JA3s: 140,000 on the EVE bench) a memo only fills and clears.
        self._seconds: set[str] = set()  # timestamps' seconds known to parse
        self._zones: set[str] = set()  # and their UTC offsets

    def screen(
        self,
        records: list[RawRecord],
        sensor: str | None,
        counts: dict[tuple[str, str], int],
        seen: dict[str, int],
    ) -> list[RawRecord]:
        """Count the records only counted (adding to counts and seen as the full path would)
        and return the others, in order, for the full parser."""
        if self._native is None:
            return self._screen_python(records, sensor, counts, seen)
        rest: list[RawRecord]
        runs: list[tuple[str | None, int, int]]
        rest, runs = self._native.screen(self._native_memos, records, sensor, *self._answers())
        for name, alone, along in runs:
            self._tally(name, alone, along, counts, seen)
        return rest

    def _answers(self) -> tuple[Any, ...]:
        """What the C loop asks its answers of: the memos, the matcher's hits_digest (None:
        no screening), the timestamp's seconds and offsets and check, the mark of an address
        the full path must see, and whether to count lines touching no member apart."""
        digest = None if self._matcher is None else self._matcher.hits_digest
        memos = (self._owners, self._names, self._hosts)
        clock = (self._seconds, self._zones, self._timestamp)
        return (*memos, digest, *clock, _FULL, not self._store_unattributed)

    @property
    def takes_blocks(self) -> bool:
        """Whether screen_blocks works here (the C loop was built)."""
        return self._native is not None

    def screen_blocks(
        self,
        blocks: tuple[tuple[int, bytes], ...],
        sensor: str | None,
        counts: dict[tuple[str, str], int],
        seen: dict[str, int],
    ) -> tuple[list[RawRecord], int]:
        """`screen` over a file reader's blocks of whole lines (RawBatch.blocks), split as
        ingest.split_lines splits them, making a record only of each line it does not count:
        return those records, in order, and how many records the blocks held."""
        if self._native is None:
            raise RuntimeError("screen_blocks needs the C loop (_eve_glance)")
        rest: list[RawRecord]
        runs: list[tuple[str | None, int, int]]
        rest, runs, lines = self._native.screen_blocks(
            self._native_memos, list(blocks), RawRecord, sensor, *self._answers()
        )
        for name, alone, along in runs:
            self._tally(name, alone, along, counts, seen)
        return rest, int(lines)

    def _screen_python(
        self,
        records: list[RawRecord],
        sensor: str | None,
        counts: dict[tuple[str, str], int],
        seen: dict[str, int],
    ) -> list[RawRecord]:
        """The screen's loop in Python: the reference for the C loop, and the loop where the
        extension was not built."""
        # Run for nine lines in ten: every name below is a local, and each test is ordered so
        # that the common line (Suricata's layout, a memo hit) takes the fewest steps.
        rest: list[RawRecord] = []
        keep = rest.append
        decode = _decode
        owners = self._owners
        names = self._names
        hosts = self._hosts
        seconds = self._seconds
        zones = self._zones
        screen_more = self._screen_more
        digest = self._matcher.hits_digest if self._matcher is not None else _no_digest
        screening = self._matcher is not None
        count_unattributed = not self._store_unattributed
        last: str | None = None  # the sensor of the lines tallied in alone/along
        alone = along = 0  # lines touching no member / matching nothing, of sensor `last`
        for record in records:
            data = record.data
            if not data.isascii():
                keep(record)
                continue
            try:
                line = decode(data)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                keep(record)
                continue
            event_type = line.event_type
            if event_type in FULL_TYPES:
                keep(record)
                continue
            stamp = line.timestamp
            if stamp is None:
                keep(record)
                continue
            # Suricata's layout: a second and an offset parsed before, then six digits. (Every
            # zone is five characters, so a zone found at 26 makes the length 31.)
            if not (
                stamp[:19] in seconds
                and stamp[26:] in zones
                and stamp[19] == "."
                and stamp[20:26].isdigit()
            ) and not self._timestamp(stamp):
                keep(record)
                continue
            ip = line.src_ip
            source = None
            if ip is not None:
                source = owners[ip]
                if source is _FULL:
                    keep(record)
                    continue
            ip = line.dest_ip
            target = None
            if ip is not None:
                target = owners[ip]
                if target is _FULL:
                    keep(record)
                    continue
            if screening:
                http = line.http
                if http is not None:
                    url = http.url
                    if url is not None and url[:1] != "/":
                        keep(record)  # an absolute URL, CONNECT's or OPTIONS' target
                        continue
                    name = http.hostname
                    if name and hosts[name]:
                        keep(record)
                        continue
                dns = line.dns
                if dns is not None:
                    name = dns.rrname
                    if name and names[name]:
                        keep(record)
                        continue
                    if (dns.queries or dns.query or dns.answer is not None) and screen_more(line):
                        keep(record)
                        continue
                tls = line.tls
                if tls is not None:
                    name = tls.sni
                    if name and names[name]:
                        keep(record)
                        continue
                    fingerprint = tls.ja3
                    name = None if fingerprint is None else fingerprint.hash
                    if name and digest(name):
                        keep(record)
                        continue
                    fingerprint = tls.ja3s
                    name = None if fingerprint is None else fingerprint.hash
                    if name and digest(name):
                        keep(record)
                        continue
                    name = tls.ja4
                    if name and digest(name):
                        keep(record)
                        continue
                info = line.fileinfo
                if info is not None and (
                    (info.md5 and digest(info.md5))
                    or (info.sha1 and digest(info.sha1))
                    or (info.sha256 and digest(info.sha256))
                ):
                    keep(record)
                    continue
                if (line.files or line.quic is not None) and screen_more(line):
                    keep(record)
                    continue
            name = sensor or line.host
            if name != last:
                if alone or along:
                    self._tally(last, alone, along, counts, seen)
                    alone = along = 0
                if name and "\x00" in name:
                    keep(record)  # the full parser writes it with U+FFFD: let it
                    last = None
                    continue
                last = name
            if source is None and target is None and count_unattributed:
                alone += 1
            else:
                along += 1
        if alone or along:
            self._tally(last, alone, along, counts, seen)
        return rest

    def _tally(
        self,
        sensor: str | None,
        alone: int,
        along: int,
        counts: dict[tuple[str, str], int],
        seen: dict[str, int],
    ) -> None:
        """Count lines of one sensor: alone touched no member, along matched nothing."""
        if sensor:
            seen[sensor] = seen.get(sensor, 0) + alone + along
        for outcome, n in ((self._unattributed, alone), (self._unmatched, along)):
            if n:
                key = (sensor or "", outcome)
                counts[key] = counts.get(key, 0) + n

    def _screen_more(self, line: Glance) -> bool:
        """Return whether an indicator may match the line's rarer observables: DNS v3 and
        alert-style queries, TLS and QUIC fingerprints, QUIC SNI, file hashes."""
        matcher = self._matcher
        assert matcher is not None
        names: list[str] = []
        digests: list[str] = []
        dns = line.dns
        if dns is not None:
            names += [query.rrname for query in dns.queries or () if query.rrname]
            names += [query.rrname for query in dns.query or () if query.rrname]
            if dns.answer is not None and dns.answer.rrname:
                names.append(dns.answer.rrname)
        for tls in (line.tls, line.quic):
            if tls is not None:
                if tls.sni:
                    names.append(tls.sni)
                for fingerprint in (tls.ja3, tls.ja3s):
                    if fingerprint is not None and fingerprint.hash:
                        digests.append(fingerprint.hash)
                if tls.ja4:
                    digests.append(tls.ja4)
        files = [line.fileinfo] if line.fileinfo is not None else []
        for info in files + (line.files or []):
            digests += [value for value in (info.md5, info.sha1, info.sha256) if value]
        return any(self._names[name] for name in names) or any(
            matcher.hits_digest(value) for value in digests
        )

    def _owner(self, written: str) -> Any:
        """Return the owner of an address as written (None: nobody), or _FULL when the line
        must go to the full parser (not an address, or an indicator holds it); remembered."""
        try:
            canonical = address(written, "ip")
        except ParseError:
            return _FULL
        if self._matcher is not None and self._matcher.hits_ip(canonical):
            return _FULL
        return self._owner_of_ip(canonical)

    def _name_hits(self, name: str) -> bool:
        """Return whether an indicator may match the name as written; remembered. A name
        with NUL in it always may: the full parser matches it with U+FFFD instead."""
        assert self._matcher is not None
        return "\x00" in name or self._matcher.hits_name(name)

    def _host_hits(self, host: str) -> bool:
        """Return whether an indicator may match an HTTP host as written, or its URL: a host
        with a port or URL syntax in it always may (its URL's host is not the name, and the
        matcher strips the port); remembered."""
        return any(c in host for c in _URL_SYNTAX) or bool(self._names[host])

    def _timestamp(self, stamp: str) -> bool:
        """Return whether the timestamp parses as eve.py reads it. Of Suricata's own layout
        (2024-01-02T03:04:05.123456+0100), remember the second and the offset once one parsed:
        any six digits between them parse too, and in years 2-9998 no offset overflows."""
        try:
            parse_timestamp(stamp)
        except ParseError:
            return False
        if (
            len(stamp) == 31
            and stamp[19] == "."
            and stamp[26] in "+-"
            and stamp[:4].isdigit()
            and 1 < int(stamp[:4]) < 9999
        ):
            if len(self._seconds) >= MEMO_SIZE:
                self._seconds.clear()
            self._seconds.add(stamp[:19])
            self._zones.add(stamp[26:])  # at most 2,880 offsets exist
        return True


def _no_digest(value: str) -> bool:
    """Without a matcher nothing matches."""
    return False
