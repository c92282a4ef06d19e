"""`vardeild cases`: incident cases from the command line — list, show, open, move through
the workflow, assign, write in the journal, add tasks and links, involve organisations, send
coordinated updates, merge, split and the statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from vardeild.accounts import service as accounts
from vardeild.app import notify_config, run_deadline_digest
from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.core.tlp import Tlp
from vardeild.incidents import coordination, journal, links, service, stats, tasks, workflow
from vardeild.incidents.config import deadline_policy
from vardeild.incidents.model import (
    CaseStatus,
    EntrySource,
    InvolvedRole,
    LinkKind,
    Pap,
    Visibility,
    parse_reference,
)
from vardeild.monitoring.model import Severity

app = typer.Typer(
    name="cases",
    help="Incident cases: list, show, create, move, note, coordinate, merge, split, stats.",
    no_args_is_help=True,
)

CaseArgument = Annotated[str, typer.Argument(help="The case: its id or VARDEILD#<id>.")]


def _case_id(text: str) -> int:
    value = text.strip()
    if value.isdigit() and 0 < int(value) <= 2_147_483_647:
        return int(value)
    found = parse_reference(value)
    if found is None:
        raise typer.BadParameter(f"{text!r} is no case id or VARDEILD#<id>")
    return found


def _tlp(text: str | None) -> Tlp | None:
    if text is None:
        return None
    try:
        return Tlp.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _severity(text: str) -> Severity:
    try:
        return Severity[text.strip().upper()]
    except KeyError:
        raise typer.BadParameter(f"{text!r}: one of info, low, medium, high, critical") from None


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is no ISO 8601 time") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} needs a time zone (e.g. 2026-12-01T12:00+01:00)")
    return moment


def _print_case(case: dict[str, Any]) -> None:
    say(f"{case['reference']} [{case['status']}] {case['title']}")


@app.command("list")
def cases_list(
    ctx: typer.Context,
    status: Annotated[
        CaseStatus | None, typer.Option("--status", help="Only cases in this status.")
    ] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open cases.")] = False,
    member: Annotated[
        str | None, typer.Option("--member", help="Only cases this organisation is in.")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only cases with an overdue deadline.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List cases, newest first, with their overdue deadlines."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        organisation_id = resolve_organisation(session, member) if member else None
        query = service.CaseQuery(
            status=status, open_only=open_only, organisation_id=organisation_id
        )
        items, _ = service.list_cases(session, cli.principal, query=query, limit=limit)
        late = service.overdue_case_ids(
            session, cli.principal, policy=deadline_policy(platform.settings),
            now=platform.clock.now(),
        )  # fmt: skip
    for item in items:
        item["overdue"] = late.get(item["id"], [])
    if overdue:
        items = [i for i in items if i["overdue"]]
    if as_json:
        print_json(items)
        return
    print_table(
        "cases",
        ["reference", "status", "severity", "classification", "opened", "overdue", "title"],
        [
            [i["reference"], i["status"], i["severity"], i["classification"]["type"],
             when(i["created_at"]), ", ".join(i["overdue"]), i["title"]]
            for i in items
        ],
    )  # fmt: skip


@app.command("show")
def cases_show(ctx: typer.Context, case: CaseArgument, as_json: JsonOption = False) -> None:
    """Show a case with its deadlines, journal, tasks, links and involved organisations."""
    cli = cli_context(ctx)
    platform = cli.platform()
    case_id = _case_id(case)
    with platform.session() as session:
        data = service.get_case_or_raise(session, cli.principal, case_id)
        data["deadlines"] = service.case_deadlines(
            session, cli.principal, case_id, policy=deadline_policy(platform.settings),
            now=platform.clock.now(),
        )  # fmt: skip
        data["journal"] = journal.list_journal(session, cli.principal, case_id)
        data["tasks"] = tasks.list_tasks(session, cli.principal, case_id, now=platform.clock.now())
        data["links"] = links.list_links(session, cli.principal, case_id)
        data["observables"] = links.list_observables(session, cli.principal, case_id)
        data["organisations"] = coordination.list_involved(session, cli.principal, case_id)
    if as_json:
        print_json(data)
        return
    _print_case(data)
    say(
        f"{data['classification']['taxonomy']}/{data['classification']['type']}, "
        f"severity {data['severity']}, impact {data['impact']}, TLP:{data['tlp']}, "
        f"PAP:{data['pap']}" + (", significant" if data["significant"] else "")
    )
    print_table(
        "deadlines", ["kind", "due", "met", "overdue"],
        [[d["kind"], when(d["due_at"]), when(d["met_at"]), "yes" if d["overdue"] else ""]
         for d in data["deadlines"]],
    )  # fmt: skip
    print_table(
        "organisations", ["id", "name", "role", "status", "updates acknowledged"],
        [[o["organisation_id"], o["organisation_name"], o["role"], o["status"],
          f"{sum(1 for u in o['updates'] if u['acknowledged_at'])}/{len(o['updates'])}"]
         for o in data["organisations"]],
    )  # fmt: skip
    print_table(
        "journal", ["at", "author", "visibility", "tlp", "text"],
        [[when(e["at"]), e["author"], e["visibility"], e["tlp"], e["text"]]
         for e in data["journal"]],
    )  # fmt: skip
    print_table(
        "tasks", ["id", "title", "owner", "due", "done"],
        [[t["id"], t["title"], t["owner"], when(t["due_at"]), when(t["done_at"])]
         for t in data["tasks"]],
    )  # fmt: skip


@app.command("create")
def cases_create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="One line: what happened.")],
    description: Annotated[str, typer.Option("--description", help="What is known.")] = "",
    classification: Annotated[
        str, typer.Option("--classification", help="An RSIT type, e.g. phishing, ddos.")
    ] = "undetermined",
    severity: Annotated[
        str, typer.Option("--severity", help="info, low, medium, high or critical.")
    ] = "medium",
    tlp: Annotated[str, typer.Option("--tlp", help="TLP 2.0 label of the case.")] = "AMBER",
    pap: Annotated[
        str, typer.Option("--pap", help="PAP label: CLEAR, GREEN, AMBER, RED.")
    ] = "AMBER",
    reporter: Annotated[str, typer.Option("--reporter", help="Who reported it.")] = "",
    affected: Annotated[
        list[str] | None,
        typer.Option("--affected", help="An affected member (id, org number, name); repeatable."),
    ] = None,
    significant: Annotated[
        bool, typer.Option("--significant", help="A significant incident: regulatory clocks run.")
    ] = False,
    alert: Annotated[
        int | None, typer.Option("--alert", min=1, help="Escalate this alert into the case.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a case (or, with --alert, escalate an alert into one)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    try:
        pap_label = Pap.parse(pap)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with platform.session() as session:
        if alert is not None:
            made = service.escalate_alert(
                session, cli.principal, alert, clock=platform.clock, title=title,
                severity=_severity(severity), tlp=_tlp(tlp) or Tlp.AMBER, note=description,
            )  # fmt: skip
        else:
            involve = [
                (resolve_organisation(session, name), InvolvedRole.AFFECTED)
                for name in affected or []
            ]
            made = service.create_case(
                session, cli.principal, clock=platform.clock, title=title,
                description=description, classification_type=classification,
                severity=_severity(severity), tlp=_tlp(tlp) or Tlp.AMBER, pap=pap_label,
                reporter=reporter, source=EntrySource.SYSTEM, significant=significant,
                involve=involve,
            )  # fmt: skip
    if as_json:
        print_json(made)
    else:
        _print_case(made)


@app.command("status")
def cases_status(
    ctx: typer.Context,
    case: CaseArgument,
    status: Annotated[CaseStatus, typer.Argument(help="The status to move the case to.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept in the journal).")] = "",
) -> None:
    """Move a case in its workflow (new, triage, in_progress, resolved, closed, rejected)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = workflow.set_case_status(
            session, cli.principal, _case_id(case), status, clock=platform.clock, note=note
        )
    _print_case(made)


@app.command("assign")
def cases_assign(
    ctx: typer.Context,
    case: CaseArgument,
    user: Annotated[
        str, typer.Argument(help="The CERT user (id or e-mail address); 'nobody' to clear.")
    ],
) -> None:
    """Give a case to a CERT admin or analyst."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        user_id = None if user == "nobody" else accounts.find_user_id(session, cli.principal, user)
        made = service.assign_case(
            session, cli.principal, _case_id(case), user_id, clock=platform.clock
        )
    say(f"{made['reference']} assigned to {user}")


@app.command("note")
def cases_note(
    ctx: typer.Context,
    case: CaseArgument,
    text: Annotated[str, typer.Argument(help="The journal entry.")],
    shared: Annotated[
        bool, typer.Option("--shared", help="Shared with the involved members (else internal).")
    ] = False,
    tlp: Annotated[
        str | None, typer.Option("--tlp", help="TLP 2.0 label (default: the case's).")
    ] = None,
) -> None:
    """Write in a case's journal (internal to the CERT unless --shared)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        entry = journal.add_journal_entry(
            session, cli.principal, _case_id(case), clock=platform.clock, text=text,
            visibility=Visibility.SHARED if shared else Visibility.INTERNAL,
            source=EntrySource.SYSTEM, tlp=_tlp(tlp),
        )  # fmt: skip
    say(f"entry {entry['id']} ({entry['visibility']}, TLP:{entry['tlp']})")


@app.command("task")
def cases_task(
    ctx: typer.Context,
    case: CaseArgument,
    title: Annotated[str | None, typer.Argument(help="A new task (omit with --done).")] = None,
    owner: Annotated[str, typer.Option("--owner", help="Who does it.")] = "",
    due: Annotated[
        str | None, typer.Option("--due", help="By when, ISO 8601 with a time zone.")
    ] = None,
    done: Annotated[
        int | None, typer.Option("--done", min=1, help="Mark this task id done instead.")
    ] = None,
    undone: Annotated[
        int | None, typer.Option("--undone", min=1, help="Mark this task id not done.")
    ] = None,
) -> None:
    """Add a task to a case, or mark one done or not done."""
    cli = cli_context(ctx)
    platform = cli.platform()
    case_id = _case_id(case)
    with platform.session() as session:
        if done or undone:
            made = tasks.set_task_done(
                session, cli.principal, case_id, done or undone or 0, clock=platform.clock,
                done=bool(done),
            )  # fmt: skip
        elif title:
            made = tasks.add_task(
                session, cli.principal, case_id, clock=platform.clock, title=title, owner=owner,
                due_at=_when(due),
            )  # fmt: skip
        else:
            raise typer.BadParameter("give a task title, or --done/--undone with a task id")
    say(f"task {made['id']}: {made['title']}" + (" (done)" if made["done_at"] else ""))


@app.command("link")
def cases_link(
    ctx: typer.Context,
    case: CaseArgument,
    kind: Annotated[LinkKind, typer.Argument(help="alert, event, indicator or finding.")],
    target: Annotated[int, typer.Argument(min=1, help="The id of the record to link.")],
    note: Annotated[str, typer.Option("--note", help="Why it is linked.")] = "",
) -> None:
    """Link an alert, event, indicator or finding to a case (checked to exist)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = links.add_link(
            session, cli.principal, _case_id(case), clock=platform.clock, kind=kind,
            target_id=target, note=note,
        )  # fmt: skip
    say(f"link {made['id']}: {made['kind']} {made['target_id']}")


@app.command("involve")
def cases_involve(
    ctx: typer.Context,
    case: CaseArgument,
    member: Annotated[str, typer.Argument(help="The organisation: id, org number or name.")],
    role: Annotated[
        InvolvedRole, typer.Option("--role", help="affected, reporter, vendor or partner_cert.")
    ] = InvolvedRole.AFFECTED,
    contacts: Annotated[str, typer.Option("--contacts", help="Its people on this case.")] = "",
) -> None:
    """Add an organisation to a case in a role."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = coordination.involve_organisation(
            session, cli.principal, _case_id(case), resolve_organisation(session, member), role,
            clock=platform.clock, contacts=contacts,
        )  # fmt: skip
    say(f"{made['organisation_name']} involved as {made['role']}")


@app.command("update")
def cases_update(
    ctx: typer.Context,
    case: CaseArgument,
    text: Annotated[str, typer.Argument(help="The update, as the members will read it.")],
    title: Annotated[str, typer.Option("--title", help="Its subject (default: the case's).")] = "",
    tlp: Annotated[
        str | None, typer.Option("--tlp", help="TLP 2.0 label, at most AMBER+STRICT.")
    ] = None,
) -> None:
    """Send a coordinated update to every organisation in the case (a notice each, signed
    and encrypted as every notice); internal journal entries never go out."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = coordination.send_update(
            session, cli.principal, _case_id(case), clock=platform.clock,
            config=notify_config(platform.settings), text=text, title=title, tlp=_tlp(tlp),
        )  # fmt: skip
    say(f"update {made['id']} queued as {len(made['notices'])} notices")


@app.command("merge")
def cases_merge(
    ctx: typer.Context,
    case: CaseArgument,
    into: Annotated[str, typer.Argument(help="The case to merge it into.")],
) -> None:
    """Merge a case into another: its journal, tasks, links and organisations move over."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = workflow.merge_cases(
            session, cli.principal, _case_id(case), _case_id(into), clock=platform.clock
        )
    _print_case(made)


@app.command("split")
def cases_split(
    ctx: typer.Context,
    case: CaseArgument,
    title: Annotated[str, typer.Option("--title", help="The new case's title.")],
    entry: Annotated[
        list[int] | None, typer.Option("--entry", help="A journal entry id to move; repeatable.")
    ] = None,
    link: Annotated[
        list[int] | None, typer.Option("--link", help="A link id to move; repeatable.")
    ] = None,
    member: Annotated[
        list[str] | None,
        typer.Option("--member", help="An involved organisation to copy; repeatable."),
    ] = None,
) -> None:
    """Split part of a case off into a new case."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        made = workflow.split_case(
            session, cli.principal, _case_id(case), clock=platform.clock, title=title,
            journal_ids=entry or [], link_ids=link or [],
            organisation_ids=[resolve_organisation(session, m) for m in member or []],
        )  # fmt: skip
    _print_case(made)


@app.command("stats")
def cases_stats(
    ctx: typer.Context,
    days: Annotated[int, typer.Option("--days", min=1, max=3660, help="Look back this far.")] = 365,
    period: Annotated[
        stats.Period, typer.Option("--period", help="month, quarter or year.")
    ] = stats.Period.MONTH,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the figures as CSV to this file.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Cases per period by classification, sector and member; times to acknowledge, contain
    and close."""
    cli = cli_context(ctx)
    platform = cli.platform()
    now = platform.clock.now()
    with platform.session() as session:
        figures = stats.case_stats(
            session, cli.principal, since=now - timedelta(days=days), period=period
        )
    if csv_file is not None:
        csv_file.write_text(stats.stats_csv(figures), encoding="utf-8")
        say(f"wrote {csv_file}")
        return
    if as_json:
        print_json(figures)
        return
    say(f"{figures['total']} cases")
    print_table(
        "by classification", ["period", "taxonomy", "cases"],
        [[i["period"], i["taxonomy"], i["cases"]] for i in figures["by_classification"]],
    )  # fmt: skip
    print_table(
        "by sector", ["period", "sector", "cases"],
        [[i["period"], i["sector"], i["cases"]] for i in figures["by_sector"]],
    )  # fmt: skip
    print_table(
        "times (hours)", ["to", "cases", "median", "mean"],
        [[k, v["cases"], v["median_hours"], v["mean_hours"]]
         for k, v in figures["durations"].items()],
    )  # fmt: skip


@app.command("digest")
def cases_digest(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the digest; send and record nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Send the CERT's digest of incident deadlines (overdue or due soon, and overdue tasks) to
    the CERT's address now, unless today's was sent (the notify pass sends it daily)."""
    cli = cli_context(ctx)
    done = run_deadline_digest(cli.platform(), dry_run=dry_run, scheduled=False)
    if as_json:
        print_json(done)
        return
    if done.get("text"):
        say(f"Subject: {done['subject']}\n\n{done['text']}")
    messages = {
        "sent": f"sent to {done.get('to')}",
        "sent_already": f"today's digest ({done.get('day')}) was sent already",
        "nothing_due": "nothing overdue or due soon: no digest",
        "dry_run": "dry run: nothing sent",
        "deferred": f"not sent: {done.get('reason')}; the next notify pass tries again",
    }
    say(messages.get(done["status"], done["status"]))
    if done["status"] == "deferred":
        raise typer.Exit(1)
