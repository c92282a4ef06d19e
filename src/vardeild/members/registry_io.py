"""Bulk import and export of the whole member registry (JSON, YAML, CSV).

Import is an idempotent upsert. Each record is matched to an existing organisation by org
number, else by exact name; a matched organisation is replaced by the record, so its lists become
exactly the file's lists (the file is the truth for the organisations it names), and
organisations the file does not name are left alone. One exception keeps CSV usable: a contact
given without a `pgp_key` field keeps the key stored for that e-mail address.

Every record is checked before anything is written, and the problems of all of them are reported
together; with any problem nothing is applied. Changes go through
`members.service.save_organisation`, so each is audited, inside one savepoint, so a failure
half-way leaves nothing behind. docs/registry-format.md describes the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from vardeild.access.model import Action, Principal, authorize
from vardeild.core.clock import Clock
from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.members.model import KeyInfo, OrganisationSpec, parse_organisation
from vardeild.members.registry_formats import (
    DEFAULT_MAX_BYTES,
    RegistryFormat,
    detect_format,
    read_records,
    write_records,
)
from vardeild.members.registry_plan import FieldChange, ImportPlan, OrganisationDiff, diff_specs
from vardeild.members.service import KeyInspector, inspect_keys, save_organisation
from vardeild.members.snapshots import row_to_spec
from vardeild.members.tables import OrganisationRow

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FieldChange",
    "ImportPlan",
    "OrganisationDiff",
    "RegistryFormat",
    "apply_import",
    "detect_format",
    "export_registry",
    "plan_import",
    "read_records",
]

ACTION_CREATE = "organisation.import.create"
ACTION_UPDATE = "organisation.import.update"


@dataclass
class _Step:
    """One valid record and what it would do."""

    label: str
    data: Any
    spec: OrganisationSpec
    row: OrganisationRow | None = None  # the organisation it replaces, None to create one
    parent: int | OrganisationRow | None = None  # a record's index, or an organisation
    changes: tuple[FieldChange, ...] = ()


@dataclass
class _Prepared:
    plan: ImportPlan
    ordered: list[_Step]  # the steps that change something, parents before children
    inspector: KeyInspector


def _all_rows(session: Session) -> list[OrganisationRow]:
    return list(
        session.scalars(
            select(OrganisationRow)
            .order_by(OrganisationRow.name, OrganisationRow.id)
            .options(
                selectinload(OrganisationRow.networks),
                selectinload(OrganisationRow.asns),
                selectinload(OrganisationRow.domains),
                selectinload(OrganisationRow.contacts),
                selectinload(OrganisationRow.parent),
            )
        )
    )


def _trusting_inspector(
    rows: Sequence[OrganisationRow], inspector: KeyInspector | None
) -> KeyInspector:
    """Return an inspector that knows the stored keys and remembers what it was told.

    A key already stored was checked when it came in; checking it again would make an import
    that changes nothing fail once the key expires, so the stored fingerprint and expiry stand.
    """
    known = {
        contact.pgp_key: KeyInfo(contact.pgp_fingerprint, contact.pgp_expires_at, ())
        for row in rows
        for contact in row.contacts
        if contact.pgp_key and contact.pgp_fingerprint
    }

    def inspect(armoured: str) -> KeyInfo:
        if armoured not in known:
            if inspector is None:
                raise ValueError("cannot be checked here: no OpenPGP key inspector is set up")
            known[armoured] = inspector(armoured)
        return known[armoured]

    return inspect


def _keep_stored_keys(step: _Step) -> None:
    """Give a contact written without a pgp_key field the key stored for its address."""
    if step.row is None:
        return
    stored = {c.email: c.pgp_key for c in step.row.contacts if c.pgp_key}
    raw = step.data.get("contacts") or []
    contacts = [
        replace(contact, pgp_key=stored[contact.email])
        if isinstance(item, Mapping) and "pgp_key" not in item and contact.email in stored
        else contact
        for item, contact in zip(raw, step.spec.contacts, strict=True)
    ]
    step.spec = replace(step.spec, contacts=tuple(contacts))


def _duplicates_in_file(steps: Sequence[_Step]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    numbers: dict[str, str] = {}
    names: dict[str, str] = {}
    for step in steps:
        number, name = step.spec.org_number, step.spec.name
        if number and number in numbers:
            problems.append(
                FieldProblem(
                    step.label, "org_number", f"{number} is also given in {numbers[number]}"
                )
            )
        elif number:
            numbers[number] = step.label
        if name in names:
            problems.append(
                FieldProblem(step.label, "name", f"{name!r} is also given in {names[name]}")
            )
        else:
            names[name] = step.label
    return problems


def _match(steps: Sequence[_Step], rows: Sequence[OrganisationRow]) -> list[FieldProblem]:
    """Set each step's row: the organisation with its org number, else with its name."""
    problems: list[FieldProblem] = []
    by_number = {row.org_number: row for row in rows if row.org_number}
    by_name = {row.name: row for row in rows}
    matched: dict[int, str] = {}
    refused: set[str] = set()
    for step in steps:
        spec = step.spec
        row = by_number.get(spec.org_number) if spec.org_number else None
        if row is None and spec.name in by_name:
            named = by_name[spec.name]
            if named.org_number and spec.org_number:
                problems.append(
                    FieldProblem(
                        step.label,
                        "org_number",
                        f"{spec.name!r} is registered with org number {named.org_number} "
                        f"(id {named.id}), not {spec.org_number}; correct the number, or the "
                        "name if this is another organisation",
                    )
                )
                refused.add(step.label)
                continue
            row = named
        if row is None:
            continue
        if row.id in matched:
            problems.append(
                FieldProblem(
                    step.label,
                    "",
                    f"is organisation {row.id} ({row.name!r}), as {matched[row.id]} is; "
                    "an organisation may appear once in a file",
                )
            )
            continue
        matched[row.id] = step.label
        step.row = row
    # A name held by an organisation the file leaves alone cannot be taken.
    for step in steps:
        holder = by_name.get(step.spec.name)
        if (
            holder is not None
            and holder is not step.row
            and holder.id not in matched
            and step.label not in refused
        ):
            problems.append(
                FieldProblem(
                    step.label,
                    "name",
                    f"an organisation named {step.spec.name!r} exists already (id {holder.id}, "
                    f"org number {holder.org_number or 'none'})",
                )
            )
    return problems


def _resolve_parents(
    steps: list[_Step], rows: Sequence[OrganisationRow], invalid_refs: set[str]
) -> list[FieldProblem]:
    """Point each step's parent at a record of the file or an organisation, and refuse
    unknown parents and cycles."""
    problems: list[FieldProblem] = []
    in_file: dict[str, int] = {}
    for i, step in enumerate(steps):
        in_file.setdefault(step.spec.name, i)
        if step.spec.org_number:
            in_file[step.spec.org_number] = i
    by_ref: dict[str, OrganisationRow] = {row.name: row for row in rows}
    by_ref.update({row.org_number: row for row in rows if row.org_number})
    record_of = {step.row.id: i for i, step in enumerate(steps) if step.row is not None}
    for step in steps:
        ref = step.spec.parent
        if ref is None:
            continue
        if ref in in_file:
            step.parent = in_file[ref]
        elif ref in by_ref:
            found = by_ref[ref]
            step.parent = record_of.get(found.id, found)
        elif ref not in invalid_refs:  # a parent with problems of its own is reported there
            problems.append(
                FieldProblem(
                    step.label,
                    "parent",
                    f"no organisation in the file or the registry has org number or name {ref!r}",
                )
            )
    by_id = {row.id: row for row in rows}

    def parent_of(node: int | OrganisationRow) -> int | OrganisationRow | None:
        if isinstance(node, int):
            return steps[node].parent
        if node.parent_id is None:
            return None
        return record_of.get(node.parent_id, by_id.get(node.parent_id))

    for i, step in enumerate(steps):
        path: list[int | OrganisationRow] = [i]
        node = parent_of(i)
        while node is not None and node not in path:
            path.append(node)
            node = parent_of(node)
        if node == i:
            names = [steps[n].label if isinstance(n, int) else repr(n.name) for n in [*path, i]]
            problems.append(
                FieldProblem(step.label, "parent", f"makes a cycle: {' -> '.join(names)}")
            )
    # A parent in the file may be renamed by it: save names it as it will then be.
    for step in steps:
        if isinstance(step.parent, int):
            step.spec = replace(step.spec, parent=steps[step.parent].spec.key)
    return problems


def _parent_id(steps: Sequence[_Step], step: _Step) -> int | None:
    if isinstance(step.parent, int):
        row = steps[step.parent].row
        return row.id if row is not None else None
    return step.parent.id if step.parent is not None else None


def _parents_first(steps: Sequence[_Step]) -> list[_Step]:
    done: set[int] = set()
    ordered: list[_Step] = []

    def visit(i: int) -> None:
        if i in done:
            return
        done.add(i)
        parent = steps[i].parent
        if isinstance(parent, int):
            visit(parent)
        if steps[i].row is None or steps[i].changes:
            ordered.append(steps[i])

    for i in range(len(steps)):
        visit(i)
    return ordered


def _invalid_refs(records: Sequence[tuple[str, Any]], valid: set[str]) -> set[str]:
    refs: set[str] = set()
    for label, data in records:
        if label in valid or not isinstance(data, Mapping):
            continue
        name, number = data.get("name"), data.get("org_number")
        if isinstance(name, str):
            refs.add(name.strip())
        if isinstance(number, str | int):
            refs.add(str(number).replace(" ", "").strip())
    return refs


def _in_file_order(
    problems: list[FieldProblem], records: Sequence[tuple[str, Any]]
) -> list[FieldProblem]:
    """Return the problems grouped by record, in the file's order (a contact's problems carry
    the label 'RECORD: contacts[i]')."""
    order = {label: i for i, (label, _) in enumerate(records)}

    def position(problem: FieldProblem) -> int:
        record = problem.record.rsplit(": contacts[", 1)[0]
        return order.get(problem.record, order.get(record, len(order)))

    return sorted(problems, key=position)


def _prepare(
    session: Session,
    principal: Principal,
    records: Sequence[tuple[str, Any]],
    key_inspector: KeyInspector | None,
    source: str,
) -> _Prepared:
    authorize(principal, Action.IMPORT)
    problems: list[FieldProblem] = []
    steps: list[_Step] = []
    for label, data in records:
        spec = parse_organisation(data, label, problems=problems)
        if spec is not None:
            steps.append(_Step(label=label, data=data, spec=spec))
    rows = _all_rows(session)
    problems += _duplicates_in_file(steps)
    problems += _match(steps, rows)
    for step in steps:
        _keep_stored_keys(step)
    problems += _resolve_parents(steps, rows, _invalid_refs(records, {s.label for s in steps}))
    inspector = _trusting_inspector(rows, key_inspector)
    for step in steps:
        problems += inspect_keys(step.spec, step.label, inspector)[1]
    if problems:
        raise ValidationFailed(_in_file_order(problems, records))

    created: list[str] = []
    updated: list[OrganisationDiff] = []
    unchanged = 0
    for step in steps:
        if step.row is None:
            created.append(step.spec.name)
            continue
        same_parent = _parent_id(steps, step) == step.row.parent_id
        step.changes = diff_specs(row_to_spec(step.row), step.spec, same_parent=same_parent)
        if step.changes:
            updated.append(OrganisationDiff(step.row.id, step.row.name, step.label, step.changes))
        else:
            unchanged += 1
    plan = ImportPlan(
        source=source, created=tuple(created), updated=tuple(updated), unchanged=unchanged
    )
    return _Prepared(plan=plan, ordered=_parents_first(steps), inspector=inspector)


def plan_import(
    session: Session,
    principal: Principal,
    records: Sequence[tuple[str, Any]],
    *,
    key_inspector: KeyInspector | None,
    source: str = "import",
) -> ImportPlan:
    """Return what importing the records (from `read_records`) would change, writing nothing.

    Raises ValidationFailed carrying the problems of every record, PermissionDenied unless the
    principal may import.
    """
    return _prepare(session, principal, records, key_inspector, source).plan


def apply_import(
    session: Session,
    principal: Principal,
    data: bytes,
    fmt: RegistryFormat,
    *,
    source: str,
    clock: Clock,
    key_inspector: KeyInspector | None,
    dry_run: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImportPlan:
    """Import a registry file and return the plan; with dry_run nothing is written at all.

    Raises ValidationFailed naming the record and field of every problem, in which case nothing
    is applied; PermissionDenied unless the principal may import.
    """
    authorize(principal, Action.IMPORT)
    records = read_records(data, fmt, source=source, max_bytes=max_bytes)
    prepared = _prepare(session, principal, records, key_inspector, source)
    if dry_run:
        return prepared.plan
    with session.begin_nested():
        for step in prepared.ordered:
            save_organisation(
                session,
                principal,
                step.spec,
                clock=clock,
                key_inspector=prepared.inspector,
                org_id=step.row.id if step.row is not None else None,
                record=step.label,
                action=ACTION_UPDATE if step.row is not None else ACTION_CREATE,
                note=f"imported from {source}",
            )
    return replace(prepared.plan, applied=True)


def export_registry(session: Session, principal: Principal, fmt: RegistryFormat) -> bytes:
    """Return every organisation, ordered by name, as a file of the format; PermissionDenied
    unless the principal may export."""
    authorize(principal, Action.EXPORT)
    return write_records([row_to_spec(row) for row in _all_rows(session)], fmt)
