"""Monitoring from the command line: `vardeild ingest`, `quarantine`, `alerts` and `suppress`."""

from __future__ import annotations

import typer

from vardeild.cli.monitoring import alerts, ingest, quarantine, suppress


def mount(app: typer.Typer) -> None:
    """Add the monitoring command groups to the root command."""
    app.add_typer(ingest.app, name="ingest")
    app.add_typer(quarantine.app, name="quarantine")
    app.add_typer(alerts.app, name="alerts")
    app.add_typer(suppress.app, name="suppress")
