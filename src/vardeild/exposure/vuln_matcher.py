"""Which CVEs apply to a product and version a scanner saw, and why. No I/O.

Built once from the stored knowledge (`vulndb_service.load_vuln_matcher`), then asked per
exposure. How it decides (docs/vulndb.md says the same for operators):

- Criteria are indexed by (vendor, product), so an exposure is only compared with its own
  product's criteria; every version in them is parsed once, when the matcher is built.
- Only `vulnerable: true` criteria make a match. A CVE's NVD configurations are used when NVD
  has analysed it; otherwise the CVE JSON 5 record's `cpeApplicability` or `affected` entries.
  Rejected CVEs never match.
- With a CPE (`cpe:2.3:...` or nmap's `cpe:/...`) vendor and product come from it; without one
  the product name is looked up in `PRODUCT_ALIASES` (nmap says "OpenSSH", NVD
  `openbsd:openssh`), else taken as a CPE product name whose vendors the knowledge lists.
- Versions: `versionStart/EndIncluding/Excluding` ranges and exact versions are compared with
  `versions.Version`, never as text; a criteria version `*` (ANY) without a range covers every
  version, `-` (NA) only an observed `-`. An exposure whose version is unknown matches only
  criteria that cover every version: anything else would flood a member with guesses.
- NVD writes some versions as version + update (`openssh:9.3:p1`); the two are joined before
  comparing, so nmap's `9.3p1` matches. When the scanner did not see an update the criteria
  name, the match is kept and `reason` says the update was not known.
- AND configurations (an application vulnerable only on some platform, whose `o:`/`h:` part is
  `vulnerable: false`): we match on the vulnerable part and do NOT require the platform,
  because scanners rarely know it; `reason` names the unchecked platform. A CERT would rather
  check one such finding than miss it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vardeild.exposure.cpe import (
    ANY,
    NA,
    WILDCARD,
    CpeError,
    is_pattern,
    name_key,
    parse_cpe,
    value_matches,
)
from vardeild.exposure.versions import Token, VersionError, leading_version, version_key
from vardeild.exposure.vuln_model import (
    ORIGIN_NVD,
    SUMMARY_LENGTH,
    CveRecord,
    EpssScore,
    KevEntry,
    MatchCriterion,
    ProductVersion,
    VulnMatch,
)

Key = tuple[Token, ...]
_new = object.__new__

# What nmap (and Nessus, Nuclei) call a product -> the CPE vendor:product names NVD uses.
# Lower-case keys. Several targets where NVD has used more than one vendor over the years.
PRODUCT_ALIASES: dict[str, tuple[tuple[str, str], ...]] = {
    "openssh": (("openbsd", "openssh"),),
    "apache httpd": (("apache", "http_server"),),
    "apache http server": (("apache", "http_server"),),
    "apache tomcat": (("apache", "tomcat"),),
    "apache tomcat/coyote jsp engine": (("apache", "tomcat"),),
    "nginx": (("f5", "nginx"), ("nginx", "nginx"), ("igor_sysoev", "nginx")),
    "microsoft iis httpd": (("microsoft", "internet_information_services"),),
    "microsoft exchange smtpd": (("microsoft", "exchange_server"),),
    "postfix smtpd": (("postfix", "postfix"),),
    "exim smtpd": (("exim", "exim"),),
    "vsftpd": (("vsftpd_project", "vsftpd"), ("beasts", "vsftpd")),
    "proftpd": (("proftpd", "proftpd"), ("proftpd_project", "proftpd")),
    "pure-ftpd": (("pureftpd", "pure-ftpd"),),
    "mysql": (("oracle", "mysql"), ("mysql", "mysql")),
    "mariadb": (("mariadb", "mariadb"),),
    "postgresql db": (("postgresql", "postgresql"),),
    "isc bind": (("isc", "bind"),),
    "dnsmasq": (("thekelleys", "dnsmasq"),),
    "lighttpd": (("lighttpd", "lighttpd"),),
    "dovecot imapd": (("dovecot", "dovecot"),),
    "dovecot pop3d": (("dovecot", "dovecot"),),
    "samba smbd": (("samba", "samba"),),
    "squid http proxy": (("squid-cache", "squid"),),
    "jetty": (("eclipse", "jetty"),),
    "redis key-value store": (("redis", "redis"),),
    "mongodb": (("mongodb", "mongodb"),),
    "elasticsearch rest api": (("elastic", "elasticsearch"),),
    "haproxy": (("haproxy", "haproxy"),),
    "memcached": (("memcached", "memcached"),),
    "openssl": (("openssl", "openssl"),),
    "palo alto networks pan-os": (("paloaltonetworks", "pan-os"),),
    "pan-os": (("paloaltonetworks", "pan-os"),),
    "microsoft exchange server": (("microsoft", "exchange_server"),),
}
# One product under several CPE vendors (nginx was igor_sysoev, then nginx, now f5): an exposure
# seen as one is looked up as all of them, nmap's CPE included.
EQUIVALENT_PRODUCTS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    name: targets for targets in PRODUCT_ALIASES.values() if len(targets) > 1 for name in targets
}
# Words nmap adds after a product's name that NVD's product names do not carry.
_SERVICE_SUFFIXES = (" httpd", " smtpd", " ftpd", " imapd", " pop3d", " sshd", " daemon")
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A criterion with its versions parsed once."""

    number: int  # its place in the matcher, naming the shared VulnMatch made for it
    cve_id: str
    criterion: MatchCriterion
    version: str  # the criteria's version attribute: ANY, NA, a value or a pattern
    update: str
    exact: Key | None  # version (+ update when it names one), parsed
    exact_bare: Key | None  # version without the update, for an exposure with no update known
    start: Key | None
    end: Key | None
    part: str  # the criterion's, copied here for the hot loop
    start_including: bool
    end_including: bool


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the matcher compares: the exposure, in CPE terms."""

    part: str
    version: str | None  # as seen (lower case), None when unknown
    key: Key | None  # parsed, with the update joined on
    bare: Key | None  # parsed, without the update
    update: str  # ANY when not seen


class _ProductIndex:
    """One product's criteria, arranged so that a version only meets the criteria that could
    cover it; `_check` still decides each one, so the arrangement only saves work.

    Ranged criteria are sorted by their end: a version after a range's end cannot be in it,
    so a bisection skips every range that ended before it (most exposures run recent
    releases, most ranges end in old ones). Ranges with no start and no update (about half of
    NVD's) need no comparison at all past the bisection: every one whose end is after the
    version covers it, so they are kept apart and taken as a slice.
    """

    __slots__ = (
        "bare",
        "ends",
        "exact",
        "open_end",
        "others",
        "part",
        "ranged",
        "tail",
        "tail_ends",
    )

    def __init__(self, entries: list[_Compiled]) -> None:
        self.exact: dict[Key, list[_Compiled]] = defaultdict(list)
        self.bare: dict[Key, list[_Compiled]] = defaultdict(list)
        self.others: list[_Compiled] = []  # ANY without a range, NA, patterns: always checked
        self.open_end: list[_Compiled] = []  # ranges with a start only
        ranged: list[_Compiled] = []
        for entry in entries:
            if entry.exact is not None:
                self.exact[entry.exact].append(entry)
                if entry.update not in (ANY, NA) and entry.exact_bare is not None:
                    self.bare[entry.exact_bare].append(entry)
            elif entry.version == ANY and entry.end is not None:
                ranged.append(entry)
            elif entry.version == ANY and entry.start is not None:
                self.open_end.append(entry)
            else:
                self.others.append(entry)
        ranged.sort(key=lambda e: e.end or ())
        self.ranged = [e for e in ranged if e.start is not None or e.update not in (ANY, NA)]
        self.ends = [e.end or () for e in self.ranged]
        self.tail = [e for e in ranged if e.start is None and e.update in (ANY, NA)]
        self.tail_ends = [e.end or () for e in self.tail]
        # the one part its criteria name (ANY for none, "" for several): usually one, so the
        # hits need not be looked through for it
        parts = {e.part for e in entries} - {ANY}
        self.part = ANY if not parts else (parts.pop() if len(parts) == 1 else "")

    def candidates(self, seen: _Seen) -> tuple[list[_Compiled], list[_Compiled], list[_Compiled]]:
        """The criteria that could cover what was seen: (to check in full, ranges whose end
        is at or after the version seen, ranges that cover it)."""
        general = list(self.others)
        if seen.key is None:
            return general, [], []
        general += self.exact.get(seen.key, ())
        if seen.update == ANY:  # `9.3` seen, criteria `9.3` update `p1`: kept, with a note
            general += [e for e in self.bare.get(seen.key, ()) if e.exact != seen.key]
        general += self.open_end
        key = seen.key
        tail, ends = self.tail, self.tail_ends
        after = bisect_right(ends, key)
        covering = [e for e in tail[bisect_left(ends, key, hi=after) : after] if e.end_including]
        covering += tail[after:]
        return general, self.ranged[bisect_left(self.ends, key) :], covering


# A criterion covering a version: (the criterion, what its reason adds).
# (the covering criteria, what reasons add by criterion number when not "", the first of them
# per CVE, the note-free answer made of those, the one part the criteria name: ANY for none,
# "" for several)
_Hits = tuple[list["_Compiled"], dict[int, str], list["_Compiled"], list[VulnMatch], str]


class VulnMatcher:
    """Matches `ProductVersion`s against CVE criteria, KEV and EPSS held in memory."""

    def __init__(
        self,
        records: Iterable[CveRecord],
        kev: Iterable[KevEntry] = (),
        epss: Iterable[EpssScore] = (),
    ) -> None:
        """Build the indexes; criteria whose versions cannot be parsed are counted in
        `skipped_criteria` and left out (they could only match by guess)."""
        self.skipped_criteria = 0
        # per CVE, VulnMatch's fields after cve_id and reason, in their order
        self._facts: dict[str, dict[str, Any]] = {}
        self._criteria: dict[tuple[str, str], list[_Compiled]] = defaultdict(list)
        self._products: dict[tuple[str, str], _ProductIndex] = {}
        self._vendors: dict[str, set[str]] = defaultdict(set)
        self._kev = {entry.cve_id: entry for entry in kev}
        self._epss = {score.cve_id: score for score in epss}
        # Matches are immutable: one VulnMatch per (criterion, reason note) is shared by every
        # exposure it applies to, and whole answers are kept per product and version seen.
        self._described: dict[int, str] = {}  # criterion number -> its reason without a note
        self._noted: dict[str, dict[int, VulnMatch]] = {}  # note -> criterion number -> match
        self._by_item: dict[tuple[str | None, ...], list[VulnMatch]] = {}
        self._plain_made: list[VulnMatch | None] = [None]  # by criterion number, made lazily
        self._answers: dict[tuple[str, str, _Seen, str], list[VulnMatch]] = {}
        self._hit_cache: dict[tuple[Any, ...], _Hits] = {}
        self._count = 0
        by_cve: dict[str, list[CveRecord]] = defaultdict(list)
        for record in records:
            by_cve[record.cve_id].append(record)
        for cve_id, views in by_cve.items():
            self._add(cve_id, views)
        self._kev.clear()
        self._epss.clear()

    @property
    def criteria_count(self) -> int:
        """Return how many criteria the matcher holds."""
        return self._count

    @property
    def cve_count(self) -> int:
        """Return how many CVEs the matcher holds (rejected ones left out)."""
        return len(self._facts)

    def _add(self, cve_id: str, views: list[CveRecord]) -> None:
        live = [v for v in views if v.state != "REJECTED"]
        if not live:
            return
        nvd = [v for v in live if v.origin == ORIGIN_NVD and v.criteria]
        chosen = nvd[0] if nvd else next((v for v in live if v.criteria), live[0])
        scored = [v for v in live if v.cvss_score is not None]
        best = max(
            scored, key=lambda v: (v.cvss_version or "", v.origin == ORIGIN_NVD), default=None
        )
        described = sorted(live, key=lambda v: v.origin != ORIGIN_NVD)
        summary = next((v.description for v in described if v.description), "")
        kev = self._kev.get(cve_id)
        epss = self._epss.get(cve_id)
        facts: dict[str, Any] = {
            "cvss_score": best.cvss_score if best else None,
            "cvss_version": best.cvss_version if best else None,
            "kev": kev is not None,
            "kev_ransomware": bool(kev and kev.ransomware),
            "kev_due_date": kev.due_date if kev else None,
            "epss": epss.epss if epss else None,
            "epss_percentile": epss.percentile if epss else None,
            "summary": summary[:SUMMARY_LENGTH],
        }
        self._facts[cve_id] = facts
        for criterion in chosen.criteria:
            if not criterion.vulnerable:
                continue
            compiled = self._compile(cve_id, criterion)
            if compiled is None:
                self.skipped_criteria += 1
                continue
            self._criteria[(criterion.vendor, criterion.product)].append(compiled)
            self._vendors[criterion.product].add(criterion.vendor)

    def _compile(self, cve_id: str, criterion: MatchCriterion) -> _Compiled | None:
        try:
            version, update = _version_and_update(criterion.criteria)
            exact = bare = None
            if version not in (ANY, NA) and not is_pattern(version):
                bare = version_key(version)
                joined = version + update if update not in (ANY, NA) else version
                exact = version_key(joined)
            start = version_key(criterion.version_start) if criterion.version_start else None
            end = version_key(criterion.version_end) if criterion.version_end else None
        except (CpeError, VersionError):
            return None
        self._count += 1
        self._plain_made.append(None)
        return _Compiled(
            self._count,
            cve_id,
            criterion,
            version,
            update,
            exact,
            bare,
            start,
            end,
            criterion.part,
            criterion.start_including,
            criterion.end_including,
        )

    def match(self, item: ProductVersion) -> list[VulnMatch]:
        """Return the CVEs that apply to what a scanner saw, one per CVE, each with its reason."""
        item_key = (item.cpe, item.vendor, item.product, item.version)
        known = self._by_item.get(item_key)
        if known is not None:  # scans see the same product and version many times over
            return list(known)
        answers = [a for target in self._targets(item) if (a := self._answer(*target))]
        if len(answers) <= 1:  # the usual case: one product, one answer (shared, not copied)
            known = answers[0] if answers else []
        else:
            found: dict[str, VulnMatch] = {}
            for answer in answers:
                for match in answer:
                    found.setdefault(match.cve_id, match)
            known = list(found.values())
        if len(self._by_item) >= _CACHE_LIMIT:
            self._by_item.clear()
        self._by_item[item_key] = known
        return list(known)

    def _answer(self, vendor: str, product: str, seen: _Seen, note: str) -> list[VulnMatch]:
        key = (vendor, product, seen, note)
        answer = self._answers.get(key)
        if answer is not None:
            return answer
        hits, extras, chosen, plain, hits_part = self._hits(vendor, product, seen)
        if len(self._answers) >= _CACHE_LIMIT:
            self._answers.clear()
        part = seen.part
        if not note and (part == ANY or hits_part in (ANY, part)):
            # the usual CPE lookup: one VulnMatch per CVE, made when the hits were found
            self._answers[key] = plain
            return plain
        if part == ANY or hits_part in (ANY, part):
            # by name: the same criteria as the note-free answer, each match saying how the
            # product was found; made once per criterion and note, kept by note
            made = self._noted.get(note)
            if made is None:
                made = self._noted[note] = {}
            answer = []
            for compiled in chosen:
                extra = extras.get(compiled.number) if extras else None
                if extra:  # the reason's text differs from the criterion's usual one
                    answer.append(self._made_for(compiled, extra + note))
                    continue
                match = made.get(compiled.number)
                if match is None:
                    match = made[compiled.number] = self._make(compiled, note)
                answer.append(match)
            self._answers[key] = answer
            return answer
        answer = []
        done: set[str] = set()
        made_for = self._made_for
        for compiled in hits:
            cve_id, criterion_part = compiled.cve_id, compiled.part
            if cve_id in done or (criterion_part != ANY and part != ANY and criterion_part != part):
                continue
            done.add(cve_id)
            answer.append(made_for(compiled, extras.get(compiled.number, "") + note))
        self._answers[key] = answer
        return answer

    def _hits(self, vendor: str, product: str, seen: _Seen) -> _Hits:
        """Every criterion of the product covering the version seen, whatever its part (the
        CPE and the by-name lookups of one product and version share this work); with them
        the note-free answer (one VulnMatch per CVE) and the one part they name (ANY for
        none, "" for several)."""
        core = (vendor, product, seen.version, seen.key, seen.update)
        cached = self._hit_cache.get(core)
        if cached is not None:
            return cached
        index = self._products.get((vendor, product))
        if index is None:
            entries = self._criteria.get((vendor, product))
            if not entries:
                return [], {}, [], [], ANY
            index = self._products[(vendor, product)] = _ProductIndex(entries)
        general, ranged, covering = index.candidates(seen)
        hits: list[_Compiled] = []
        extras: dict[int, str] = {}
        unparted = _Seen(ANY, seen.version, seen.key, seen.bare, seen.update)
        for compiled in general:
            extra = _check(compiled, unparted)
            if extra is not None:
                hits.append(compiled)
                if extra:
                    extras[compiled.number] = extra
        key, update = seen.key, seen.update
        for compiled in ranged:  # _check's range test, inlined: this loop is the hot one
            start = compiled.start
            if start is not None and (
                key < start or (key == start and not compiled.start_including)  # type: ignore[operator]
            ):
                continue
            if compiled.end == key and not compiled.end_including:
                continue
            if compiled.update not in (ANY, NA) and update not in (ANY, compiled.update):
                continue
            hits.append(compiled)
        hits += covering
        hits_part = index.part
        if not hits_part:  # the product's criteria name several parts: these hits may not
            parts = {compiled.part for compiled in hits}
            parts.discard(ANY)
            hits_part = ANY if not parts else (parts.pop() if len(parts) == 1 else "")
        # The note-free answer: one VulnMatch per CVE, its first covering criterion's. Only
        # these are made here (a CVE's other covering criteria would be made for nothing).
        plain: list[VulnMatch] = []
        chosen: list[_Compiled] = []
        done: set[str] = set()
        made = self._plain_made
        for compiled in hits:
            cve_id = compiled.cve_id
            if cve_id not in done:
                done.add(cve_id)
                chosen.append(compiled)
                match = made[compiled.number] if not extras else None
                if match is None:
                    match = self._made_for(compiled, extras.get(compiled.number, ""))
                plain.append(match)
        if len(self._hit_cache) >= _CACHE_LIMIT:
            self._hit_cache.clear()
        found = (hits, extras, chosen, plain, hits_part)
        self._hit_cache[core] = found
        return found

    def _made_for(self, compiled: _Compiled, note: str) -> VulnMatch:
        if not note:
            made = self._plain_made[compiled.number]
            if made is None:
                made = self._plain_made[compiled.number] = self._make(compiled, "")
            return made
        noted = self._noted.get(note)
        if noted is None:
            noted = self._noted[note] = {}
        made = noted.get(compiled.number)
        if made is None:
            made = noted[compiled.number] = self._make(compiled, note)
        return made

    def _make(self, compiled: _Compiled, note: str) -> VulnMatch:
        """A VulnMatch, filled from its CVE's facts without the frozen dataclass's __init__:
        that runs object.__setattr__ once per field, and making the matches of 100,000
        exposures is where matching spent most of its time. The instance is the same as
        VulnMatch(...) makes (fields in order, equal, hashable, frozen to callers)."""
        facts = self._facts[compiled.cve_id]
        made: VulnMatch = _new(VulnMatch)
        fields = made.__dict__
        fields["cve_id"] = compiled.cve_id
        described = self._described.get(compiled.number)
        if described is None:  # the same text starts the reason of every note
            described = self._described[compiled.number] = _describe(
                compiled.criterion, _ranged(compiled)
            )
        fields["reason"] = described + note
        fields.update(facts)
        return made

    def _targets(self, item: ProductVersion) -> list[tuple[str, str, _Seen, str]]:
        """(vendor, product, what was seen, a note for the reason) to look up."""
        if item.cpe:
            try:
                cpe = parse_cpe(item.cpe)
            except CpeError:
                cpe = None
            if cpe is not None and cpe.vendor not in (ANY, NA) and cpe.product not in (ANY, NA):
                text = cpe.version if cpe.version not in (ANY, NA) else item.version
                if cpe.version == NA:
                    text = NA
                seen = _seen(cpe.part, text, cpe.update)
                same = EQUIVALENT_PRODUCTS.get((cpe.vendor, cpe.product), ())
                also = f" (CPE {cpe.vendor}:{cpe.product} is the same product as {{}})"
                return [(cpe.vendor, cpe.product, seen, "")] + [
                    (vendor, product, seen, also.format(f"{vendor}:{product}"))
                    for vendor, product in same
                    if (vendor, product) != (cpe.vendor, cpe.product)
                ]
        if not item.product or not item.product.strip():
            return []
        seen = _seen(ANY, item.version, ANY)
        name = " ".join(item.product.lower().split())
        if name in PRODUCT_ALIASES:
            note = f" (product {item.product!r} is {{}} by the alias table)"
            return [
                (vendor, product, seen, note.format(f"{vendor}:{product}"))
                for vendor, product in PRODUCT_ALIASES[name]
            ]
        products = [name_key(name)]
        for suffix in _SERVICE_SUFFIXES:
            if name.endswith(suffix):
                products.append(name_key(name[: -len(suffix)]))
        targets = []
        for product in products:
            if item.vendor and item.vendor.strip():
                vendors = {name_key(item.vendor)}
                note = f" (by name: vendor {item.vendor!r}, product {item.product!r})"
            else:
                vendors = self._vendors.get(product, set()) - {ANY}
                note = f" (by product name {item.product!r}; vendor not seen)"
            targets += [(vendor, product, seen, note) for vendor in sorted(vendors | {ANY})]
        return targets


def _seen(part: str, version: str | None, update: str) -> _Seen:
    text = None
    if version is not None and version.strip():
        text = version.strip().lower() if version.strip() == NA else leading_version(version)
    if text is None or text == NA:
        return _Seen(part, text, None, None, update)
    text = text.lower()
    try:
        bare = version_key(text)
        key = version_key(text + update) if update not in (ANY, NA) else bare
    except VersionError:
        return _Seen(part, None, None, None, update)
    return _Seen(part, text, key, bare, update)


def _version_and_update(criteria: str) -> tuple[str, str]:
    """The version and update attributes of a criteria CPE. Most criteria have no escapes and
    no wildcards inside values: a split is enough, and a build over NVD's ~600,000 criteria
    saves the full parse; anything else goes through parse_cpe."""
    fields = criteria.split(":")
    if "\\" not in criteria and len(fields) == 13 and fields[1] == "2.3":
        version, update = fields[5].lower(), fields[6].lower()
        if _plain(version) and _plain(update):
            return version, update
    cpe = parse_cpe(criteria)
    return cpe.version, cpe.update


def _plain(value: str) -> bool:
    return value == ANY or (value != "" and "*" not in value and "?" not in value)


def _ranged(compiled: _Compiled) -> bool:
    return compiled.start is not None or compiled.end is not None


def _check(compiled: _Compiled, seen: _Seen) -> str | None:
    """None when the criterion does not cover what was seen; else what the reason must add
    to the criterion's description ("" or a note)."""
    criterion = compiled.criterion
    if criterion.part != ANY and seen.part not in (ANY, criterion.part):
        return None
    ranged = compiled.start is not None or compiled.end is not None
    note = ""
    if compiled.version == NA:
        if seen.version != NA:
            return None
    elif compiled.version == ANY:
        if ranged and (seen.key is None or not _in_range(compiled, seen.key)):
            return None
        if compiled.update not in (ANY, NA) and seen.update not in (ANY, compiled.update):
            return None
    elif compiled.exact is None:  # a pattern such as 9.3*
        if seen.version is None or not _pattern_matches(compiled.version, seen.version):
            return None
    else:
        if seen.key is None:
            return None
        if seen.key != compiled.exact:
            if not (seen.update == ANY and compiled.update not in (ANY, NA)):
                return None
            if seen.bare != compiled.exact_bare:
                return None
            note = f"; update not seen (criteria names update {compiled.update})"
    return note


def _pattern_matches(pattern: str, version: str) -> bool:
    """A CPE version pattern; `4.1*` (only a trailing wildcard) is taken as "4.1 and its
    sub-versions" at a component boundary, so it covers 4.1.3 and 4.1p1 but not 4.10."""
    prefix = pattern[:-1]
    if pattern.endswith(WILDCARD) and not is_pattern(prefix):
        rest = version[len(prefix) :]
        return version.startswith(prefix) and (rest == "" or not rest[0].isdigit())
    return value_matches(pattern, version)


def _in_range(compiled: _Compiled, key: Key) -> bool:
    criterion = compiled.criterion
    if compiled.start is not None and (
        key < compiled.start or (key == compiled.start and not criterion.start_including)
    ):
        return False
    return compiled.end is None or (
        key < compiled.end or (key == compiled.end and criterion.end_including)
    )


def _describe(criterion: MatchCriterion, ranged: bool) -> str:
    text = f"{criterion.where}: {criterion.criteria}" if criterion.where else criterion.criteria
    if criterion.version_start:
        kind = "Including" if criterion.start_including else "Excluding"
        text += f" versionStart{kind} {criterion.version_start}"
    if criterion.version_end:
        kind = "Including" if criterion.end_including else "Excluding"
        text += f" versionEnd{kind} {criterion.version_end}"
    if not ranged and criterion.criteria.split(":")[5:6] == ["*"]:
        text += " (every version)"
    if criterion.conditions:
        text += f"; platform not checked: {criterion.conditions}"
    return text
