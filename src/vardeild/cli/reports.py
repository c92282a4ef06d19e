"""`vardeild reports`: incident reports from the public report form (list, show). Showing one
decrypts it with the portal's key and is recorded in the audit log, as reading it in the
console is."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context
from vardeild.cli.output import CliFailure, JsonOption, print_json, print_table, say, when
from vardeild.intake import service as intake
from vardeild.intake.model import (
    Report,
    ReportStatus,
    ReportSummary,
    ReportUnreadable,
    intake_key,
)
from vardeild.web.pages.csrf import load_key

app = typer.Typer(
    name="reports", help="Incident reports from the public report form.", no_args_is_help=True
)


def summary_dict(summary: ReportSummary) -> dict[str, Any]:
    """Return what is kept in clear of a report as JSON-ready data."""
    return {
        "id": summary.id,
        "reference": summary.reference,
        "received_at": summary.received_at.isoformat(),
        "status": summary.status.value,
        "size": summary.size,
        "language": summary.language,
        "status_changed_at": (
            summary.status_changed_at.isoformat() if summary.status_changed_at else None
        ),
        "status_changed_by": summary.status_changed_by,
    }


def report_dict(report: Report) -> dict[str, Any]:
    """Return an opened report as JSON-ready data: its summary and its content."""
    content = report.content
    return {
        **summary_dict(report.summary),
        "content": {
            "name": content.name,
            "email": content.email,
            "phone": content.phone,
            "organisation": content.organisation,
            "what_happened": content.what_happened,
            "happened_at": content.happened_at,
            "affected": content.affected,
            "tlp": content.tlp.value,
        },
    }


@app.command("list")
def list_reports(
    ctx: typer.Context,
    status: Annotated[
        ReportStatus | None, typer.Option("--status", help="Only reports with this status.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Show at most this many, newest first.")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """List reports, newest first: reference, when, status and size (never their content)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        reports, total = intake.list_reports(session, cli.principal, status=status, limit=limit)
    if as_json:
        print_json({"items": [summary_dict(r) for r in reports], "total": total})
        return
    print_table(
        f"Incident reports ({len(reports)} of {total})",
        ("id", "reference", "received", "status", "bytes", "changed by"),
        (
            (r.id, r.reference, when(r.received_at), r.status.value, r.size, r.status_changed_by)
            for r in reports
        ),
    )


@app.command("show")
def show(
    ctx: typer.Context,
    report: Annotated[
        str, typer.Argument(metavar="REPORT", help="The report's id or its reference.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Show one report decrypted (the reading is recorded in the audit log)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    settings = platform.settings
    secret = settings.portal_secret_key
    key = intake_key(load_key(secret.get_secret_value() if secret else None, settings.data_dir))
    with platform.session() as session:
        text = report.strip()
        number = (
            int(text) if text.isdigit() else intake.find_report_id(session, cli.principal, text)
        )
        try:
            opened = intake.read_report(
                session, cli.principal, number, clock=platform.clock, key=key
            )
        except ReportUnreadable as exc:
            raise CliFailure(str(exc)) from exc
    if as_json:
        print_json(report_dict(opened))
        return
    data = report_dict(opened)
    content = data.pop("content")
    print_table(
        f"Report {opened.summary.reference} (TLP:{content['tlp']})",
        ("field", "value"),
        [(k, v) for k, v in data.items()] + [(k, v) for k, v in content.items()],
    )
    say("The reading is recorded in the audit log.")
