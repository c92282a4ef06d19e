"""`vardeild sensors`: the sensors that report to the CERT — register, list, show, issue
their tokens, retire, and check for silent ones."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vardeild.cli.context import cli_context, resolve_organisation
from vardeild.cli.output import JsonOption, print_json, print_table, say, stdout, when
from vardeild.monitoring.sensor_model import (
    DEFAULT_SILENCE_AFTER_MINUTES,
    SILENCE_AFTER_MAX_MINUTES,
    Sensor,
)
from vardeild.monitoring.sensors import (
    check_silent_sensors,
    create_sensor,
    find_sensor_or_raise,
    hourly_counts,
    issue_sensor_token,
    list_sensors,
    retire_sensor,
    sensor_dict,
)

app = typer.Typer(
    name="sensors",
    help="Sensors: register, list, show, issue tokens, retire, check for silent ones.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The sensor's name (or its id).")]


def _seen(sensor: Sensor) -> str:
    return when(sensor.last_seen_at) if sensor.last_seen_at else "never"


def _state(sensor: Sensor) -> str:
    if sensor.status.value != "active":
        return sensor.status.value
    if sensor.silent:
        return "SILENT"
    return "waiting" if sensor.last_seen_at is None else "ok"


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="A new, unique name: a-z, 0-9 and hyphens, e.g. osl-dc1-ids."
        ),
    ],
    location: Annotated[
        str, typer.Option("--location", help="Where the sensor stands or what it listens to.")
    ],
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner",
            help="The member whose own sensor it is (id, org number or name). Default: the CERT's.",
        ),
    ] = None,
    description: Annotated[
        str, typer.Option("--description", help="What it watches, who runs it.")
    ] = "",
    silence_after: Annotated[
        int,
        typer.Option(
            "--silence-after",
            min=1,
            max=SILENCE_AFTER_MAX_MINUTES,
            help="Minutes without a delivery after which it counts as silent.",
        ),
    ] = DEFAULT_SILENCE_AFTER_MINUTES,
    as_json: JsonOption = False,
) -> None:
    """Register a sensor. Then issue its token with `vardeild sensors token NAME`."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        owner_id = resolve_organisation(session, owner) if owner is not None else None
        sensor = create_sensor(
            session,
            cli.principal,
            clock=platform.clock,
            name=name,
            location=location,
            organisation_id=owner_id,
            description=description,
            silence_after_minutes=silence_after,
        )
    if as_json:
        print_json(sensor_dict(sensor))
        return
    whose = f"organisation {sensor.organisation_id}" if sensor.organisation_id else "the CERT"
    say(f"Registered sensor {sensor.id} {sensor.name!r} ({whose}).")
    say(f"Issue its token with: vardeild sensors token {sensor.name}")


@app.command("list")
def list_(
    ctx: typer.Context,
    include_retired: Annotated[
        bool, typer.Option("--all", help="Also list retired sensors.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List sensors with when each was last heard from, its rate (records in the previous
    hour) and whether it is silent."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        found = list_sensors(
            session, cli.principal, clock=platform.clock, include_retired=include_retired
        )
    if as_json:
        print_json([sensor_dict(s) for s in found])
        return
    print_table(
        None,
        ("id", "name", "location", "org", "state", "last seen", "per hour", "last 24 h"),
        (
            (
                s.id,
                s.name,
                s.location,
                s.organisation_id if s.organisation_id else "CERT",
                _state(s),
                _seen(s),
                s.events_previous_hour,
                s.events_last_24h,
            )
            for s in found
        ),
    )


@app.command("show")
def show(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a sensor: where it is, whose it is, when it was last heard from, its latest
    stats and its records per hour over the last 24 hours."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        sensor = find_sensor_or_raise(session, cli.principal, name, clock=platform.clock)
        hours = hourly_counts(session, cli.principal, sensor.id, clock=platform.clock)
    data: dict[str, Any] = sensor_dict(sensor)
    data["hourly"] = [{"hour": hour, "count": count} for hour, count in hours]
    if as_json:
        print_json(data)
        return
    health = sensor.health
    rows: list[tuple[str, Any]] = [
        ("id", sensor.id),
        ("name", sensor.name),
        ("location", sensor.location),
        ("owner", sensor.organisation_id or "the CERT"),
        ("description", sensor.description),
        ("status", _state(sensor)),
        ("silent after", f"{sensor.silence_after_minutes} min"),
        ("last seen", _seen(sensor)),
        ("silence alerted", when(sensor.silence_alerted_at)),
        ("registered", f"{when(sensor.created_at)} by {sensor.created_by}"),
        ("retired", when(sensor.retired_at)),
        ("records this hour", sensor.events_this_hour),
        ("records previous hour", sensor.events_previous_hour),
        ("records last 24 h", sensor.events_last_24h),
    ]
    if health is not None:
        ratio = health.drop_ratio
        rows += [
            ("stats at", when(health.at)),
            ("uptime", f"{health.uptime_seconds} s" if health.uptime_seconds is not None else ""),
            ("packets", health.packets),
            ("drops", f"{health.drops}" + (f" ({ratio:.2%})" if ratio is not None else "")),
            ("alerts", health.alerts),
        ]
    print_table(None, ("field", "value"), rows)
    print_table(
        "Records per hour (UTC)",
        ("hour", "records"),
        ((when(hour), count) for hour, count in hours if count),
    )


@app.command("token")
def token(
    ctx: typer.Context,
    name: NameArgument,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Also revoke the sensor's other tokens, at once."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Issue a token for the sensor and print its secret, this once. The token may only
    deliver events (POST /api/v1/ingest/eve) for this sensor."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        issued = issue_sensor_token(
            session, cli.principal, name, clock=platform.clock, replace=replace
        )
    if as_json:
        print_json(
            {
                "sensor": issued.sensor,
                "token_id": issued.token_id,
                "prefix": issued.prefix,
                "secret": issued.secret,
                "revoked": issued.revoked,
            }
        )
        return
    say(f"Issued token {issued.token_id} for sensor {issued.sensor!r}.")
    if issued.revoked:
        say(f"Revoked its {issued.revoked} other token(s).")
    say("Its secret, shown this once — store it on the sensor now:")
    stdout().print(issued.secret, markup=False, highlight=False, soft_wrap=True)


@app.command("retire")
def retire(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Retire a sensor: its tokens stop working at once and it is no longer checked for
    silence. Its name is never given to another sensor."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        sensor = retire_sensor(session, cli.principal, name, clock=platform.clock)
    if as_json:
        print_json(sensor_dict(sensor))
        return
    say(f"Sensor {sensor.name!r} is retired (since {when(sensor.retired_at)}).")


@app.command("check")
def check(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Raise an alert for each active sensor silent for longer than its threshold (once per
    silence) and list the sensors newly found silent."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        silent = check_silent_sensors(session, platform.clock)
    if as_json:
        print_json(
            [
                {
                    "sensor_id": s.sensor_id,
                    "name": s.name,
                    "organisation_id": s.organisation_id,
                    "last_seen_at": s.last_seen_at,
                    "silent_minutes": int(s.silent_for.total_seconds() // 60),
                    "alert_id": s.alert_id,
                }
                for s in silent
            ]
        )
        return
    if not silent:
        say("No sensor has newly fallen silent.")
        return
    print_table(
        "Newly silent sensors (alerted)",
        ("sensor", "org", "last seen", "silent for", "alert"),
        (
            (
                s.name,
                s.organisation_id if s.organisation_id else "CERT",
                when(s.last_seen_at),
                f"{int(s.silent_for.total_seconds() // 60)} min",
                s.alert_id,
            )
            for s in silent
        ),
    )
