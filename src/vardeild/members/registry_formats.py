"""Reading and writing the registry's interchange files: JSON, YAML and CSV.

Reading turns bytes into (record label, mapping) pairs and refuses, with the place named, what
is not a well-formed file: too large, not UTF-8, a syntax error, a top level that is not a list,
nesting deeper than any organisation needs, YAML aliases (the "billion laughs" bomb), duplicate
keys, NUL characters and lone surrogates. Whether each mapping is a valid organisation is
`members.model.parse_organisation`'s business, not this module's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import yaml

try:  # libyaml's parser and emitter, several times faster; the same safe constructors
    from yaml import CSafeDumper as _SafeDumper
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeDumper as _SafeDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

from vardeild.core.errors import FieldProblem, ValidationFailed
from vardeild.members.model import OrganisationSpec, spec_to_dict
from vardeild.members.registry_csv import read_csv, write_csv

# The same default as Settings.import_max_bytes; callers pass the configured value.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# An organisation in interchange form nests five levels (list, organisation, contacts, contact,
# roles); anything far deeper is a mistake or an attack on the parser.
MAX_DEPTH = 16
_BOM = b"\xef\xbb\xbf"


class RegistryFormat(StrEnum):
    """The file formats the registry is imported from and exported to."""

    JSON = "json"
    YAML = "yaml"
    CSV = "csv"

    @property
    def media_type(self) -> str:
        """Return the MIME type of files of this format."""
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    RegistryFormat.JSON: "application/json",
    RegistryFormat.YAML: "application/yaml",
    RegistryFormat.CSV: "text/csv; charset=utf-8",
}
_EXTENSIONS = {
    ".json": RegistryFormat.JSON,
    ".yaml": RegistryFormat.YAML,
    ".yml": RegistryFormat.YAML,
    ".csv": RegistryFormat.CSV,
}


def detect_format(filename: str) -> RegistryFormat:
    """Return the format a file name's extension names; ValueError naming the known ones."""
    lowered = filename.lower()
    for extension, fmt in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return fmt
    raise ValueError(
        f"cannot tell the format of {filename!r} from its extension; "
        f"use one of {', '.join(_EXTENSIONS)} (or name the format)"
    )


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins; refusing is the only safe reading.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class _RegistryLoader(_SafeLoader):
    """The safe loader (plain data only) that also refuses duplicate keys."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key_node.value!r} appears twice", key_node.start_mark
                    )
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _mark(event: yaml.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1} column {mark.column + 1}" if mark else "unknown place"


def _check_yaml_events(text: str) -> None:
    """Refuse aliases and deep nesting from the event stream, before any node is built.

    Aliases are how "billion laughs" bombs multiply a small file; nesting is checked here
    because libyaml's composer recurses in C, where Python's recursion limit cannot stop it.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise ValueError(
                "aliases (*name) are not accepted in a registry file; write the value out "
                f"({_mark(event)})"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            # The top-level list is one level more than a record's own nesting.
            if depth > MAX_DEPTH + 1:
                raise ValueError(f"nests deeper than {MAX_DEPTH} levels ({_mark(event)})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _load_yaml(text: str) -> Any:
    _check_yaml_events(text)
    loader = _RegistryLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def _decode(data: bytes, source: str, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise ValidationFailed.one(
            source,
            "",
            f"is {len(data):,} bytes; at most {max_bytes:,} are accepted (import_max_bytes)",
        )
    skipped = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skipped + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise ValidationFailed.one(
            source,
            "",
            f"is not UTF-8: byte {offset} (line {line}) is 0x{data[offset]:02x}; save the file "
            "as UTF-8 (in a spreadsheet: CSV UTF-8)",
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ValidationFailed.one(
            source, "", f"holds a NUL character at {_where(text, nul)}; remove it"
        )
    return text


def _parse_document(text: str, fmt: RegistryFormat, source: str) -> Any:
    name = fmt.value.upper()
    try:
        if fmt is RegistryFormat.JSON:
            return json.loads(
                text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
            )
        return _load_yaml(text)
    except RecursionError:
        message = f"nests too deeply to be read; an organisation needs at most {MAX_DEPTH} levels"
    except json.JSONDecodeError as exc:
        message = f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        message = f"is not valid YAML: {exc.problem or exc.context}{where}"
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a duplicate key, NaN, or an integer with thousands of digits.
        message = f"is not valid {name}: {exc}"
    raise ValidationFailed.one(source, "", message)


def _string_problems(value: Any, record: str) -> list[FieldProblem]:
    """Return where the record nests too deeply or holds text PostgreSQL cannot store."""
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            problems.append(FieldProblem(record, path, f"nests deeper than {MAX_DEPTH} levels"))
            continue
        if isinstance(item, str):
            if "\x00" in item:
                problems.append(FieldProblem(record, path, "holds a NUL character; remove it"))
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                problems.append(
                    FieldProblem(record, path, "holds a lone UTF-16 surrogate, which is not text")
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str):
                    stack.append((key, path, depth + 1))
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(item, list | tuple):
            for i, child in enumerate(item):
                stack.append((child, f"{path}[{i}]", depth + 1))
    return problems


def record_label(source: str, number: int, item: Any) -> str:
    """Return how problems name the number-th (from 1) record of a JSON or YAML file."""
    name = item.get("name") if isinstance(item, dict) else None
    if isinstance(name, str) and name.strip():
        return f"{source} record {number} (name {name.strip()!r})"
    return f"{source} record {number}"


def read_records(
    data: bytes, fmt: RegistryFormat, *, source: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[tuple[str, Any]]:
    """Return the file's records as (label, mapping) pairs, labels naming where each is.

    Raises ValidationFailed naming the place of every problem with the file itself (size,
    encoding, syntax, shape); the organisations in it are validated later.
    """
    text = _decode(data, source, max_bytes)
    if not text.strip():
        raise ValidationFailed.one(source, "", "is empty; expected a list of organisations")
    if fmt is RegistryFormat.CSV:
        return read_csv(text, source)
    document = _parse_document(text, fmt, source)
    if not isinstance(document, list):
        kind = "nothing" if document is None else f"a {type(document).__name__}"
        raise ValidationFailed.one(
            source, "", f"must hold a list of organisations at the top level, not {kind}"
        )
    records: list[tuple[str, Any]] = []
    problems: list[FieldProblem] = []
    for number, item in enumerate(document, start=1):
        label = record_label(source, number, item)
        problems += _string_problems(item, label)
        records.append((label, item))
    if problems:
        raise ValidationFailed(problems)
    return records


class _RegistryDumper(_SafeDumper):
    """The safe dumper writing multi-line text (keys, notes) as literal blocks people can read."""


def _represent_text(dumper: _SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RegistryDumper.add_representer(str, _represent_text)


def write_records(specs: Sequence[OrganisationSpec], fmt: RegistryFormat) -> bytes:
    """Return the organisations as a file of the format, in the order given."""
    if fmt is RegistryFormat.CSV:
        return write_csv(specs)
    document = [spec_to_dict(spec) for spec in specs]
    if fmt is RegistryFormat.JSON:
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    text = yaml.dump(
        document,
        Dumper=_RegistryDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
    )
    return text.encode("utf-8")
