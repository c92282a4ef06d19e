"""`vardeild notify`: the pass that turns alerts into notices and sends the outbox, and the
commands to preview, list, inspect, retry and set policies."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from vardeild.app import notify_config, run_notify_pass
from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.monitoring.records import EVERYTHING, IdArgument, print_facts
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.core.tlp import Tlp
from vardeild.members.model import Language
from vardeild.monitoring.model import Severity
from vardeild.notify import records, service, tasks
from vardeild.notify.model import NoticeKind, NoticeStatus

app = typer.Typer(
    name="notify",
    help="Notices to members: run, send, preview, status, retry.",
    no_args_is_help=True,
)


def _say_pass(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    say(
        f"{result['notices_made']} new notices from alerts, {result['released']} released, "
        f"{result['digests']} digests; sent {result['sent']}, deferred {result['deferred']}, "
        f"failed {result['failed']}"
    )


@app.command("run")
def notify_run(
    ctx: typer.Context,
    loop: Annotated[
        bool, typer.Option("--loop", help="Run a pass every notify_interval_seconds until stopped.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make notices of new and grown alerts, release held notices and digests, send the outbox.
    Safe to run twice at once or after a kill: nothing is queued or sent twice."""
    cli = cli_context(ctx)
    platform = cli.platform()
    while True:
        _say_pass(run_notify_pass(platform), as_json)
        if not loop:
            return
        try:
            time.sleep(platform.settings.notify_interval_seconds)
        except KeyboardInterrupt:
            return


@app.command("send")
def notify_send(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Send at most this many deliveries.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Release due notices and digests and send the outbox (no new notices from alerts)."""
    platform = cli_context(ctx).platform()
    _say_pass(run_notify_pass(platform, alerts=False, limit=limit), as_json)


@app.command("message")
def notify_message(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="The member: id, org number or exact name.")],
    title: Annotated[str, typer.Option("--title", help="One line: what this is about.")],
    text: Annotated[str, typer.Option("--text", help="What happened and what it means.")],
    action: Annotated[str, typer.Option("--action", help="What the member should do.")] = "",
    severity: Annotated[
        str, typer.Option("--severity", help="info, low, medium, high or critical.")
    ] = "medium",
    tlp: Annotated[str, typer.Option("--tlp", help="TLP 2.0 label, e.g. AMBER.")] = "AMBER",
) -> None:
    """Queue a notice with free text to a member (its policy decides when it goes)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    try:
        level = Severity[severity.strip().upper()]
        label = Tlp.parse(tlp)
    except (KeyError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    now = platform.clock.now()
    with platform.session() as session:
        member_id = resolve_organisation(session, member)
        row, _ = service.queue_notice(
            session,
            cli.principal,
            member_id=member_id,
            kind=NoticeKind.MESSAGE,
            title=title,
            severity=level,
            tlp=label,
            content={"details": {"text": text, "action": action}, "systems": []},
            source_key=f"message:{member_id}:{now.isoformat()}:{title[:80]}",
            config=notify_config(platform.settings),
            now=now,
        )
        say(f"notice {row.id} {row.status} ({row.hold_reason})")


@app.command("list")
def notify_list(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option("--member", help="Only this member's.")] = None,
    status: Annotated[
        NoticeStatus | None, typer.Option("--status", help="Only in this state.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List notices, newest first."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        member_id = resolve_organisation(session, member) if member else None
        items, total = records.list_notices(
            session, cli.principal, member_id=member_id, status=status, limit=EVERYTHING
        )
    if as_json:
        print_json(items)
        return
    print_table(
        None,
        ("id", "member", "kind", "severity", "tlp", "status", "created", "acknowledged", "title"),
        (
            (
                n["id"],
                n["organisation_id"],
                n["kind"],
                n["severity"],
                n["tlp"],
                n["status"],
                when(n["created_at"]),
                when(n["acknowledged_at"]),
                n["title"],
            )
            for n in items
        ),
    )
    say(f"{total} notice{'s' if total != 1 else ''}")


@app.command("status")
def notify_status(
    ctx: typer.Context,
    notice_id: Annotated[
        int | None, typer.Argument(metavar="[ID]", min=1, help="A notice: its delivery log.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the outbox at a glance, or one notice with its deliveries and delivery log."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        if notice_id is None:
            data = records.outbox_status(session, cli.principal, now=platform.clock.now())
        else:
            data = records.get_notice_or_raise(session, cli.principal, notice_id)
    if as_json:
        print_json(data)
        return
    if notice_id is None:
        print_table("deliveries", ("status", "count"), data["deliveries"].items())
        print_table("notices", ("status", "count"), data["notices"].items())
        say(f"next attempt: {when(data['next_attempt_at'])}; open key tasks: {data['open_tasks']}")
        return
    print_facts(data, exclude={"content", "deliveries", "log"})
    print_table(
        "deliveries",
        ("id", "recipient", "status", "protection", "attempts", "next attempt", "answer"),
        (
            (
                d["id"],
                d["recipient"],
                d["status"],
                d["protection"],
                d["attempts"],
                when(d["next_attempt_at"]),
                d["last_answer"],
            )
            for d in data["deliveries"]
        ),
    )
    print_table(
        "delivery log",
        ("at", "delivery", "status", "detail"),
        ((when(e["at"]), e["delivery_id"], e["status"], e["detail"]) for e in data["log"]),
    )


@app.command("retry")
def notify_retry(ctx: typer.Context, notice_id: IdArgument) -> None:
    """Queue a notice's failed deliveries again (they go with the next send or run)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        notice = records.retry_notice(
            session,
            cli.principal,
            notice_id,
            config=notify_config(platform.settings),
            now=platform.clock.now(),
        )
    say(f"notice {notice_id} is {notice['status']}; `vardeild notify send` sends it")


@app.command("preview")
def notify_preview(
    ctx: typer.Context,
    notice_id: IdArgument,
    language: Annotated[
        Language | None, typer.Option("--language", help="nb or en (default: the policy's).")
    ] = None,
    portal_note: Annotated[
        bool,
        typer.Option("--portal-note", help="Show the note a keyless contact gets instead."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a notice as a recipient reads it: subject, body and attachments."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        rendered = records.preview_notice(
            session,
            cli.principal,
            notice_id,
            config=notify_config(platform.settings),
            language=language,
            portal_note=portal_note,
        )
    attachments = [
        {"filename": a.filename, "content_type": a.content_type, "bytes": len(a.data)}
        for a in rendered.attachments
    ]
    if as_json:
        print_json({"subject": rendered.subject, "body": rendered.body, "attachments": attachments})
        return
    typer.echo(f"Subject: {rendered.subject}\n\n{rendered.body}")
    for a in attachments:
        typer.echo(f"[attachment {a['filename']} {a['content_type']}, {a['bytes']} bytes]")


@app.command("policy")
def notify_policy(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="The member: id, org number or exact name.")],
    set_json: Annotated[
        str | None,
        typer.Option(
            "--set",
            help='Fields to change, as JSON: \'{"schedule": "daily", "digest_times": ["08:00"]}\'.',
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a member's notice policy, or change fields of it with --set."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        member_id = resolve_organisation(session, member)
        if set_json is None:
            data = service.read_policy(session, cli.principal, member_id)
        else:
            try:
                changes = json.loads(set_json)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"not JSON: {exc}", param_hint="--set") from None
            if not isinstance(changes, dict):
                raise typer.BadParameter("must be a JSON object", param_hint="--set")
            data = service.set_policy(
                session, cli.principal, member_id, changes, now=platform.clock.now()
            )
    if as_json:
        print_json(data)
        return
    print_facts(data, exclude=set())


@app.command("tasks")
def notify_tasks(
    ctx: typer.Context,
    close: Annotated[
        int | None, typer.Option("--close", min=1, help="Mark this task done.")
    ] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="Closed tasks too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the CERT's tasks to fix contacts' keys, or close one."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        if close is not None:
            tasks.close_task(session, cli.principal, close, now=platform.clock.now())
            say(f"task {close} closed")
            return
        listed = tasks.list_tasks(session, cli.principal, include_closed=include_closed)
    if as_json:
        print_json(listed)
        return
    print_table(
        None,
        ("id", "member", "contact", "open", "created", "detail"),
        (
            (
                t["id"],
                t["organisation_id"],
                t["contact_email"],
                t["open"],
                when(t["created_at"]),
                t["detail"],
            )
            for t in listed
        ),
    )
