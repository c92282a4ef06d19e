"""Reading and writing registry files: what is refused, and what survives a round trip."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from vardeild.core.errors import ValidationFailed
from vardeild.core.spreadsheet import guard_formula, unguard_formula
from vardeild.members.model import OrganisationSpec, parse_organisation
from vardeild.members.registry_csv import COLUMNS
from vardeild.members.registry_formats import (
    DEFAULT_MAX_BYTES,
    MAX_DEPTH,
    RegistryFormat,
    detect_format,
    read_records,
    write_records,
)
from vardeild.settings import Settings

HEADER = ",".join(COLUMNS)
KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ0\n-----END PGP PUBLIC KEY BLOCK-----"


def _problems(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def _refused(data: bytes, fmt: RegistryFormat, source: str = "f", **kwargs: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as exc:
        read_records(data, fmt, source=source, **kwargs)
    return _problems(exc)


def _tricky() -> OrganisationSpec:
    """An organisation using every field, with text that each format must escape."""
    spec = parse_organisation(
        {
            "name": '=HYPERLINK("http://evil.example"); Helse | <Test> \\ Æøå',
            "short_name": "-HT",
            "org_number": "974760673",
            "sector": "hospital_trust",
            "criticality": "critical",
            "membership": {
                "state": "suspended",
                "applied_on": "2024-01-02",
                "joined_on": "2024-02-03",
                "suspended_on": "2025-03-04",
            },
            "services": ["advisories", "monitoring"],
            "parent": "Helse Sør-Øst RHF",
            "notes": '@first line\n\tsecond; line, with "quotes"\n\'=third',
            "networks": [
                "192.0.2.0/24",
                {"cidr": "10.0.0.0/8", "exposure": "internal", "description": "Sector; net"},
                {"cidr": "2001:db8::/32", "description": "(internal) is only a word here"},
                {"cidr": "198.51.100.7/32", "exposure": "internal", "description": "a\\;b"},
            ],
            "asns": [64500, {"asn": 64501, "exposure": "internal", "description": "Transit"}],
            "domains": [
                "helse-test.no",
                {"name": "intern.helse-test.no", "exposure": "internal", "description": "+AD"},
            ],
            "contacts": [
                {
                    "name": "Kari <Nordmann> | \\ Sikkerhet",
                    "email": "a|b@helse-test.no",
                    "phone": "+47 22 00 00 00",
                    "roles": ["security", "abuse"],
                    "language": "en",
                    "pgp_key": KEY,
                },
                {"name": "Ola", "email": "ola@helse-test.no"},
            ],
        },
        "tricky",
    )
    assert spec is not None
    return spec


def _without_keys(spec: OrganisationSpec) -> OrganisationSpec:
    contacts = tuple(dataclasses.replace(c, pgp_key="") for c in spec.contacts)
    return dataclasses.replace(spec, contacts=contacts)


def _read_back(data: bytes, fmt: RegistryFormat) -> list[OrganisationSpec]:
    specs = []
    for label, mapping in read_records(data, fmt, source="back"):
        spec = parse_organisation(mapping, label)
        assert spec is not None
        specs.append(spec)
    return specs


# --- formats and round trips -------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("registry.json", RegistryFormat.JSON),
        ("REGISTRY.YAML", RegistryFormat.YAML),
        ("a/b/registry.yml", RegistryFormat.YAML),
        ("export.2026.csv", RegistryFormat.CSV),
    ],
)
def test_format_is_told_by_the_extension(filename: str, expected: RegistryFormat) -> None:
    assert detect_format(filename) is expected


def test_an_unknown_extension_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"\.json, \.yaml, \.yml, \.csv"):
        detect_format("registry.xlsx")


def test_default_size_bound_is_the_settings_default() -> None:
    assert Settings.model_fields["import_max_bytes"].default == DEFAULT_MAX_BYTES


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_round_trip_is_exact(fmt: RegistryFormat) -> None:
    spec = _tricky()
    (back,) = _read_back(write_records([spec], fmt), fmt)
    # CSV has no place for keys; import keeps the stored ones (see the integration tests).
    assert back == (_without_keys(spec) if fmt is RegistryFormat.CSV else spec)


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_writing_is_deterministic_and_rewriting_what_was_read_changes_nothing(
    fmt: RegistryFormat,
) -> None:
    other = dataclasses.replace(_without_keys(_tricky()), name="Other", org_number=None)
    first = write_records([_tricky(), other], fmt)
    assert write_records([_tricky(), other], fmt) == first
    assert write_records(_read_back(first, fmt), fmt) == first


def test_json_labels_name_the_record_number_and_name() -> None:
    data = json.dumps([{"name": "A"}, {"org_number": "1"}, "not an object"]).encode()
    labels = [label for label, _ in read_records(data, RegistryFormat.JSON, source="x.json")]
    assert labels == ["x.json record 1 (name 'A')", "x.json record 2", "x.json record 3"]


def test_the_minimal_json_form_of_the_issue_reads() -> None:
    data = (
        b'[{"name": "Helse Test HF", "org_number": "974760673", "sector": "hospital_trust", '
        b'"networks": ["192.0.2.0/24"], "asns": [64500], "domains": ["example.no"], '
        b'"contacts": [{"name": "Kari", "email": "soc@example.no", "roles": ["security"]}]}]'
    )
    ((label, mapping),) = read_records(data, RegistryFormat.JSON, source="m.json")
    spec = parse_organisation(mapping, label)
    assert spec is not None
    assert spec.networks[0].cidr == "192.0.2.0/24"
    assert spec.contacts[0].roles[0].value == "security"


def test_yaml_written_by_hand_reads_dates_and_numbers() -> None:
    data = (
        b"- name: Helse Test HF\n"
        b"  org_number: 974760673\n"
        b"  sector: hospital_trust\n"
        b"  membership: {state: active, joined_on: 2025-01-01}\n"
        b"  asns: [AS64500, 64501]\n"
    )
    ((label, mapping),) = read_records(data, RegistryFormat.YAML, source="h.yaml")
    spec = parse_organisation(mapping, label)
    assert spec is not None
    assert spec.org_number == "974760673"
    assert spec.membership.joined_on is not None
    assert [a.asn for a in spec.asns] == [64500, 64501]


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_a_byte_order_mark_is_tolerated(fmt: RegistryFormat) -> None:
    data = write_records([_tricky()], fmt)
    body = data.removeprefix(b"\xef\xbb\xbf")
    assert len(read_records(b"\xef\xbb\xbf" + body, fmt, source="f")) == 1
    assert len(read_records(body, fmt, source="f")) == 1


def test_csv_is_written_with_a_bom_and_crlf_for_spreadsheets() -> None:
    data = write_records([_tricky()], RegistryFormat.CSV)
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")


# --- refused files -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_invalid_utf8_names_the_byte_offset_and_line(fmt: RegistryFormat) -> None:
    data = b'[{"name": "ok"},\n {"name": "Bod\xf8 kommune"}]'
    (problem,) = _refused(data, fmt, source="bad.txt")
    assert problem.startswith("bad.txt: is not UTF-8: byte 31 (line 2) is 0xf8")


def test_invalid_utf8_after_a_bom_counts_the_bom() -> None:
    (problem,) = _refused(b"\xef\xbb\xbf[\xff]", RegistryFormat.JSON)
    assert "byte 4 " in problem


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_a_file_over_the_bound_is_refused_before_reading(fmt: RegistryFormat) -> None:
    (problem,) = _refused(b"[" + b" " * 2000 + b"]", fmt, max_bytes=1024)
    assert "is 2,002 bytes; at most 1,024 are accepted" in problem


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_an_empty_file_is_refused(fmt: RegistryFormat) -> None:
    (problem,) = _refused(b" \n", fmt)
    assert "is empty" in problem


def test_json_syntax_error_names_line_and_column() -> None:
    (problem,) = _refused(b'[\n  {"name": "A",}\n]', RegistryFormat.JSON)
    assert "is not valid JSON" in problem
    assert "line 2 column 16" in problem


def test_yaml_syntax_error_names_line_and_column() -> None:
    (problem,) = _refused(b"- name: A\n  sector: [x\n- name: B\n", RegistryFormat.YAML)
    assert "is not valid YAML" in problem
    assert "line 3 column 7" in problem


@pytest.mark.parametrize(
    ("fmt", "data", "kind"),
    [
        (RegistryFormat.JSON, b'{"name": "A"}', "a dict"),
        (RegistryFormat.JSON, b"null", "nothing"),
        (RegistryFormat.YAML, b"name: A\n", "a dict"),
        (RegistryFormat.YAML, b"just text\n", "a str"),
    ],
)
def test_top_level_must_be_a_list(fmt: RegistryFormat, data: bytes, kind: str) -> None:
    (problem,) = _refused(data, fmt)
    assert f"must hold a list of organisations at the top level, not {kind}" in problem


@pytest.mark.parametrize("depth", [100_000, 10_000])
def test_deeply_nested_json_is_refused_clearly(depth: int) -> None:
    (problem,) = _refused(b"[" * depth + b"]" * depth, RegistryFormat.JSON)
    assert "nests too deeply to be read" in problem


def test_nesting_deeper_than_an_organisation_needs_names_the_record() -> None:
    deep: Any = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    data = json.dumps([{"name": "A", "notes": deep}]).encode()
    problems = _refused(data, RegistryFormat.JSON, source="d.json")
    assert problems == [
        f"d.json record 1 (name 'A'): {'notes' + '[0]' * (MAX_DEPTH - 1)}: "
        f"nests deeper than {MAX_DEPTH} levels"
    ]


@pytest.mark.parametrize("depth", [100_000, 100])
def test_deeply_nested_yaml_is_refused_before_it_is_built(depth: int) -> None:
    (problem,) = _refused(b"[" * depth + b"]" * depth, RegistryFormat.YAML)
    assert problem.startswith("f: is not valid YAML: ")
    assert "nest" in problem
    assert "line 1 column" in problem


def test_yaml_nesting_is_counted_from_the_record_as_in_json() -> None:
    allowed = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert len(read_records(allowed, RegistryFormat.YAML, source="f")) == 1
    data = b"- name: A\n  notes: " + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"\n"
    (problem,) = _refused(data, RegistryFormat.YAML)
    assert f"nests deeper than {MAX_DEPTH} levels (line 2 column 25)" in problem


def test_yaml_billion_laughs_is_refused_at_the_first_alias() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 6):  # small enough that, unrefused, it fails rather than hangs
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    data = ("- " + "\n  ".join(lines) + "\n").encode()
    (problem,) = _refused(data, RegistryFormat.YAML)
    assert "aliases (*name) are not accepted" in problem
    assert "line 2 column" in problem


def test_a_single_yaml_alias_and_merge_key_are_refused() -> None:
    data = b"- &org {name: A, sector: other}\n- <<: *org\n  name: B\n"
    (problem,) = _refused(data, RegistryFormat.YAML)
    assert "aliases" in problem


def test_yaml_python_tags_are_refused() -> None:
    data = b"- !!python/object/apply:os.system ['echo pwned']\n"
    (problem,) = _refused(data, RegistryFormat.YAML)
    assert "is not valid YAML" in problem


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        (RegistryFormat.JSON, b'[{"name": "A", "name": "B"}]'),
        (RegistryFormat.YAML, b"- name: A\n  sector: other\n  name: B\n"),
    ],
)
def test_duplicate_keys_are_refused(fmt: RegistryFormat, data: bytes) -> None:
    (problem,) = _refused(data, fmt)
    assert "the key 'name' appears twice" in problem


@pytest.mark.parametrize(
    "data",
    [b'[{"asns": [NaN]}]', b'[{"asns": [Infinity]}]', b'[{"asns": [' + b"9" * 5000 + b"]}]"],
)
def test_numbers_json_does_not_allow_or_python_cannot_read_are_refused(data: bytes) -> None:
    (problem,) = _refused(data, RegistryFormat.JSON)
    assert "is not valid JSON" in problem


@pytest.mark.parametrize("fmt", list(RegistryFormat))
def test_a_nul_byte_is_refused_with_its_place(fmt: RegistryFormat) -> None:
    (problem,) = _refused(b'[\n {"name": "A\x00"}]', fmt)
    assert "holds a NUL character at line 2 column 13" in problem


def test_escaped_nul_and_lone_surrogates_name_record_and_field() -> None:
    data = b'[{"name": "A", "notes": "x\\u0000"}, {"name": "B", "contacts": [{"name": "\\ud800"}]}]'
    problems = _refused(data, RegistryFormat.JSON, source="s.json")
    assert problems == [
        "s.json record 1 (name 'A'): notes: holds a NUL character; remove it",
        "s.json record 2 (name 'B'): contacts[0].name: holds a lone UTF-16 surrogate, which is "
        "not text",
    ]


# --- CSV -------------------------------------------------------------------------------------


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def _row(**cells: str) -> str:
    values = {"name": "Helse Test HF", "sector": "hospital_trust", **cells}
    return ",".join(values.get(column, "") for column in COLUMNS)


def test_csv_labels_name_the_line_and_count_multi_line_cells() -> None:
    data = _csv(_row(notes='"one\ntwo"'), _row(name="B"))
    labels = [label for label, _ in read_records(data, RegistryFormat.CSV, source="r.csv")]
    assert labels == ["r.csv line 2", "r.csv line 4"]


def test_csv_columns_may_come_in_any_order_and_blank_rows_are_skipped() -> None:
    header = ",".join(reversed(COLUMNS)).upper()
    row = ",".join(reversed(_row(name="Reversed").split(",")))
    data = _csv(row, ",,,", "", header=header)
    ((_, mapping),) = read_records(data, RegistryFormat.CSV, source="r.csv")
    assert mapping["name"] == "Reversed"


def test_csv_header_with_unknown_and_missing_columns_says_which() -> None:
    header = HEADER.replace("org_number", "orgnr").replace(",contacts", "")
    (problem,) = _refused(_csv(header=header), RegistryFormat.CSV, source="h.csv")
    assert problem.startswith("h.csv line 1: header: unknown column(s) 'orgnr'; ")
    assert "missing column(s) org_number, contacts" in problem
    assert f"the columns are: {', '.join(COLUMNS)}" in problem


def test_csv_without_a_header_says_the_first_line_must_name_the_columns() -> None:
    (problem,) = _refused(_csv(header=_row()), RegistryFormat.CSV, source="h.csv")
    assert "h.csv line 1: header: the first line must name the columns" in problem


def test_csv_header_naming_a_column_twice_is_refused() -> None:
    (problem,) = _refused(_csv(header=HEADER + ",name"), RegistryFormat.CSV)
    assert "column(s) named twice: name" in problem


def test_csv_row_with_the_wrong_number_of_cells_names_its_line() -> None:
    problems = _refused(
        _csv(_row(), _row() + ",extra", ",".join(["x"] * (len(COLUMNS) - 1))),
        RegistryFormat.CSV,
        "c",
    )
    assert problems == [
        f"c line 3: has {len(COLUMNS) + 1} cells, but the header names {len(COLUMNS)} columns; "
        "a cell holding a comma, quote or line break must be in double quotes",
        f"c line 4: has {len(COLUMNS) - 1} cells, but the header names {len(COLUMNS)} columns; "
        "a cell holding a comma, quote or line break must be in double quotes",
    ]


def test_csv_contact_without_an_address_in_angle_brackets_names_the_entry() -> None:
    row = _row(contacts="Kari <kari@example.no> [security] | Ola ola@example.no")
    (problem,) = _refused(_csv(row), RegistryFormat.CSV, source="c.csv")
    assert problem.startswith("c.csv line 2: contacts[1]: 'Ola ola@example.no' needs the e-mail")


def test_csv_contact_with_stray_words_is_refused() -> None:
    row = _row(contacts="Kari <kari@example.no> [security] nb extra")
    (problem,) = _refused(_csv(row), RegistryFormat.CSV)
    assert "only a language (nb or en) fits" in problem


def test_csv_cells_read_as_the_documented_form() -> None:
    row = _row(
        services="monitoring; advisories",
        networks='"10.0.0.0/8 (internal) Sector net; 192.0.2.0/24"',
        asns="AS64500 (INTERNAL); 64501",
        contacts='"Kari N <kari@example.no> [security, on_call] en tel:+47 900 00 000 | '
        'Ola <ola@example.no>"',
    )
    ((label, mapping),) = read_records(_csv(row), RegistryFormat.CSV, source="c.csv")
    spec = parse_organisation(mapping, label)
    assert spec is not None
    assert [(n.cidr, n.exposure.value, n.description) for n in spec.networks] == [
        ("10.0.0.0/8", "internal", "Sector net"),
        ("192.0.2.0/24", "internet", ""),
    ]
    assert [(a.asn, a.exposure.value) for a in spec.asns] == [
        (64500, "internal"),
        (64501, "internet"),
    ]
    kari, ola = spec.contacts
    assert (kari.name, kari.email, kari.phone, kari.language.value) == (
        "Kari N",
        "kari@example.no",
        "+47 900 00 000",
        "en",
    )
    assert [r.value for r in kari.roles] == ["security", "on_call"]
    assert (ola.language.value, ola.roles) == ("nb", ())
    assert "pgp_key" not in mapping["contacts"][0]


def test_csv_unknown_role_reaches_validation_with_record_and_field() -> None:
    row = _row(contacts='"Kari <kari@example.no> [security,ceo]"')
    ((label, mapping),) = read_records(_csv(row), RegistryFormat.CSV, source="c.csv")
    problems: list[Any] = []
    parse_organisation(mapping, label, problems=problems)
    assert [str(p) for p in problems] == [
        "c.csv line 2: contacts[0]: roles: 'ceo' is not one of: security, technical, abuse, "
        "management, on_call"
    ]


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+47", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "''+x", "'plain", "plain", "", "a=b"],
)
def test_formula_guard_round_trips_exactly(cell: str) -> None:
    guarded = guard_formula(cell)
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unguard_formula(guarded) == cell


def test_exported_csv_cells_never_start_a_formula() -> None:
    import csv
    import io

    data = write_records([_tricky()], RegistryFormat.CSV).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data, newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'=HYPERLINK" in data
    assert "'-HT" in data
