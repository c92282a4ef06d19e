"""`vardeild mail`: the e-mail intake — the listener that receives mail for the CERT, the poller
that fetches it from an IMAP mailbox, and the commands to import, list, show, reprocess and
re-verify what it kept."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context
from vardeild.cli.output import (
    EXIT_INVALID,
    CliFailure,
    JsonOption,
    print_json,
    print_table,
    say,
    when,
)
from vardeild.mail.imap_poll import ImapFailure, PollResult, imap_mailbox, poll_once
from vardeild.mail.inbound import (
    process_message,
    process_pending,
    reverify_unknown,
    store_message,
)
from vardeild.mail.inbound_listener import InboundListener
from vardeild.mail.inbound_open import IntakeParts, intake_parts
from vardeild.mail.inbound_records import (
    STATUSES,
    get_blob_or_raise,
    get_message_or_raise,
    get_raw_or_raise,
    list_messages,
)
from vardeild.settings import Settings

app = typer.Typer(
    name="mail",
    help=(
        "The e-mail intake: receive (LMTP/SMTP listener), poll (an IMAP mailbox), import, "
        "list, show, reprocess."
    ),
    no_args_is_help=True,
)


def _parts(ctx: typer.Context, settings: Settings) -> IntakeParts:
    parts = intake_parts(settings)
    if parts.cert_key is not None:
        # Decrypting starts gpg's agent for the CERT's home; a command must not leave it.
        ctx.call_on_close(parts.cert_key.stop_agent)
    return parts


@app.command("receive")
def mail_receive(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Listen here instead of mail_inbound_host.")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Listen here instead of mail_inbound_port."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="lmtp or smtp instead of mail_inbound_protocol."),
    ] = None,
) -> None:
    """Receive mail for the CERT over LMTP or SMTP (loopback by default) until stopped: each
    message is kept as received, then processed into a case; messages kept but not processed
    before (a crash) are processed on start."""
    cli = cli_context(ctx)
    platform = cli.platform()
    if protocol not in (None, "lmtp", "smtp"):
        raise typer.BadParameter("--protocol must be lmtp or smtp")
    listener = InboundListener(
        platform,
        _parts(ctx, platform.settings),
        host=host,
        port=port,
        lmtp=None if protocol is None else protocol == "lmtp",
    )
    listener.start()
    kind = "LMTP" if listener.lmtp else "SMTP"
    say(f"receiving mail over {kind} on {listener.host}:{listener.port}; Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


@app.command("poll")
def mail_poll(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="One pass, then exit (for cron or a timer unit).")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval", min=1, help="Seconds between passes (else mail_imap_interval_seconds)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fetch the CERT's mail from the IMAP mailbox the mail_imap_* settings name: each message
    is kept as received, moved to mail_imap_done_mailbox, and processed into a case. Runs until
    stopped, or one pass with --once (exit 1 if the server failed)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    try:
        mailbox = imap_mailbox(platform.settings)
    except ValueError as exc:
        raise CliFailure(str(exc), code=EXIT_INVALID) from exc
    parts = _parts(ctx, platform.settings)
    wait = interval or platform.settings.mail_imap_interval_seconds
    if not once:
        say(f"polling {mailbox.where} {mailbox.mailbox} every {wait:g} s; Ctrl-C stops")
    while True:
        try:
            result = poll_once(platform.session, clock=platform.clock, parts=parts, mailbox=mailbox)
        except ImapFailure as exc:
            if once:
                raise CliFailure(str(exc)) from exc
            say(f"{exc}; trying again in {wait:g} s")
        except Exception as exc:  # the database briefly away: the poller outlives it
            if once:
                raise
            say(f"the pass failed: {type(exc).__name__}: {exc}; trying again in {wait:g} s")
        else:
            _said(result, as_json=as_json, quiet=not once)
        if once:
            return
        try:
            time.sleep(wait)
        except KeyboardInterrupt:
            return


def _said(result: PollResult, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json(asdict(result))
        return
    if quiet and not (result.kept or result.again or result.refused or result.processed):
        return
    say(
        f"kept {result.kept} new message(s), {result.again} kept before, {result.refused} "
        f"refused as too large; moved {result.moved}; processed {len(result.processed)}"
        + (f"; {result.left} still waiting for the next pass" if result.left else "")
    )


@app.command("import")
def mail_import(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="Message files (RFC 5322, as in a maildir); - reads one from stdin."),
    ],
    as_json: JsonOption = False,
) -> None:
    """Keep and process messages from files (for mail fetched by other means)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    parts = _parts(ctx, platform.settings)
    results: list[dict[str, Any]] = []
    for path in files:
        raw = sys.stdin.buffer.read() if str(path) == "-" else _read(path)
        with platform.session() as session:
            kept = store_message(
                session, raw, clock=platform.clock, limits=parts.limits, peer=f"file:{path}"
            )
        with platform.session() as session:
            row = process_message(session, kept.id, clock=platform.clock, parts=parts)
            results.append(
                {
                    "file": str(path),
                    "id": row.id,
                    "status": row.status,
                    "outcome": row.outcome,
                    "case_id": row.case_id,
                    "duplicate": kept.duplicate,
                }
            )
    if as_json:
        print_json(results)
        return
    for item in results:
        case = f", case {item['case_id']}" if item["case_id"] else ""
        again = " (these bytes were kept before)" if item["duplicate"] else ""
        say(
            f"{item['file']}: message {item['id']} {item['status']} ({item['outcome']}{case})"
            + again
        )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliFailure(f"{path}: cannot be read ({exc.strerror})") from exc


@app.command("reprocess")
def mail_reprocess(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Process every kept message not processed yet, and the failed ones again (after the
    CERT's key was fixed, say)."""
    platform = cli_context(ctx).platform()
    done = process_pending(
        platform.session,
        clock=platform.clock,
        parts=_parts(ctx, platform.settings),
        include_failed=True,
    )
    if as_json:
        print_json({"processed": done})
        return
    say(f"{len(done)} message{'s' if len(done) != 1 else ''} processed")


@app.command("reverify")
def mail_reverify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check again the signatures made by keys that were unknown, where the member registry
    now holds the key (the listener does this by itself when the registry changes)."""
    platform = cli_context(ctx).platform()
    with platform.session() as session:
        changed = reverify_unknown(
            session, clock=platform.clock, parts=_parts(ctx, platform.settings)
        )
    if as_json:
        print_json([{"id": pk, "signature": status} for pk, status in changed])
        return
    for pk, status in changed:
        say(f"message {pk}: signature now {status}")
    say(f"{len(changed)} signature{'s' if len(changed) != 1 else ''} checked again")


@app.command("list")
def mail_list(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only in this state: {', '.join(STATUSES)}.")
    ] = None,
    flagged: Annotated[
        bool, typer.Option("--flagged", help="Only those that need a person's look.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List kept messages, newest first, with what became of them."""
    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"--status must be one of {', '.join(STATUSES)}")
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        items, total = list_messages(
            session, cli.principal, status=status, flagged=True if flagged else None, limit=limit
        )
    if as_json:
        print_json(items)
        return
    print_table(
        None,
        ("id", "received", "from", "subject", "status", "signature", "case", "flag"),
        (
            (
                m["id"],
                when(m["received_at"]),
                m["sender"] or m["envelope_from"],
                m["subject"][:60],
                m["status"],
                m["signature"],
                m["case_id"] or "",
                "!" if m["flagged"] else "",
            )
            for m in items
        ),
    )
    say(f"{total} message{'s' if total != 1 else ''}")


@app.command("show")
def mail_show(
    ctx: typer.Context,
    message_id: Annotated[int, typer.Argument(min=1, help="The kept message's id.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Write the message exactly as received to stdout.")
    ] = False,
    attachment: Annotated[
        str | None,
        typer.Option("--attachment", help="Write the attachment with this SHA-256 to stdout."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a kept message: headers, outcome, problems, signature, attachments."""
    cli = cli_context(ctx)
    with cli.platform().session() as session:
        if raw or attachment:
            data = (
                get_blob_or_raise(session, cli.principal, attachment)
                if attachment
                else get_raw_or_raise(session, cli.principal, message_id)
            )
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        item = get_message_or_raise(session, cli.principal, message_id)
    if as_json:
        print_json(item)
        return
    rows: list[tuple[str, Any]] = [
        (key, item[key])
        for key in (
            "id",
            "message_id",
            "sender",
            "subject",
            "status",
            "outcome",
            "case_id",
            "encrypted",
            "signature",
            "signature_key",
            "signer_contact",
            "size",
            "sha256",
        )
    ]
    rows.append(("received", when(item["received_at"])))
    rows.append(("problems", "\n".join(item["problems"]) or "none"))
    rows.append(
        (
            "attachments",
            "\n".join(
                f"{a['filename']} {a['size']} bytes sha256 {a['sha256']}"
                + ("" if a["stored"] else f" (refused: {a['problem']})")
                for a in item["attachments"]
            )
            or "none",
        )
    )
    print_table(f"Inbound message {item['id']}", ("field", "value"), rows)
