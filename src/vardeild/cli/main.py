"""The root `vardeild` command: global options, and every command group mounted in one place.

Exit codes: 0 success; 1 a failure such as an unreachable or uninitialised database; 2 invalid
input (every problem listed as `record: field: message`) or usage; 3 not found; 4 conflict;
5 permission denied. Output for people goes to stdout as tables; `--json` prints JSON there
instead; errors go to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vardeild import __version__
from vardeild.cli import (
    audit,
    cases,
    changes,
    demo,
    exposure,
    intel,
    mail_intake,
    members,
    monitoring,
    notify,
    pgp,
    reports,
    sensors,
    ship,
    system,
    tokens,
    users,
    vulndb,
    whois,
    worker,
)
from vardeild.cli.context import CliContext
from vardeild.cli.errors import ReportingGroup

app = typer.Typer(
    name="vardeild",
    cls=ReportingGroup,
    help="Vardeild: the platform that runs the services of a sector CERT.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # locals could hold token secrets and passwords
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vardeild {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="VARDEILD_CONFIG",
            exists=True,
            dir_okay=False,
            help="A TOML settings file (default: ./vardeild.toml if present). VARDEILD_* "
            "environment variables override what it sets.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print Vardeild's version and exit.",
        ),
    ] = False,
) -> None:
    """Vardeild: the platform that runs the services of a sector CERT.

    The command line acts as the local operator with full CERT rights (whoever can run it
    against the database can open the database itself); changes are audited as cli:<login>.
    """
    state = CliContext(config=config)
    ctx.obj = state
    ctx.call_on_close(state.close)


app.command("init")(system.init)
app.command("serve")(system.serve)
app.command("demo")(demo.demo)
app.add_typer(members.app, name="members")
app.command("whois")(whois.whois)
app.add_typer(audit.app, name="audit")
app.add_typer(tokens.app, name="tokens")
app.add_typer(users.app, name="users")
app.add_typer(changes.app, name="changes")
app.add_typer(intel.app, name="intel")
app.add_typer(sensors.app, name="sensors")
app.command("settings")(system.show_settings)
monitoring.mount(app)
app.command("worker")(worker.worker)
app.add_typer(worker.dead_letters_app, name="dead-letters")
# `sensors ship` runs on the sensor box; `sensor ship`, its first name, stays as a hidden alias.
sensors.app.command("ship")(ship.ship)
app.add_typer(ship.app, name="sensor", hidden=True)
app.add_typer(pgp.app, name="pgp")
app.add_typer(notify.app, name="notify")
app.add_typer(mail_intake.app, name="mail")
app.add_typer(exposure.app, name="exposure")
app.add_typer(vulndb.app, name="vulndb")
app.add_typer(reports.app, name="reports")
app.add_typer(cases.app, name="cases")


def main() -> None:
    """Run the command line (the `vardeild` console script)."""
    app()


if __name__ == "__main__":
    main()
