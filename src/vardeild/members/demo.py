"""A fictional constituency for `vardeild demo`, the docs and the tests: some forty
organisations of a Norwegian health and care sector, as pure data in the registry's
interchange form (the shape `members.model.spec_to_dict` produces and import accepts).

Nothing here may point at a real organisation, network or person:

- Organisation numbers start with 100: Brønnøysund assigns 9-digit organisation numbers
  beginning with 8 or 9 only, so, as far as we know, no real entity can hold one of these. They
  still carry a valid mod-11 check digit, so the registry's validation treats them as real.
- Internet-facing networks come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
  203.0.113.0/24, 2001:db8::/32, RFC 5737 and RFC 3849); sector-internal ones from the private
  ranges (10/8, 172.16/12, 192.168/16, RFC 1918), marked "internal".
- AS numbers come from the documentation ranges (64496-64511, 65536-65551, RFC 5398) and the
  private range from 4200000000 (RFC 6996).
- Domains sit under the reserved `.example` and `.test` top-level domains (RFC 2606).
- Phone numbers are 8 digits starting with 1, which the Norwegian numbering plan keeps for
  short service numbers, so none of them reaches a subscriber.
- The places (Fjellvik, Storvåg, Breidal, ...) and the health regions are invented.

A few overlaps are deliberate, so that `vardeild members conflicts` has something to show:
the hosting provider Fjordsky Drift's 198.51.100.0/25 contains the /28 of Solvik
fastlegekontor and the /29 of Fjordtann Breidal, whose servers it hosts; and Fjellvik kommune
and its health office, Fjellvik helse og omsorg, both register the private 172.20.14.0/24.
"""

from __future__ import annotations

from typing import Any

from vardeild.core.identifiers import org_number_with_check_digit
from vardeild.members.model import parse_organisation, spec_to_dict

# Addresses the docs and tests use: (value, name of the owning organisation or None).
DEMO_EXAMPLES: tuple[tuple[str, str | None], ...] = (
    ("192.0.2.10", "Nordhamn sykehus HF"),
    ("198.51.100.40", "Solvik fastlegekontor"),  # inside the vendor's /25: most specific wins
    ("2001:db8:2200::1", "Helse Fjordland RHF"),
    ("pasient.austmark-sykehus.example", "Austmark universitetssykehus HF"),
    ("203.0.113.250", None),  # documentation space the demo leaves unassigned: "no member"
)

# The deliberate overlaps: (outer CIDR, its owner, inner CIDR, its owner).
DEMO_OVERLAPS: tuple[tuple[str, str, str, str], ...] = (
    ("198.51.100.0/25", "Fjordsky Drift AS", "198.51.100.32/28", "Solvik fastlegekontor"),
    ("198.51.100.0/25", "Fjordsky Drift AS", "198.51.100.48/29", "Fjordtann Breidal AS"),
    ("172.20.14.0/24", "Fjellvik kommune", "172.20.14.0/24", "Fjellvik helse og omsorg"),
)

_SERVICES_ALL = ["monitoring", "vulnerability_overview", "penetration_testing", "advisories"]


def demo_org_number(seed: int) -> str:
    """Return the fictional organisation number for seed (0-999): 100 + seed + check digit."""
    for eighth in range(10):
        # At most one eighth digit yields the impossible check digit 10; the next one works.
        number = org_number_with_check_digit(f"100{seed:03d}0{eighth}")
        if number is not None:
            return number
    raise AssertionError(f"no valid organisation number for seed {seed}")  # pragma: no cover


def _phone(seed: int, n: int) -> str:
    digits = f"1{seed:03d}{n:02d}{(seed * 7 + n * 3) % 100:02d}"
    return f"+47 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"


def _net(cidr: str, description: str = "", *, internal: bool = False) -> dict[str, str]:
    return {
        "cidr": cidr,
        "exposure": "internal" if internal else "internet",
        "description": description,
    }


def _asn(asn: int, description: str = "", *, internal: bool = False) -> dict[str, Any]:
    return {
        "asn": asn,
        "exposure": "internal" if internal else "internet",
        "description": description,
    }


def _person(name: str, local: str, roles: list[str], language: str = "nb") -> dict[str, Any]:
    return {"name": name, "local": local, "roles": roles, "language": language}


def _membership(state: str, since: str) -> dict[str, str]:
    if state == "applied":
        return {"state": state, "applied_on": since}
    if state == "suspended":
        return {"state": state, "joined_on": since, "suspended_on": "2026-09-14"}
    if state == "left":
        return {"state": state, "joined_on": since, "left_on": "2026-06-30"}
    return {"state": state, "joined_on": since}


def _org(
    seed: int,
    name: str,
    short_name: str,
    sector: str,
    *,
    criticality: str,
    domain: str,
    contacts: list[dict[str, Any]],
    state: str = "active",
    since: str = "2024-03-01",
    services: list[str] | None = None,
    parent: int | None = None,
    networks: list[dict[str, str]] | None = None,
    asns: list[dict[str, Any]] | None = None,
    extra_domains: list[str] | None = None,
    notes: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "short_name": short_name,
        "org_number": demo_org_number(seed),
        "sector": sector,
        "criticality": criticality,
        "membership": _membership(state, since),
        "services": services if services is not None else ["monitoring", "advisories"],
        "parent": demo_org_number(parent) if parent is not None else None,
        "notes": notes,
        "networks": networks or [],
        "asns": asns or [],
        "domains": [
            {"name": domain, "exposure": "internet", "description": "main domain"},
            *(
                {"name": d, "exposure": "internal", "description": "internal zone"}
                for d in extra_domains or []
            ),
        ],
        "contacts": [
            {
                "name": c["name"],
                "email": f"{c['local']}@{domain}",
                "phone": _phone(seed, i),
                "roles": c["roles"],
                "language": c["language"],
                "pgp_key": "",
            }
            for i, c in enumerate(contacts)
        ],
    }


# Seeds of the health regions, which their trusts name as parent.
_NORDVEST, _FJORDLAND, _AUSTMARK, _SORKYST = 10, 20, 30, 40
_FJELLVIK = 100


def _regions() -> list[dict[str, Any]]:
    regions = [  # (seed, name, short name, domain, ASN)
        (_NORDVEST, "Helse Nordvest RHF", "Helse Nordvest", "helse-nordvest.example", 64496),
        (_FJORDLAND, "Helse Fjordland RHF", "Helse Fjordland", "helse-fjordland.example", 64497),
        (_AUSTMARK, "Helse Austmark RHF", "Helse Austmark", "helse-austmark.example", 64498),
        (_SORKYST, "Helse Sørkyst RHF", "Helse Sørkyst", "helse-sorkyst.example", 64499),
    ]
    people = [
        (_person("Ingrid Haugen", "ingrid.haugen", ["security", "management"]),),
        (_person("Bjørn Lie", "bjorn.lie", ["security", "management"]),),
        (_person("Astrid Moen", "astrid.moen", ["management"]),),
        (_person("Eirik Sandvik", "eirik.sandvik", ["security", "management"], "en"),),
    ]
    return [
        _org(
            seed,
            name,
            short,
            "health_region",
            criticality="critical",
            domain=domain,
            since="2023-01-02",
            services=_SERVICES_ALL,
            networks=[
                _net(f"192.0.2.{192 + 16 * i}/28", "regional services"),
                _net(f"2001:db8:{i + 1}{i + 1}00::/40", "regional IPv6 allocation"),
                _net(f"10.{10 + i}.0.0/16", "sector network", internal=True),
            ],
            asns=[_asn(asn, "regional backbone")],
            contacts=[
                *people[i],
                _person("Sikkerhetssenteret", "soc", ["security", "abuse", "on_call"]),
            ],
            notes="Regional health authority; owns the hospital trusts of its region.",
        )
        for i, (seed, name, short, domain, asn) in enumerate(regions)
    ]


def _trusts() -> list[dict[str, Any]]:
    # (seed, name, short, domain, parent, /28 index in 192.0.2.0/24, ASN, contact)
    trusts = [
        (11, "Nordhamn sykehus HF", "NSH", "nordhamn-sykehus.example", _NORDVEST, 0, 64500,
         ("Kristian Rønning", "kristian.ronning")),
        (12, "Kvitstrand sjukehus HF", "KSJ", "kvitstrand-sjukehus.example", _NORDVEST, 1, 64501,
         ("Silje Vik", "silje.vik")),
        (21, "Fjordland universitetssjukehus HF", "FUS", "fjordland-sjukehus.example",
         _FJORDLAND, 2, 64502, ("Vegard Holm", "vegard.holm")),
        (22, "Breidal sjukehus HF", "BSJ", "breidal-sjukehus.example", _FJORDLAND, 3, 64503,
         ("Åse Brekke", "ase.brekke")),
        (31, "Austmark universitetssykehus HF", "AUS", "austmark-sykehus.example", _AUSTMARK,
         4, 64504, ("Øyvind Lien", "oyvind.lien")),
        (32, "Storvåg sykehus HF", "SVS", "storvag-sykehus.example", _AUSTMARK, 5, 64505,
         ("Marit Fossum", "marit.fossum")),
        (33, "Austmark sykehusapotek HF", "ASA", "austmark-apotek.example", _AUSTMARK, 6,
         64506, ("Trond Myhre", "trond.myhre")),
        (41, "Sørkyst sykehus HF", "SKS", "sorkyst-sykehus.example", _SORKYST, 7, 64507,
         ("Hanne Dahl", "hanne.dahl")),
        (42, "Lysnes sykehus HF", "LSH", "lysnes-sykehus.example", _SORKYST, 8, 64508,
         ("Rune Eide", "rune.eide")),
    ]  # fmt: skip
    result = []
    for seed, name, short, domain, parent, block, asn, (person, local) in trusts:
        result.append(
            _org(
                seed,
                name,
                short,
                "hospital_trust",
                criticality="critical",
                domain=domain,
                parent=parent,
                since="2023-02-01",
                services=_SERVICES_ALL if block % 3 else ["monitoring", "advisories"],
                networks=[
                    _net(f"192.0.2.{16 * block}/28", "public web and e-mail"),
                    _net(f"2001:db8:{block + 1:x}0{block + 1:x}0::/48", "hospital IPv6"),
                    _net(f"10.{100 + block}.0.0/16", "clinical network", internal=True),
                ],
                asns=[_asn(asn, "hospital edge"), _asn(4_200_000_000 + seed, internal=True)],
                extra_domains=[f"intern.{domain.removesuffix('.example')}.test"],
                contacts=[
                    _person(person, local, ["security", "technical"]),
                    _person("IKT-vakt", "ikt-vakt", ["on_call", "technical"]),
                    _person("Abuse", "abuse", ["abuse"], "en"),
                ],
            )
        )
    return result


def _municipalities() -> list[dict[str, Any]]:
    towns = [
        # (seed, name, domain, 172.x, criticality, state, contact)
        (_FJELLVIK, "Fjellvik kommune", "fjellvik-kommune.test", 20, "high", "active",
         ("Line Strand", "line.strand")),
        (101, "Storvåg kommune", "storvag-kommune.test", 21, "medium", "active",
         ("Magnus Berg", "magnus.berg")),
        (102, "Breidal kommune", "breidal-kommune.test", 22, "medium", "active",
         ("Nina Lund", "nina.lund")),
        (103, "Lysnes kommune", "lysnes-kommune.test", 23, "medium", "applied",
         ("Ola Nilsen", "ola.nilsen")),
        (104, "Kvitstrand kommune", "kvitstrand-kommune.test", 24, "high", "active",
         ("Per Hagen", "per.hagen")),
        (105, "Nordhamn kommune", "nordhamn-kommune.test", 25, "high", "suspended",
         ("Sigrid Aas", "sigrid.aas")),
    ]  # fmt: skip
    result = [
        _org(
            seed,
            name,
            name.removesuffix(" kommune"),
            "municipality",
            criticality=criticality,
            domain=domain,
            state=state,
            since="2025-01-15" if state == "applied" else "2024-05-01",
            services=["monitoring", "vulnerability_overview", "advisories"],
            networks=[
                _net(f"203.0.113.{16 * i}/28", "municipal services"),
                _net(f"172.{second}.14.0/24", "care services", internal=True),
                _net(f"172.{second}.0.0/22", "administration", internal=True),
            ],
            contacts=[
                _person(person, local, ["security", "management"]),
                _person("IT-drift", "it-drift", ["technical", "abuse"]),
            ],
            notes=(
                "Membership suspended until the municipality names a new security contact."
                if state == "suspended"
                else ""
            ),
        )
        for i, (seed, name, domain, second, criticality, state, (person, local)) in enumerate(towns)
    ]
    result.append(
        _org(
            106,
            "Fjellvik helse og omsorg",
            "Fjellvik HO",
            "municipality",
            criticality="high",
            domain="fjellvik-helse.test",
            parent=_FJELLVIK,
            services=["monitoring"],
            networks=[
                # Deliberately the same /24 as Fjellvik kommune's care network: both register it.
                _net(
                    "172.20.14.0/24", "care services, shared with the municipality", internal=True
                ),
                _net("192.168.60.0/24", "emergency ward (legevakt)", internal=True),
            ],
            contacts=[_person("Tone Brekke", "tone.brekke", ["security", "on_call"])],
            notes="The municipality's health office: GP emergency ward, home care, health nurses.",
        )
    )
    return result


def _local_members() -> list[dict[str, Any]]:
    """GP clinics, dental clinics, pharmacies and laboratories: small members, small ranges."""
    # (seed, name, short, sector, domain, /29 index in 203.0.113.128/25 or a CIDR,
    #  criticality, state, services, contact)
    small: list[
        tuple[int, str, str, str, str, int | str, str, str, list[str], tuple[str, str]]
    ] = [
        (200, "Storvåg legesenter", "Storvåg LS", "gp_clinic", "storvag-legesenter.test", 0,
         "medium", "active", ["monitoring", "advisories"], ("Kari Nordmann", "kari.nordmann")),
        (201, "Breidal legekontor", "Breidal LK", "gp_clinic", "breidal-legekontor.test", 1,
         "low", "active", ["advisories"], ("Jon Bakken", "jon.bakken")),
        (202, "Kvitstrand legesenter AS", "Kvitstrand LS", "gp_clinic",
         "kvitstrand-lege.test", 2, "low", "applied", ["monitoring"],
         ("Liv Solheim", "liv.solheim")),
        (203, "Nordhamn legegruppe", "Nordhamn LG", "gp_clinic", "nordhamn-lege.test", 3,
         "medium", "left", [], ("Geir Tangen", "geir.tangen")),
        (204, "Solvik fastlegekontor", "Solvik FLK", "gp_clinic", "solvik-lege.test",
         "198.51.100.32/28", "low", "active", ["monitoring", "advisories"],
         ("Maria Lunde", "maria.lunde")),
        (300, "Fjordtann Breidal AS", "Fjordtann", "dental", "fjordtann.test",
         "198.51.100.48/29", "low", "active", ["advisories"], ("Heidi Vang", "heidi.vang")),
        (301, "Lysnes tannklinikk", "Lysnes TK", "dental", "lysnes-tann.test", 4, "low",
         "active", ["monitoring", "advisories"], ("Stian Bø", "stian.bo")),
        (302, "Tannhelse Nordhamn", "TH Nordhamn", "dental", "tannhelse-nordhamn.test", 5,
         "medium", "active", ["monitoring", "vulnerability_overview", "advisories"],
         ("Elin Kvam", "elin.kvam")),
        (400, "Storvåg Apotek AS", "Storvåg Apotek", "pharmacy", "storvag-apotek.test", 6,
         "medium", "active", ["monitoring", "advisories"], ("Anders Moe", "anders.moe")),
        (401, "Lysnes Apotek", "Lysnes Apotek", "pharmacy", "lysnes-apotek.test", 7, "medium",
         "active", ["advisories"], ("Camilla Ask", "camilla.ask")),
        (402, "Kvitstrand Apotek", "Kvitstrand Apotek", "pharmacy", "kvitstrand-apotek.test",
         8, "low", "applied", [], ("Tor Helland", "tor.helland")),
        (500, "Fjordland medisinske laboratorium AS", "FML", "laboratory",
         "fjordland-lab.example", 9, "high", "active", _SERVICES_ALL,
         ("Gunn Rasmussen", "gunn.rasmussen")),
        (501, "Austmark Patologi AS", "Austmark Patologi", "laboratory",
         "austmark-patologi.example", 10, "high", "active",
         ["monitoring", "vulnerability_overview", "advisories"],
         ("Knut Aasen", "knut.aasen")),
        (502, "Sørkyst Mikrobiologi AS", "SK Mikro", "laboratory", "sorkyst-mikro.example",
         11, "high", "suspended", ["monitoring"], ("Randi Vold", "randi.vold")),
    ]  # fmt: skip
    result = []
    for seed, name, short, sector, domain, where, crit, state, services, person in small:
        cidr = where if isinstance(where, str) else f"203.0.113.{128 + 8 * where}/29"
        networks = [_net(cidr, "hosted services" if isinstance(where, str) else "office line")]
        networks.append(_net(f"192.168.{seed % 250}.0/24", "office LAN", internal=True))
        if sector == "laboratory":
            networks.append(_net(f"2001:db8:{seed:x}::/48", "laboratory IPv6"))
        result.append(
            _org(
                seed,
                name,
                short,
                sector,
                criticality=crit,
                domain=domain,
                state=state,
                since="2025-10-01" if state == "applied" else "2024-09-01",
                services=services,
                networks=networks,
                contacts=[
                    _person(person[0], person[1], ["security", "technical", "abuse"]),
                    _person("Daglig leder", "post", ["management"]),
                ],
                notes=(
                    f"Servers hosted by Fjordsky Drift AS in {cidr}."
                    if isinstance(where, str)
                    else ""
                ),
            )
        )
    return result


def _vendors_and_others() -> list[dict[str, Any]]:
    return [
        _org(
            600,
            "Fjordsky Drift AS",
            "Fjordsky",
            "vendor",
            criticality="high",
            domain="fjordsky.example",
            services=_SERVICES_ALL,
            networks=[
                # Deliberately contains the ranges of the clinics it hosts.
                _net("198.51.100.0/25", "hosting platform, shared by customers"),
                _net("2001:db8:f000::/36", "hosting IPv6"),
            ],
            asns=[_asn(65536, "hosting network")],
            contacts=[
                _person("Erlend Bakke", "erlend.bakke", ["security", "on_call"], "en"),
                _person("NOC", "noc", ["technical", "abuse", "on_call"], "en"),
            ],
            notes="Hosting provider for small clinics in the Fjordland region.",
        ),
        _org(
            601,
            "Journalsystemer Norden AS",
            "JSN",
            "vendor",
            criticality="critical",
            domain="journalsystemer.example",
            services=["vulnerability_overview", "advisories"],
            networks=[_net("198.51.100.128/27", "EHR cloud service")],
            asns=[_asn(65537, "EHR cloud")],
            contacts=[
                _person("Mona Halvorsen", "mona.halvorsen", ["security", "management"]),
                _person("PSIRT", "psirt", ["security", "abuse"], "en"),
            ],
            notes="Supplies the electronic health record used by most GP clinics.",
        ),
        _org(
            602,
            "Medivakt Sikkerhet AS",
            "Medivakt",
            "vendor",
            criticality="medium",
            domain="medivakt.example",
            state="applied",
            since="2026-10-20",
            services=["advisories"],
            networks=[_net("198.51.100.160/28", "managed security service")],
            contacts=[_person("Henrik Solberg", "henrik.solberg", ["security"])],
        ),
        _org(
            603,
            "Telemed Nord AS",
            "Telemed Nord",
            "vendor",
            criticality="high",
            domain="telemed-nord.example",
            services=["monitoring", "advisories"],
            networks=[
                _net("198.51.100.176/28", "video consultation service"),
                _net("2001:db8:603::/48", "video consultation IPv6"),
            ],
            asns=[_asn(65538, "telemedicine")],
            contacts=[_person("Ida Sætre", "ida.saetre", ["security", "technical"], "en")],
        ),
        _org(
            700,
            "Samhandlingsnett Helse SF",
            "Samhandlingsnettet",
            "other",
            criticality="critical",
            domain="samhandlingsnett.example",
            services=_SERVICES_ALL,
            networks=[
                _net("198.51.100.192/27", "sector network edge"),
                _net("10.250.0.0/16", "sector network core", internal=True),
            ],
            asns=[_asn(65550, "sector network"), _asn(4_200_000_700, internal=True)],
            contacts=[
                _person("Vakthavende", "vakt", ["on_call", "security", "abuse"]),
                _person("Petter Hansen", "petter.hansen", ["technical"]),
            ],
            notes="Operates the sector network that links members; state enterprise (fictional).",
        ),
        _org(
            701,
            "Stiftelsen Omsorgsbolig Vest",
            "Omsorgsbolig Vest",
            "other",
            criticality="low",
            domain="omsorgsbolig-vest.test",
            services=["advisories"],
            networks=[_net("203.0.113.96/28", "care homes")],
            contacts=[_person("Berit Johansen", "berit.johansen", ["management", "security"])],
        ),
        _org(
            702,
            "Kystlinjen Pasienttransport AS",
            "Kystlinjen",
            "other",
            criticality="medium",
            domain="kystlinjen.test",
            state="left",
            since="2024-01-10",
            services=[],
            networks=[_net("203.0.113.112/28", "dispatch")],
            contacts=[_person("Arne Løken", "arne.loken", ["technical", "security"])],
        ),
    ]


def demo_constituency() -> list[dict[str, Any]]:
    """Return the fictional constituency in interchange form, parents before their children.

    Every entry is passed through `parse_organisation` and `spec_to_dict`, so what is returned
    is canonical; an entry that did not parse would raise ValidationFailed here.
    """
    raw = [*_regions(), *_trusts(), *_municipalities(), *_local_members()]
    raw += _vendors_and_others()
    result = []
    for entry in raw:
        spec = parse_organisation(entry, f"demo organisation {entry['name']!r}")
        assert spec is not None  # parse_organisation raises rather than return None here
        result.append(spec_to_dict(spec))
    return result
