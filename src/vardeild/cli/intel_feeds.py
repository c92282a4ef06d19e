"""`vardeild intel feeds add|list|show|remove|enable|disable` and `vardeild intel sync`.

Feeds live in the database; a sync fetches each due feed within the fetch settings
(`intel_fetch_*`: size, time, and whether private addresses may be reached) and imports what
is new. Secrets are stored, and only ever shown masked.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from vardeild.cli.context import cli_context
from vardeild.cli.output import JsonOption, print_json, print_table, say, when
from vardeild.core.tlp import Tlp
from vardeild.intel.feed_service import (
    add_feed,
    due_feeds,
    get_feed_or_raise,
    list_feeds,
    remove_feed,
    set_feed_enabled,
    sync_feed,
)
from vardeild.intel.feeds import AuthKind, Feed, FeedFormat, FeedSpec
from vardeild.intel.fetch import FetchLimits

feeds_app = typer.Typer(name="feeds", help="Configured indicator feeds.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="The feed's name.")]


def _show(feed: Feed) -> None:
    for key, value in feed.to_dict().items():
        say(f"{key}: {value}")


@feeds_app.command("add")
def add(
    ctx: typer.Context,
    name: NameArgument,
    url: Annotated[str, typer.Argument(help="http(s) URL of the feed.")],
    fmt: Annotated[FeedFormat, typer.Option("--format", "-f", help="What the URL serves.")],
    interval: Annotated[
        int, typer.Option("--interval", min=60, help="Sync every this many seconds.")
    ] = 3600,
    tlp: Annotated[
        Tlp, typer.Option("--tlp", case_sensitive=False, help="TLP of unmarked records.")
    ] = Tlp.AMBER,
    confidence: Annotated[
        int,
        typer.Option(
            "--confidence", min=0, max=100, help="Confidence (0-100) of records without one."
        ),
    ] = 50,
    auth: Annotated[AuthKind, typer.Option("--auth", help="none, basic or header.")] = (
        AuthKind.NONE
    ),
    auth_name: Annotated[
        str, typer.Option("--auth-name", help="Basic: the user; header: the header name.")
    ] = "",
    auth_secret: Annotated[
        str,
        typer.Option(
            "--auth-secret",
            envvar="VARDEILD_FEED_SECRET",
            help="Basic: the password; header: its value (or VARDEILD_FEED_SECRET).",
        ),
    ] = "",
    mapping: Annotated[
        str | None, typer.Option("--map", help="csv: the column mapping (value=col,...).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Configure a feed."""
    cli = cli_context(ctx)
    platform = cli.platform()
    spec = FeedSpec(
        name=name,
        url=url,
        format=fmt,
        interval_seconds=interval,
        tlp=tlp,
        confidence=confidence,
        auth_kind=auth,
        auth_name=auth_name,
        auth_secret=auth_secret,
        options={"mapping": mapping} if mapping else {},
    )
    with platform.session() as session:
        feed = add_feed(session, cli.principal, spec, clock=platform.clock)
    if as_json:
        print_json(feed.to_dict())
        return
    say(f"Added feed {feed.name!r} ({feed.format.value}), synced every {interval:,} s.")


@feeds_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the feeds and the state of their last sync."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        feeds = list_feeds(session, cli.principal)
    if as_json:
        print_json([feed.to_dict() for feed in feeds])
        return
    print_table(
        None,
        ("name", "format", "enabled", "every (s)", "last sync", "last error", "url"),
        (
            (
                f.name,
                f.format.value,
                f.enabled,
                f.interval_seconds,
                when(f.last_sync_at),
                f.last_error[:60],
                f.url,
            )
            for f in feeds
        ),
    )


@feeds_app.command("show")
def show(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show one feed (its secret masked)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        feed = get_feed_or_raise(session, cli.principal, name)
    if as_json:
        print_json(feed.to_dict())
        return
    _show(feed)


@feeds_app.command("remove")
def remove(ctx: typer.Context, name: NameArgument) -> None:
    """Remove a feed; its indicators stay (use `intel delete --source NAME` for them)."""
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        remove_feed(session, cli.principal, name, clock=platform.clock)
    say(f"Removed feed {name!r}.")


@feeds_app.command("enable")
def enable(ctx: typer.Context, name: NameArgument) -> None:
    """Sync the feed again on its schedule."""
    _set(ctx, name, True)


@feeds_app.command("disable")
def disable(ctx: typer.Context, name: NameArgument) -> None:
    """Stop syncing the feed (its indicators stay)."""
    _set(ctx, name, False)


def _set(ctx: typer.Context, name: str, enabled: bool) -> None:
    cli = cli_context(ctx)
    platform = cli.platform()
    with platform.session() as session:
        set_feed_enabled(session, cli.principal, name, enabled, clock=platform.clock)
    say(f"Feed {name!r} {'enabled' if enabled else 'disabled'}.")


def sync(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Sync this feed now (default: every due feed).")
    ] = None,
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep syncing due feeds (intel_sync_interval_seconds).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync feeds: fetch what is new (incrementally) and import it."""
    cli = cli_context(ctx)
    platform = cli.platform()
    settings = platform.settings
    limits = FetchLimits(
        max_bytes=settings.intel_fetch_max_bytes,
        timeout=settings.intel_fetch_timeout_seconds,
        allow_private=settings.intel_fetch_allow_private,
    )
    while True:
        with platform.session() as session:
            if name is not None:
                names = [name]
            else:
                names = [
                    f.name for f in due_feeds(session, cli.principal, now=platform.clock.now())
                ]
        results = []
        for feed_name in names:
            with platform.session() as session:
                results.append(
                    sync_feed(
                        session, cli.principal, feed_name, clock=platform.clock, limits=limits
                    )
                )
        if as_json:
            print_json(results)
        else:
            for result in results:
                if "error" in result:
                    say(f"{result['feed']}: failed: {result['error']}", style="red")
                elif result.get("not_modified"):
                    say(f"{result['feed']}: nothing new.")
                else:
                    say(
                        f"{result['feed']}: {result['created']:,} created, "
                        f"{result['updated']:,} changed, {result['unchanged']:,} unchanged, "
                        f"{result['unmatchable']:,} not matchable, {len(result['problems']):,} "
                        "problems."
                    )
            if not results:
                say("No feed is due.")
        if not loop:
            return
        time.sleep(settings.intel_sync_interval_seconds)
