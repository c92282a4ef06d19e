"""The Shadowserver parser's fast path: a batch of plain rows turned into events by a function
compiled once per column plan, with the plan's cell indexes, fields and converters written
into its code.

    rows = compile_rows(plan, keep)              # once per header
    events = rows(cells, lines, template, times) # list of Event, or None: the general path

It only takes rows that the general path (`ShadowserverParser.iter_file`) would turn into
events without any of its special cases, and gives exactly the same events for them: every
line one row, given split into its cells as the rows are made (a reader that gives fewer
rows than lines makes the strict zip raise ValueError; the caller has checked that there is
no carriage return, NUL or over-long line, and that the text is UTF-8), every cell either
empty or one its field's inline test accepts or its converter converts. At the first row it
cannot take (a wrong cell count, a cell that does not convert, an empty timestamp) it returns
None and the caller parses the whole batch the general way, which names the row and the
reason. Timestamps are parsed once per distinct text
(`times`, a cache the caller keeps and clears).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from socket import AF_INET, inet_pton
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

if TYPE_CHECKING:
    from vardeild.monitoring.model import Event
    from vardeild.monitoring.parsers.shadowserver import _Plan

RowsFunction = Callable[
    [Iterator[list[str]], list[str], "Event", dict[str, datetime]], "list[Event] | None"
]

# Inline fast paths of the plan's steps (shadowserver._FAST_PATHS): 1 time, 2 IP, 3 port,
# 4 AS number, 5 host name; 0 calls the converter. A test the inline code does not pass falls
# to the converter, as in the general path; a converter's ValueError gives up the batch.
_CELL = {
    1: """\
        if {v}:
            t = times.get({v})
            if t is None:
                try:
                    t = times[{v}] = fromiso({v} + "+00:00") if len({v}) == 19 else None
                except ValueError:
                    t = None
                if t is None:
                    try:
                        t = times[{v}] = convert_{n}({v}, row)
                    except ValueError:
                        return None
            {o} = t
""",
    2: """\
        if {v}:
            try:
                pton(inet, {v})
                {o} = {v}
            except (OSError, ValueError):
                try:
                    r = convert_{n}({v}, row)
                except ValueError:
                    return None
                if r is keep:
                    kept[{column}] = {v}
                elif r is not None:
                    {o} = r
""",
    3: """\
        if {v}:
            if {v}.isdecimal() and int({v}) <= 65535:
                {o} = int({v})
            else:
                try:
                    r = convert_{n}({v}, row)
                except ValueError:
                    return None
                if r is keep:
                    kept[{column}] = {v}
                elif r is not None:
                    {o} = r
""",
    4: """\
        if {v}:
            if {v}.isdecimal() and int({v}) < 1 << 32:
                if int({v}):  # 0 is Shadowserver's "unknown"
                    {o} = int({v})
            else:
                try:
                    r = convert_{n}({v}, row)
                except ValueError:
                    return None
                if r is keep:
                    kept[{column}] = {v}
                elif r is not None:
                    {o} = r
""",
    5: """\
        if {v}:
            if {v}[-1].isalpha() and {v}[0].isalnum():
                {o} = {v}.lower()
            else:
                try:
                    r = convert_{n}({v}, row)
                except ValueError:
                    return None
                if r is keep:
                    kept[{column}] = {v}
                elif r is not None:
                    {o} = r
""",
    0: """\
        if {v}:
            try:
                r = convert_{n}({v}, row)
            except ValueError:
                return None
            if r is keep:
                kept[{column}] = {v}
            elif r is not None:
                {o} = r
""",
}


def compile_rows(plan: _Plan, keep: object) -> RowsFunction | None:
    """Return the plan's compiled rows function, or None when the plan is one the fast path
    does not take (an unknown report, which is lenient). `keep`
    is the converters' answer for a cell kept in extra only."""
    fields = [field for _, _, field, _, _ in plan.steps]
    if plan.lenient or "time_source" not in fields:
        return None
    if not all(field.isidentifier() for field in fields):
        return None
    namespace: dict[str, Any] = {
        "fromiso": datetime.fromisoformat,
        "pton": inet_pton,
        "inet": AF_INET,
        "keep": keep,
        "make": replace,
    }
    body: list[str] = []
    outputs: dict[str, str] = {}  # field -> its variable; a later column's value wins
    for n, (index, column, field, fast, convert) in enumerate(plan.steps):
        namespace[f"convert_{n}"] = convert
        cell = f"v{n}"
        out = outputs.get(field)
        if out is None:
            out = outputs[field] = f"o{n}"
            namespace[f"default_{n}"] = getattr(plan.template, field)
            body.append(f"        {out} = default_{n}\n")
        body.append(f"        {cell} = row[{index}]\n")
        body.append(_CELL[fast].format(v=cell, o=out, n=n, column=repr(column)))
    body.append(f"        if {outputs['time_source']} is None:\n            return None\n")
    keywords = ", ".join(f"{field}={out}" for field, out in outputs.items())
    extra = "".join(
        f"        if row[{i}]:\n            extra[{column!r}] = row[{i}]\n"
        for column, i in plan.extra
    )
    source = f"""\
def rows(cells, lines, template, times):
    events = []
    append = events.append
    for row, line in zip(cells, lines, strict=True):
        if len(row) != {plan.width}:
            return None
        kept = {{}}
{"".join(body)}        extra = {{}}
{extra}        if kept:
            extra.update(kept)
        append(make(template, {keywords}, extra=extra, matched_indicators=[], raw=line))
    return events
"""
    # The source holds only the plan's integers, identifiers and repr()'d column names (checked
    # header names); values reach it through the namespace, never as text.
    code = compile(source, f"<shadowserver rows: {plan.template.feed_code}>", "exec")
    exec(code, namespace)  # noqa: S102
    function: RowsFunction = namespace["rows"]
    return function
