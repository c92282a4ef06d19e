"""The registry as CSV: one row per organisation, made to be edited in a spreadsheet.

List cells hold their entries separated by ``;`` (contacts by ``|``); an entry that is not
Internet-facing carries ``(internal)`` after its value, and a description may follow:
``10.0.0.0/8 (internal) Sector network; 192.0.2.0/24``. A contact is written
``Name <email> [role,role] language tel:phone``. A backslash makes the next character plain
text, so a description may hold a ``;`` (written ``\\;``). docs/registry-format.md is the
reference.

Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) are written with a leading apostrophe, and reading removes exactly that apostrophe, so a
file goes out and comes back unchanged. OpenPGP keys do not fit in a cell and are not written;
a contact read from CSV has no `pgp_key` field, which import takes as "keep the stored key".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.core.spreadsheet import guard_formula, unguard_formula
from vardeild.members.model import ContactSpec, Exposure, OrganisationSpec

COLUMNS = (
    "name",
    "short_name",
    "org_number",
    "sector",
    "criticality",
    "state",
    "applied_on",
    "joined_on",
    "suspended_on",
    "left_on",
    "services",
    "parent",
    "notes",
    "networks",
    "asns",
    "domains",
    "contacts",
)
_DATES = ("applied_on", "joined_on", "suspended_on", "left_on")
_SCOPED = {"networks": "cidr", "asns": "asn", "domains": "name"}
_CONTACT_FORM = "Name <email> [role,role] language tel:phone"
_INTERNAL = f"({Exposure.INTERNAL.value})"

# A parsed cell is a list of (character, escaped) pairs: an escaped character is always text,
# never a separator or a delimiter.
_Atoms = list[tuple[str, bool]]


def _escape(text: str, specials: str) -> str:
    return "".join("\\" + ch if ch == "\\" or ch in specials else ch for ch in text)


def _atoms(text: str) -> _Atoms:
    atoms: _Atoms = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            # A lone backslash at the very end stands for itself.
            atoms.append((next(chars, "\\"), True))
        else:
            atoms.append((ch, False))
    return atoms


def _split(atoms: _Atoms, separator: str) -> list[_Atoms]:
    parts: list[_Atoms] = [[]]
    for ch, escaped in atoms:
        if ch == separator and not escaped:
            parts.append([])
        else:
            parts[-1].append((ch, escaped))
    return [part for part in (_strip(p) for p in parts) if part]


def _strip(atoms: _Atoms) -> _Atoms:
    start, end = 0, len(atoms)
    while start < end and atoms[start][0].isspace() and not atoms[start][1]:
        start += 1
    while end > start and atoms[end - 1][0].isspace() and not atoms[end - 1][1]:
        end -= 1
    return atoms[start:end]


def _text(atoms: _Atoms) -> str:
    return "".join(ch for ch, _ in atoms)


def _find(atoms: _Atoms, wanted: str, start: int = 0) -> int:
    for i in range(start, len(atoms)):
        if atoms[i] == (wanted, False):
            return i
    return -1


def _scoped_entry(value: str, exposure: Exposure, description: str) -> str:
    parts = [value]
    if exposure is Exposure.INTERNAL:
        parts.append(_INTERNAL)
    if description:
        text = _escape(description, ";")
        # An unescaped "(" first would read as an exposure marker.
        parts.append("\\" + text if text.startswith("(") else text)
    return " ".join(parts)


def _parse_scoped(atoms: _Atoms, value_key: str) -> dict[str, Any]:
    """Read `value [(internal)] [description]` into an interchange mapping."""
    cut = next((i for i, (ch, esc) in enumerate(atoms) if ch.isspace() and not esc), len(atoms))
    entry: dict[str, Any] = {value_key: _text(atoms[:cut])}
    rest = _strip(atoms[cut:])
    for exposure in (Exposure.INTERNAL, Exposure.INTERNET):
        marker = f"({exposure.value})"
        head = rest[: len(marker)]
        if _text(head).lower() == marker and not any(escaped for _, escaped in head):
            entry["exposure"] = exposure.value
            rest = _strip(rest[len(marker) :])
            break
    entry["description"] = _text(rest)
    return entry


def contact_entry(contact: ContactSpec) -> str:
    """Return the contact as one entry of the contacts cell (its key left out)."""
    text = f"{_escape(contact.name, '<>|')} <{_escape(contact.email, '<>|')}>"
    if contact.roles:
        text += f" [{','.join(r.value for r in contact.roles)}]"
    text += f" {contact.language.value}"
    if contact.phone:
        text += f" tel:{contact.phone}"
    return text


def _parse_contact(atoms: _Atoms) -> dict[str, Any] | str:
    """Read one contact entry into an interchange mapping, or return what is wrong with it."""
    open_at = _find(atoms, "<")
    close_at = _find(atoms, ">", open_at + 1) if open_at >= 0 else -1
    if open_at < 0 or close_at < 0:
        return f"needs the e-mail address in angle brackets, as in {_CONTACT_FORM}"
    contact: dict[str, Any] = {
        "name": _text(_strip(atoms[:open_at])),
        "email": _text(_strip(atoms[open_at + 1 : close_at])),
    }
    rest = _text(atoms[close_at + 1 :])
    roles = re.search(r"\[([^\]]*)\]", rest)
    if roles:
        contact["roles"] = [r.strip() for r in roles.group(1).split(",") if r.strip()]
        rest = rest[: roles.start()] + " " + rest[roles.end() :]
    before, tel, phone = rest.partition("tel:")
    if tel:
        contact["phone"] = phone.strip()
    words = before.split()
    if len(words) > 1:
        return (
            f"has {' '.join(words)!r} after the address, where only a language (nb or en) "
            f"fits; write it as {_CONTACT_FORM}"
        )
    if words:
        contact["language"] = words[0]
    return contact


def spec_to_row(spec: OrganisationSpec) -> list[str]:
    """Return the organisation as a CSV row in COLUMNS order, formula-guarded."""
    m = spec.membership
    cells = {
        "name": spec.name,
        "short_name": spec.short_name,
        "org_number": spec.org_number or "",
        "sector": spec.sector.value,
        "criticality": spec.criticality.value,
        "state": m.state.value,
        "applied_on": m.applied_on.isoformat() if m.applied_on else "",
        "joined_on": m.joined_on.isoformat() if m.joined_on else "",
        "suspended_on": m.suspended_on.isoformat() if m.suspended_on else "",
        "left_on": m.left_on.isoformat() if m.left_on else "",
        "services": "; ".join(s.value for s in spec.services),
        "parent": spec.parent or "",
        "notes": spec.notes,
        "networks": "; ".join(
            _scoped_entry(n.cidr, n.exposure, n.description) for n in spec.networks
        ),
        "asns": "; ".join(
            _scoped_entry(f"AS{a.asn}", a.exposure, a.description) for a in spec.asns
        ),
        "domains": "; ".join(
            _scoped_entry(d.name, d.exposure, d.description) for d in spec.domains
        ),
        "contacts": " | ".join(contact_entry(c) for c in spec.contacts),
    }
    return [guard_formula(cells[column]) for column in COLUMNS]


def write_csv(specs: Sequence[OrganisationSpec]) -> bytes:
    """Return the organisations as UTF-8 CSV with a byte order mark (spreadsheets need it to
    read UTF-8), a header line and CRLF line ends."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for spec in specs:
        writer.writerow(spec_to_row(spec))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _header_problems(header: list[str], source: str) -> list[FieldProblem]:
    names = [cell.strip().lower() for cell in header]
    expected = ", ".join(COLUMNS)
    if not set(names) & set(COLUMNS):
        return [
            FieldProblem(
                f"{source} line 1",
                "header",
                f"the first line must name the columns ({expected}); it reads {','.join(header)!r}",
            )
        ]
    messages = []
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names]
    doubled = sorted({n for n in names if names.count(n) > 1 and n in COLUMNS})
    if unknown:
        messages.append(f"unknown column(s) {', '.join(repr(n) for n in unknown)}")
    if missing:
        messages.append(f"missing column(s) {', '.join(missing)}")
    if doubled:
        messages.append(f"column(s) named twice: {', '.join(doubled)}")
    if not messages:
        return []
    return [
        FieldProblem(
            f"{source} line 1", "header", f"{'; '.join(messages)}; the columns are: {expected}"
        )
    ]


def _row_to_mapping(
    cells: dict[str, str], record: str
) -> tuple[dict[str, Any], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    data: dict[str, Any] = {
        key: cells[key] for key in ("name", "short_name", "org_number", "sector", "criticality")
    }
    data["org_number"] = data["org_number"] or None
    data["membership"] = {"state": cells["state"], **{d: cells[d] or None for d in _DATES}}
    data["services"] = [s.strip() for s in re.split(r"[;,]", cells["services"]) if s.strip()]
    data["parent"] = cells["parent"] or None
    data["notes"] = cells["notes"]
    for column, value_key in _SCOPED.items():
        data[column] = [
            _parse_scoped(part, value_key) for part in _split(_atoms(cells[column]), ";")
        ]
    contacts = []
    for i, part in enumerate(_split(_atoms(cells["contacts"]), "|")):
        parsed = _parse_contact(part)
        if isinstance(parsed, str):
            problems.append(FieldProblem(record, f"contacts[{i}]", f"{_text(part)!r} {parsed}"))
        else:
            contacts.append(parsed)
    data["contacts"] = contacts
    return data, problems


def read_csv(text: str, source: str) -> list[tuple[str, Any]]:
    """Return (record label, interchange mapping) pairs of a CSV registry; ValidationFailed
    names every line whose header, cell count or cell syntax is wrong."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[str, Any]] = []
    problems: list[FieldProblem] = []
    header: list[str] | None = None
    line = 1
    try:
        for row in reader:
            label = f"{source} line {line}"
            line = reader.line_num + 1
            if header is None:
                header = row
                problems += _header_problems(row, source)
                if problems:
                    break
                continue
            if not any(cell.strip() for cell in row):
                continue  # spreadsheets leave empty rows at the end
            if len(row) != len(header):
                problems.append(
                    FieldProblem(
                        label,
                        "",
                        f"has {len(row)} cells, but the header names {len(header)} columns; "
                        "a cell holding a comma, quote or line break must be in double quotes",
                    )
                )
                continue
            cells = {
                name.strip().lower(): unguard_formula(cell)
                for name, cell in zip(header, row, strict=True)
            }
            mapping, cell_problems = _row_to_mapping(cells, label)
            problems += cell_problems
            records.append((label, mapping))
    except csv.Error as exc:
        problems.append(FieldProblem(f"{source} line {reader.line_num}", "", f"is not CSV: {exc}"))
    if problems:
        raise ValidationFailed(problems)
    return records
