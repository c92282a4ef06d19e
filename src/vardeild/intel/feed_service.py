"""Configuring feeds and syncing them: fetch (bounded, SSRF-guarded), import, remember where
to start next time.

A sync is incremental where the source allows it: HTTP feeds send the ETag and Last-Modified of
the last answer (a 304 imports nothing), MISP feeds fetch only events whose manifest timestamp
moved, TAXII collections are polled with `added_after` the last envelope's newest object. A
sync that fails records the reason on the feed and in the audit log and leaves the cursor
where it was; a feed's bad records become problems in the sync's result, never a failure of
the good ones. Configuring needs `Action.EDIT` (CERT admins and analysts), syncing
`Action.IMPORT`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vardeild.access.model import Action, Principal, authorize
from vardeild.audit.service import record_change
from vardeild.core.clock import Clock
from vardeild.core.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from vardeild.core.tlp import Tlp
from vardeild.intel.csv_mapping import parse_mapping
from vardeild.intel.feeds import (
    IMPORT_FORMATS,
    MIN_INTERVAL_SECONDS,
    AuthKind,
    Feed,
    FeedFormat,
    FeedSpec,
    check_feed_url,
    mask_secret,
)
from vardeild.intel.fetch import Credentials, FetchError, FetchLimits, fetch
from vardeild.intel.import_service import import_parsed
from vardeild.intel.importers import merge, read_import
from vardeild.intel.imports import ImportDefaults, ParsedFeed
from vardeild.intel.misp_in import read_misp_event, read_misp_manifest
from vardeild.intel.model import clean_source
from vardeild.intel.tables import FeedRow


def add_feed(session: Session, principal: Principal, spec: FeedSpec, *, clock: Clock) -> Feed:
    """Configure a feed; raise ValidationFailed naming every bad field, Conflict if the name
    is taken, PermissionDenied unless the principal may edit."""
    authorize(principal, Action.EDIT)
    problems: list[FieldProblem] = []
    try:
        name = clean_source(spec.name)
    except ValueError as exc:
        problems.append(FieldProblem("feed", "name", str(exc)))
        name = spec.name
    try:
        url = check_feed_url(spec.url)
    except ValueError as exc:
        problems.append(FieldProblem("feed", "url", str(exc)))
        url = spec.url
    if spec.interval_seconds < MIN_INTERVAL_SECONDS:
        problems.append(
            FieldProblem("feed", "interval", f"must be at least {MIN_INTERVAL_SECONDS} seconds")
        )
    if not 0 <= spec.confidence <= 100:
        problems.append(FieldProblem("feed", "confidence", "must be from 0 to 100"))
    if spec.auth_kind is not AuthKind.NONE and not (spec.auth_name and spec.auth_secret):
        problems.append(FieldProblem("feed", "auth", "needs a user (or header) and a secret"))
    mapping = spec.options.get("mapping")
    if mapping:
        try:
            parse_mapping(str(mapping))
        except ValueError as exc:
            problems.append(FieldProblem("feed", "mapping", str(exc)))
    if problems:
        raise ValidationFailed(problems)
    if session.scalar(select(FeedRow.id).where(FeedRow.name == name)) is not None:
        raise Conflict(f"a feed named {name!r} exists")
    now = clock.now()
    row = FeedRow(
        name=name,
        url=url,
        format=spec.format.value,
        options=dict(spec.options),
        interval_seconds=spec.interval_seconds,
        tlp=spec.tlp.value,
        confidence=spec.confidence,
        auth_kind=spec.auth_kind.value,
        auth_name=spec.auth_name,
        auth_secret=spec.auth_secret,
        enabled=True,
        cursor={},
        last_error="",
        last_result={},
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    feed = _feed(row)
    _audit(session, principal, clock, "intel_feed.create", feed, feed.to_dict())
    return feed


def list_feeds(session: Session, principal: Principal) -> list[Feed]:
    """Return every feed by name; PermissionDenied for members."""
    authorize(principal, Action.LIST_ALL)
    return [_feed(row) for row in session.scalars(select(FeedRow).order_by(FeedRow.name))]


def get_feed_or_raise(session: Session, principal: Principal, name: str) -> Feed:
    """Return the feed of that name; NotFound if none, PermissionDenied for members."""
    authorize(principal, Action.LIST_ALL)
    return _feed(_row(session, name))


def remove_feed(session: Session, principal: Principal, name: str, *, clock: Clock) -> None:
    """Remove a feed (its indicators stay, their feed unset); NotFound, PermissionDenied."""
    authorize(principal, Action.EDIT)
    row = _row(session, name)
    feed = _feed(row)
    session.delete(row)
    session.flush()
    _audit(session, principal, clock, "intel_feed.delete", feed, None)


def set_feed_enabled(
    session: Session, principal: Principal, name: str, enabled: bool, *, clock: Clock
) -> Feed:
    """Enable or disable a feed and return it; NotFound, PermissionDenied."""
    authorize(principal, Action.EDIT)
    row = _row(session, name)
    row.enabled = enabled
    row.updated_at = clock.now()
    session.flush()
    feed = _feed(row)
    action = "intel_feed.enable" if enabled else "intel_feed.disable"
    _audit(session, principal, clock, action, feed, {"enabled": enabled})
    return feed


def due_feeds(session: Session, principal: Principal, *, now: datetime) -> list[Feed]:
    """Return the enabled feeds whose interval has passed since their last sync."""
    return [feed for feed in list_feeds(session, principal) if feed.is_due(now)]


def sync_feed(
    session: Session,
    principal: Principal,
    name: str,
    *,
    clock: Clock,
    limits: FetchLimits,
) -> dict[str, Any]:
    """Fetch and import one feed from where its last sync ended; return the result (with
    `error` when it failed, which is also stored on the feed). Audited either way."""
    authorize(principal, Action.IMPORT)
    row = _row(session, name)
    feed = _feed(row)
    now = clock.now()
    credentials = None
    if feed.auth_kind is not AuthKind.NONE:
        credentials = Credentials(feed.auth_kind.value, feed.auth_name, row.auth_secret)
    defaults = ImportDefaults(tlp=feed.tlp, confidence=feed.confidence)
    cursor = dict(feed.cursor)
    try:
        parsed, cursor = _fetch_feed(feed, cursor, credentials, defaults, limits)
        if parsed is None:
            result: dict[str, Any] = {"not_modified": True}
        else:
            loaded = import_parsed(
                session,
                principal,
                parsed,
                clock=clock,
                source=feed.name,
                fmt=feed.format.value,
                feed_id=feed.id,
                origin=f"feed {feed.name}",
            )
            result = loaded.to_dict()
            result["problems"] = result["problems"][:100]
        row.cursor = cursor
        row.last_success_at = now
        row.last_error = ""
    except (FetchError, ValidationFailed) as exc:
        message = str(exc) if isinstance(exc, FetchError) else "; ".join(map(str, exc.problems))
        result = {"error": message[:2000]}
        row.last_error = message[:2000]
    row.last_sync_at = now
    row.last_result = result
    session.flush()
    _audit(session, principal, clock, "intel_feed.sync", _feed(row), result)
    return {"feed": feed.name, **result}


def _fetch_feed(
    feed: Feed,
    cursor: dict[str, Any],
    credentials: Credentials | None,
    defaults: ImportDefaults,
    limits: FetchLimits,
) -> tuple[ParsedFeed | None, dict[str, Any]]:
    """Return what the feed holds new since cursor (None: nothing changed) and the new cursor."""
    if feed.format is FeedFormat.MISP_FEED:
        return _fetch_misp_feed(feed, cursor, credentials, defaults, limits)
    if feed.format is FeedFormat.TAXII21:
        from vardeild.intel.taxii_poll import poll_collection  # needs requests; only here

        return poll_collection(feed.url, cursor, credentials, defaults, limits)
    headers = {}
    if cursor.get("etag"):
        headers["If-None-Match"] = str(cursor["etag"])
    if cursor.get("last_modified"):
        headers["If-Modified-Since"] = str(cursor["last_modified"])
    response = fetch(feed.url, limits=limits, credentials=credentials, headers=headers)
    if response.not_modified:
        return None, cursor
    mapping = feed.options.get("mapping")
    parsed, _ = read_import(
        response.body,
        fmt=IMPORT_FORMATS[feed.format],
        defaults=defaults,
        mapping=parse_mapping(str(mapping)) if mapping else None,
    )
    new_cursor = {
        key: value
        for key, value in (
            ("etag", response.headers.get("etag")),
            ("last_modified", response.headers.get("last-modified")),
        )
        if value
    }
    return parsed, new_cursor


def _fetch_misp_feed(
    feed: Feed,
    cursor: dict[str, Any],
    credentials: Credentials | None,
    defaults: ImportDefaults,
    limits: FetchLimits,
) -> tuple[ParsedFeed | None, dict[str, Any]]:
    """Fetch manifest.json, then each event whose timestamp is newer than the cursor's."""
    base = feed.url.rstrip("/")
    manifest = fetch(f"{base}/manifest.json", limits=limits, credentials=credentials)
    try:
        stamps = read_misp_manifest(manifest.body)
    except ValueError as exc:
        raise FetchError(str(exc)) from None
    seen: dict[str, int] = {str(k): int(v) for k, v in (cursor.get("events") or {}).items()}
    changed = sorted(uuid for uuid, stamp in stamps.items() if seen.get(uuid, -1) < stamp)
    if not changed:
        return None, cursor
    parts = []
    for uuid in changed:
        try:
            event = fetch(f"{base}/{uuid}.json", limits=limits, credentials=credentials)
        except FetchError as exc:
            failed = ParsedFeed()
            failed.note(f"event {uuid}", "", str(exc), 0)
            parts.append(failed)
            continue
        parts.append(read_misp_event(event.body, defaults=defaults))
        seen[uuid] = stamps[uuid]
    return merge(parts), {"events": seen}


def _row(session: Session, name: str) -> FeedRow:
    row = session.scalar(select(FeedRow).where(FeedRow.name == name))
    if row is None:
        raise NotFound(f"feed {name!r} not found")
    return row


def _feed(row: FeedRow) -> Feed:
    return Feed(
        id=row.id,
        name=row.name,
        url=row.url,
        format=FeedFormat(row.format),
        interval_seconds=row.interval_seconds,
        tlp=Tlp(row.tlp),
        confidence=row.confidence,
        auth_kind=AuthKind(row.auth_kind),
        auth_name=row.auth_name,
        auth_secret_masked=mask_secret(row.auth_secret),
        enabled=row.enabled,
        options=dict(row.options or {}),
        cursor=dict(row.cursor or {}),
        last_sync_at=row.last_sync_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_result=dict(row.last_result or {}),
    )


def _audit(
    session: Session,
    principal: Principal,
    clock: Clock,
    action: str,
    feed: Feed,
    after: dict[str, Any] | None,
) -> None:
    record_change(
        session,
        clock=clock,
        actor=principal.actor,
        action=action,
        entity_type="intel_feed",
        entity_id=feed.name,
        organisation_id=None,
        before=None,
        after=after,
        note="",
    )
