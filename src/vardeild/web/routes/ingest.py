"""`POST /api/v1/ingest/eve`: sensors deliver Suricata EVE lines over HTTP.

The body is NDJSON (one EVE record per line; also `application/json-seq` and plain text),
optionally gzip-compressed. Its size is bounded as sent and again while it is decompressed, so
a gzip bomb is refused (413) after at most `ingest_max_bytes` of output, with nothing stored.
Each sensor may make ingest_rate_per_second requests per second on average, ingest_rate_burst
at once (a token bucket per sensor, in this process); above that the answer is 429 with
Retry-After, before the body is read. The answer comes only after the pipeline has committed
the batch: a sensor that gets an answer
may forget the lines, and one that gets none sends them again under the same Idempotency-Key
(or the same body), which the pipeline then skips whole. docs/sensors.md is the user's guide.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from vardeild.access.model import SYSTEM
from vardeild.access.service import authenticate
from vardeild.core.errors import PermissionDenied, ValidationFailed
from vardeild.monitoring.ingest import EventSink, Feed, IngestResult, RawBatch, RawRecord
from vardeild.monitoring.quarantine import QuarantineQuery, list_quarantined
from vardeild.monitoring.sensors import SensorIdentity, authenticate_sensor
from vardeild.web.deps import PlatformDep
from vardeild.web.errors import Unauthenticated

router = APIRouter(tags=["ingest"])

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SensorToken",
    description="A sensor token (`vds_…`, from `vardeild sensors token NAME`).",
)
MEDIA_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/json-seq",
    "application/json",
    "text/plain",
)
IDEMPOTENCY_KEY_MAX = 128
QUARANTINE_SHOWN = 1000
_RS = b"\x1e"  # the record separator that starts each record of application/json-seq


class BodyTooLarge(ValueError):
    """The body, or what it decompresses to, is over the limit."""


# --- the body -----------------------------------------------------------------------------


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Return the gzip data decompressed; raise BodyTooLarge as soon as the output would exceed
    limit bytes (never holding more than limit + one chunk), ValueError if it is not gzip.
    Concatenated gzip members (`cat a.gz b.gz`) are one stream, as gzip itself reads them."""
    out: list[bytes] = []
    size = 0
    rest = data
    while True:
        stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = rest
        try:
            while pending:
                chunk = stream.decompress(pending, limit - size + 1)
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(f"decompresses to more than {limit:,} bytes")
                out.append(chunk)
                pending = stream.unconsumed_tail
                if stream.eof:
                    break
            tail = stream.flush()
        except zlib.error as exc:
            raise ValueError(f"is not valid gzip ({exc})") from exc
        size += len(tail)
        if size > limit:
            raise BodyTooLarge(f"decompresses to more than {limit:,} bytes")
        out.append(tail)
        if not stream.eof:
            raise ValueError("is not valid gzip (the compressed stream is cut short)")
        rest = stream.unused_data
        if not rest.strip(b"\x00"):  # padding after the last member, as tape tools write
            return b"".join(out)


def split_records(data: bytes, *, json_seq: bool = False) -> list[RawRecord]:
    """Return the body's records, each with its 1-based line number as position. Empty lines
    are skipped; a trailing CR is dropped (CRLF line ends); json_seq records start with RS."""
    return list(_json_seq(data) if json_seq else _lines(data))


def _lines(data: bytes) -> Iterator[RawRecord]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        record = line.removesuffix(b"\r")
        if record.strip():
            yield RawRecord(position=number, data=record)


def _json_seq(data: bytes) -> Iterator[RawRecord]:
    line = 1
    for part in data.split(_RS):
        if part.strip():
            yield RawRecord(position=line, data=part.strip(b"\r\n"))
        line += part.count(b"\n")


# --- dependencies -------------------------------------------------------------------------


def get_sensor(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    platform: PlatformDep,
) -> SensorIdentity:
    """Return the sensor the bearer token stands for (and mark it heard from); 401 without a
    usable token, 403 for an API token, which may do anything but this."""
    if credentials is None:
        raise Unauthenticated(
            "Delivering events needs the sensor's token. Send it as 'Authorization: Bearer "
            "vds_…'; the CERT issues one per sensor (vardeild sensors token NAME).",
            invalid=False,
        )
    secret = credentials.credentials.strip()
    # Its own short transaction, committed before the body is read: the pipeline's commit
    # must not wait on it (SQLite has a single writer).
    with platform.session() as session:
        sensor = authenticate_sensor(session, secret, clock=platform.clock)
        if sensor is None and authenticate(session, secret, clock=platform.clock) is not None:
            raise PermissionDenied(
                "only a sensor token may deliver events; API tokens of people and "
                "integrations may not"
            )
    if sensor is None:
        raise Unauthenticated(
            "The sensor token is unknown or revoked, or its sensor is retired. Ask the CERT "
            "for a new one.",
            invalid=True,
        )
    return sensor


SensorDep = Annotated[SensorIdentity, Depends(get_sensor)]


class RateLimiter:
    """A token bucket per sensor: `rate` requests a second on average, `burst` at once."""

    def __init__(
        self, rate: float, burst: int, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._now = now
        self._buckets: dict[int, tuple[float, float]] = {}  # sensor id -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, sensor_id: int) -> float:
        """Take one request from the sensor's bucket; return 0 if allowed, else the seconds
        until the next request would be."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.get(sensor_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[sensor_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[sensor_id] = (tokens, now)
            return (1.0 - tokens) / self.rate


_LIMITER_LOCK = threading.Lock()


def rate_limiter(request: Request, platform: PlatformDep) -> RateLimiter:
    """Return the app's limiter, made on first use from the settings."""
    state = request.app.state
    with _LIMITER_LOCK:
        limiter: RateLimiter | None = getattr(state, "ingest_rate_limiter", None)
        if limiter is None:
            settings = platform.settings
            limiter = RateLimiter(settings.ingest_rate_per_second, settings.ingest_rate_burst)
            state.ingest_rate_limiter = limiter
    return limiter


def limit_rate(
    sensor: SensorDep, limiter: Annotated[RateLimiter, Depends(rate_limiter)]
) -> SensorIdentity:
    """Return the sensor if it is within its rate; 429 with Retry-After if not."""
    wait = limiter.take(sensor.id)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            detail=(
                f"Sensor {sensor.name} sends more than {limiter.rate:g} requests per second "
                f"(at most {limiter.burst} at once); nothing was stored. Send this batch again "
                f"in {seconds} s, and put more lines in each request (the "
                "ingest_rate_per_second and ingest_rate_burst settings)."
            ),
            headers={"Retry-After": str(seconds)},
        )
    return sensor


LimitedSensorDep = Annotated[SensorIdentity, Depends(limit_rate)]


def _too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(
        413,
        detail=(
            f"The body {what}; at most {limit:,} bytes are accepted, as sent and decompressed "
            "(the ingest_max_bytes setting). Nothing was stored. Send fewer lines per request."
        ),
    )


async def read_body(request: Request, platform: PlatformDep, _sensor: LimitedSensorDep) -> bytes:
    """Return the body as sent, refusing (413) one larger than ingest_max_bytes before it is
    all read. Takes the sensor so that no one without a token, or over its rate, gets the
    body read."""
    limit = platform.settings.ingest_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(f"is {int(declared):,} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"is more than {limit:,} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


BodyDep = Annotated[bytes, Depends(read_body)]


def get_event_sink(request: Request) -> EventSink:
    """Return the pipeline the app delivers to; 503 if this app was built without one."""
    sink: EventSink | None = getattr(request.app.state, "event_sink", None)
    if sink is None:
        raise HTTPException(503, detail="This server does not take events; nothing was stored.")
    return sink


SinkDep = Annotated[EventSink, Depends(get_event_sink)]


# --- the route ----------------------------------------------------------------------------


class QuarantinedLineOut(BaseModel):
    """A line the pipeline could not take: it is held in the quarantine with the reason."""

    line: int = Field(description="Its line number in the (decompressed) body, from 1.")
    reason: str


class IngestOut(BaseModel):
    """What became of the batch; it is committed when this answer is sent."""

    sensor: str
    batch_key: str = Field(
        description="The Idempotency-Key sent, else sha256:<hex of the decompressed body>."
    )
    skipped_batch: bool = Field(
        description="True when this batch was stored before (a resend): nothing was done."
    )
    records: int = Field(description="Non-empty lines received.")
    events_stored: int
    events_duplicate: int = Field(description="Already stored (same fingerprint).")
    events_unattributed: int = Field(description="Touched no member: counted, not stored.")
    events_suppressed: int
    events_unmatched_protocol: int = Field(description="Protocol records matching no indicator.")
    sensor_stats: int = Field(description="EVE stats records taken as the sensor's health.")
    quarantined: int = Field(description="Lines held in the quarantine, see quarantine.")
    alerts_touched: int
    quarantine: list[QuarantinedLineOut] = Field(
        description=f"The quarantined lines of this batch and why (the first {QUARANTINE_SHOWN})."
    )


def _batch_key(key: str | None, data: bytes) -> str:
    if key is None:
        return "sha256:" + hashlib.sha256(data).hexdigest()
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise ValidationFailed.one(
            "request",
            "header.Idempotency-Key",
            f"must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters (e.g. a UUID)",
        )
    return key


def _decoded(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise HTTPException(
            415,
            detail=f"Content-Encoding {encoding!r} is not taken; send gzip or no encoding.",
        )
    try:
        return gunzip_bounded(body, limit)
    except BodyTooLarge as exc:
        raise _too_large(str(exc), limit) from exc
    except ValueError as exc:
        raise ValidationFailed.one("request", "body", str(exc)) from exc


def _is_json_seq(content_type: str | None) -> bool:
    media = (content_type or "").partition(";")[0].strip().lower()
    if media and media not in MEDIA_TYPES:
        raise HTTPException(
            415,
            detail=(
                f"Content-Type {media!r} is not taken; send EVE lines as "
                "application/x-ndjson (or application/json-seq, text/plain)."
            ),
        )
    return media == "application/json-seq"


@router.post(
    "/ingest/eve",
    response_model=IngestOut,
    summary="Deliver Suricata EVE lines (sensor token)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "EVE JSON, one record per line; gzip with Content-Encoding: gzip.",
            "content": {media: {} for media in MEDIA_TYPES},
        }
    },
    responses={
        413: {"description": "The body is over ingest_max_bytes, as sent or decompressed."},
        415: {"description": "A Content-Type or Content-Encoding not taken."},
        429: {"description": "The sensor is over its rate: send again after Retry-After."},
        503: {"description": "The database is unavailable: nothing stored, send it again."},
    },
)
def ingest_eve(
    sensor: LimitedSensorDep,
    body: BodyDep,
    sink: SinkDep,
    platform: PlatformDep,
    content_type: Annotated[str | None, Header()] = None,
    content_encoding: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Names the batch: a batch sent again under the same key is not stored "
            "again. Default: the SHA-256 of the decompressed body."
        ),
    ] = None,
) -> IngestOut:
    """Store the lines as one batch and answer what became of them, once committed. Lines
    that cannot be read are quarantined (named in the answer); the others are stored."""
    json_seq = _is_json_seq(content_type)
    data = _decoded(body, content_encoding, platform.settings.ingest_max_bytes)
    batch_key = _batch_key(idempotency_key, data)
    records = split_records(data, json_seq=json_seq)
    # One source per batch, so that the quarantine names the request a bad line came in.
    source = f"http:{sensor.name}/{batch_key}"
    result = IngestResult()
    if records:
        batch = RawBatch(
            source=source,
            feed=Feed.EVE,
            records=records,
            sensor=sensor.name,
            batch_key=batch_key,
        )
        try:
            result = sink.ingest(batch)
        except OperationalError as exc:
            raise HTTPException(
                503,
                detail="The database is unavailable; nothing was stored. Send the batch again.",
                headers={"Retry-After": "5"},
            ) from exc
    quarantine: list[QuarantinedLineOut] = []
    if result.quarantined:
        with platform.session() as session:
            held, _ = list_quarantined(
                session, SYSTEM, query=QuarantineQuery(source=source), limit=QUARANTINE_SHOWN
            )
        quarantine = [QuarantinedLineOut(line=q["position"], reason=q["reason"]) for q in held]
    return IngestOut(
        sensor=sensor.name,
        batch_key=batch_key,
        skipped_batch=result.skipped_batch,
        records=len(records),
        events_stored=result.events_stored,
        events_duplicate=result.events_duplicate,
        events_unattributed=result.events_unattributed,
        events_suppressed=result.events_suppressed,
        events_unmatched_protocol=result.events_unmatched_protocol,
        sensor_stats=result.sensor_stats,
        quarantined=result.quarantined,
        alerts_touched=result.alerts_touched,
        quarantine=quarantine,
    )
