"""A TAXII 2.1 server (read-only) serving the indicators shared with the caller as STIX 2.1.

Discovery at `/taxii2/`, one API root at `/taxii2/api/`, and collections per audience
(`intel.sharing`): `public` (TLP:CLEAR, readable without a token), `members` (CLEAR and
GREEN, every member) and one per member holding the AMBER and AMBER+STRICT indicators named
to it. A caller lists and reads only the collections it may read; another member's collection
answers 404 as one that does not exist, and without credentials every collection but the
public one answers 401 (before looking, so that ids tell nothing).

Credentials are the API's tokens: `Authorization: Bearer <token>`, or HTTP Basic with the
token as password (any user name), which TAXII clients such as taxii2-client send.

Objects are ordered by the date they were added to the collection (an indicator's last change,
or when its member was named, if later) and id; `next` is an opaque cursor after the last
object of a page. Every collection also holds the CERT's identity and the TLP marking
definitions its indicators use, added before any indicator.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from vardeild.access.model import Principal
from vardeild.access.service import authenticate
from vardeild.core.tlp import Tlp
from vardeild.intel.sharing import (
    Audience,
    SharedIndicator,
    SharedQuery,
    iter_shared,
    list_shared,
    may_read,
)
from vardeild.intel.stix_out import (
    MEDIA_TYPE,
    NAMESPACE,
    TLP_MARKING_CREATED,
    identity,
    indicator_id,
    indicator_object,
    marking_definition,
)
from vardeild.members.service import get_organisation_or_raise, list_organisations
from vardeild.web.deps import PlatformDep, SessionDep
from vardeild.web.routes.taxii_query import (
    TaxiiError,
    TaxiiParams,
    encode_cursor,
    taxii_params,
    taxii_time,
)

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
API_ROOT = "/taxii2/api"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
# Identity and markings are "added" before any indicator, so they lead the first page.
_STATIC_ADDED = datetime.fromisoformat(TLP_MARKING_CREATED.replace("Z", "+00:00"))

router = APIRouter(prefix="/taxii2", tags=["taxii"])

CollectionId = Annotated[str, Path(max_length=64, description="A collection's id.")]
ObjectId = Annotated[str, Path(max_length=200, description="A STIX object's id.")]


def _answer(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers, media_type=TAXII_MEDIA_TYPE)


def _error(exc: TaxiiError) -> JSONResponse:
    headers = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="vardeild", Bearer realm="vardeild"'}
    body = {"title": exc.title, "http_status": str(exc.status)}
    if exc.description:
        body["description"] = exc.description
    return JSONResponse(body, status_code=exc.status, headers=headers, media_type=TAXII_MEDIA_TYPE)


def _check_accept(request: Request) -> None:
    """Raise 406 unless the client accepts TAXII 2.1 JSON (or anything)."""
    accept = request.headers.get("accept", "*/*").lower().replace(" ", "")
    if not accept or "*/*" in accept or "application/*" in accept:
        return
    for part in accept.split(","):
        if part.startswith("application/taxii+json") and (
            "version=" not in part or "version=2.1" in part
        ):
            return
        if part.startswith("application/json"):
            return
    raise TaxiiError(406, "Not acceptable", f"this server answers {TAXII_MEDIA_TYPE}")


def _principal(request: Request, session: Session, platform: PlatformDep) -> Principal | None:
    """Return who the request's Bearer or Basic credentials stand for, None without any;
    raise 401 for credentials that are unknown, expired or revoked."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    secret = ""
    if scheme.lower() == "bearer":
        secret = value.strip()
    elif scheme.lower() == "basic":
        try:
            secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            secret = ""
    principal = authenticate(session, secret, clock=platform.clock) if secret else None
    if principal is None:
        raise TaxiiError(401, "Unauthorized", "the credentials are unknown, expired or revoked")
    return principal


# --- collections --------------------------------------------------------------------------


def collection_id(audience: Audience) -> str:
    """Return the id of an audience's collection: the same on every request."""
    return str(uuid.uuid5(NAMESPACE, f"taxii-collection:{audience}"))


_PUBLIC_ID = collection_id(Audience.public())
_MEMBERS_ID = collection_id(Audience.all_members())


@dataclass(frozen=True)
class _Collection:
    audience: Audience
    title: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": collection_id(self.audience),
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": False,
            "media_types": [MEDIA_TYPE],
        }


def _named_collection(organisation: dict[str, Any]) -> _Collection:
    return _Collection(
        Audience.named(int(organisation["id"])),
        f"AMBER for {organisation['name']}",
        "TLP:AMBER and AMBER+STRICT indicators shared with this member only.",
    )


def _collections(session: Session, principal: Principal | None) -> list[_Collection]:
    """Return the collections the caller may read."""
    found = [
        _Collection(Audience.public(), "Public", "TLP:CLEAR indicators, for anyone."),
    ]
    if principal is None:
        return found
    found.append(
        _Collection(
            Audience.all_members(), "Members", "TLP:CLEAR and TLP:GREEN indicators, every member."
        )
    )
    if principal.organisation_id is not None:
        own = get_organisation_or_raise(session, principal, principal.organisation_id)
        found.append(_named_collection(own))
    else:
        organisations, _ = list_organisations(session, principal, limit=1_000_000)
        found += [_named_collection(organisation) for organisation in organisations]
    return [c for c in found if may_read(principal, c.audience)]


def _collection(session: Session, principal: Principal | None, wanted: str) -> _Collection:
    """Return the collection with the id if the caller may read it; 401 without credentials
    for anything but the public one, else 404."""
    if wanted != _PUBLIC_ID and principal is None:
        raise TaxiiError(401, "Unauthorized", "this collection needs credentials")
    for collection in _collections(session, principal):
        if collection_id(collection.audience) == wanted:
            return collection
    raise TaxiiError(404, "Collection not found", f"no collection {wanted} for this caller")


# --- objects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    added: datetime
    key: int  # the indicator's id; negative for the identity and markings
    obj: dict[str, Any]


def _static(audience: Audience, cert_name: str) -> list[_Entry]:
    """Return the identity and the marking definitions the collection's indicators use."""
    objects = [identity(cert_name)] + [
        marking_definition(tlp) for tlp in Tlp if tlp in audience.tlps and tlp is not Tlp.RED
    ]
    return [_Entry(_STATIC_ADDED, n - len(objects), obj) for n, obj in enumerate(objects)]


def _row_ids(
    session: Session,
    principal: Principal | None,
    audience: Audience,
    now: datetime,
    ids: Iterable[str],
) -> list[int]:
    """Return the row ids of the collection's indicators with the STIX ids: a scan of the
    collection, as deterministic ids cannot be turned back into rows."""
    wanted = {i for i in ids if i.startswith("indicator--")}
    if not wanted:
        return []
    return [
        indicator.id
        for indicator in iter_shared(session, principal, audience, now=now)
        if indicator_id(indicator) in wanted
    ]


def _page(
    session: Session,
    principal: Principal | None,
    collection: _Collection,
    params: TaxiiParams,
    *,
    cert_name: str,
    now: datetime,
) -> tuple[list[_Entry], bool]:
    """Return a page of the collection's entries matching params, and whether more follow."""

    def keep(entry: _Entry) -> bool:
        obj = entry.obj
        if params.types is not None and obj["type"] not in params.types:
            return False
        if params.ids is not None and obj["id"] not in params.ids:
            return False
        version = obj.get("modified", obj.get("created"))
        return params.versions is None or version in params.versions

    def later(entry: _Entry) -> bool:
        if params.added_after is not None and not entry.added > params.added_after:
            return False
        return params.after is None or (entry.added, entry.key) > params.after

    need = params.limit + 1
    entries = [e for e in _static(collection.audience, cert_name) if later(e) and keep(e)][:need]
    if len(entries) < need and (params.types is None or "indicator" in params.types):
        row_ids = None
        if params.ids is not None:
            row_ids = _row_ids(session, principal, collection.audience, now, params.ids)
        if row_ids is None or row_ids:
            query = SharedQuery(added_after=params.added_after, after=params.after, ids=row_ids)
            after = params.after
            while len(entries) < need:
                batch = list_shared(
                    session,
                    principal,
                    collection.audience,
                    now=now,
                    query=SharedQuery(added_after=query.added_after, after=after, ids=query.ids),
                    limit=need,
                )
                for indicator in batch:
                    entry = _indicator_entry(indicator, cert_name)
                    if keep(entry):
                        entries.append(entry)
                if len(batch) < need:
                    break
                after = (batch[-1].date_added, batch[-1].id)
    more = len(entries) > params.limit
    return entries[: params.limit], more


def _indicator_entry(indicator: SharedIndicator, cert_name: str) -> _Entry:
    return _Entry(
        indicator.date_added, indicator.id, indicator_object(indicator, cert_name=cert_name)
    )


def _page_headers(entries: list[_Entry]) -> dict[str, str]:
    if not entries:
        return {}
    return {
        "X-TAXII-Date-Added-First": taxii_time(entries[0].added),
        "X-TAXII-Date-Added-Last": taxii_time(entries[-1].added),
    }


def _envelope(entries: list[_Entry], more: bool, key: str, make: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"more": more}
    if more:
        body["next"] = encode_cursor(entries[-1].added, entries[-1].key)
    if entries:
        body[key] = [make(entry) for entry in entries]
    return body


# --- routes -------------------------------------------------------------------------------


@dataclass
class _Call:
    """What every TAXII route starts with: the Accept header checked, the caller known."""

    session: Session
    principal: Principal | None


def _start(request: Request, session: Session, platform: PlatformDep) -> _Call:
    _check_accept(request)
    return _Call(session, _principal(request, session, platform))


@router.get("/", summary="TAXII discovery")
def discovery(request: Request, session: SessionDep, platform: PlatformDep) -> JSONResponse:
    """The TAXII server's discovery resource: its one API root."""
    try:
        _start(request, session, platform)
    except TaxiiError as exc:
        return _error(exc)
    base = str(request.base_url).rstrip("/")
    return _answer(
        {
            "title": f"{platform.settings.cert_name} TAXII",
            "description": "Threat indicators shared by TLP and audience.",
            "default": f"{base}{API_ROOT}/",
            "api_roots": [f"{base}{API_ROOT}/"],
        }
    )


@router.get("/api/", summary="TAXII API root")
def api_root(request: Request, session: SessionDep, platform: PlatformDep) -> JSONResponse:
    """The API root's information."""
    try:
        _start(request, session, platform)
    except TaxiiError as exc:
        return _error(exc)
    return _answer(
        {
            "title": f"{platform.settings.cert_name} indicators",
            "description": "Collections per audience: public, members, and one per member.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        }
    )


@router.get("/api/collections/", summary="TAXII collections")
def collections(request: Request, session: SessionDep, platform: PlatformDep) -> JSONResponse:
    """The collections the caller may read."""
    try:
        call = _start(request, session, platform)
        found = _collections(session, call.principal)
    except TaxiiError as exc:
        return _error(exc)
    return _answer({"collections": [c.to_dict() for c in found]})


@router.get("/api/collections/{collection_id}/", summary="TAXII collection")
def collection(
    collection_id: CollectionId, request: Request, session: SessionDep, platform: PlatformDep
) -> JSONResponse:
    """One collection the caller may read."""
    try:
        call = _start(request, session, platform)
        found = _collection(session, call.principal, collection_id)
    except TaxiiError as exc:
        return _error(exc)
    return _answer(found.to_dict())


def _found_entries(
    request: Request,
    session: Session,
    platform: PlatformDep,
    collection_id: str,
    object_id: str | None,
) -> tuple[list[_Entry], bool]:
    """Return the page of the caller's collection that the request asks for, and whether more
    follow; TaxiiError for a caller or collection refused, bad parameters, or an object_id the
    collection does not hold."""
    call = _start(request, session, platform)
    found = _collection(session, call.principal, collection_id)
    params = taxii_params(
        request, page_size_max=platform.settings.page_size_max, object_id=object_id
    )
    entries, more = _page(
        session,
        call.principal,
        found,
        params,
        cert_name=platform.settings.cert_name,
        now=platform.clock.now(),
    )
    if object_id is not None and not entries:
        raise TaxiiError(404, "Object not found", f"no object {object_id} in the collection")
    return entries, more


def _objects(
    request: Request,
    session: Session,
    platform: PlatformDep,
    collection_id: str,
    *,
    object_id: str | None = None,
    manifest: bool = False,
) -> JSONResponse:
    try:
        entries, more = _found_entries(request, session, platform, collection_id, object_id)
    except TaxiiError as exc:
        return _error(exc)
    if manifest:
        body = _envelope(
            entries,
            more,
            "objects",
            lambda e: {
                "id": e.obj["id"],
                "date_added": taxii_time(e.added),
                "version": e.obj.get("modified", e.obj["created"]),
                "media_type": MEDIA_TYPE,
            },
        )
    else:
        body = _envelope(entries, more, "objects", lambda e: e.obj)
    return _answer(body, headers=_page_headers(entries))


@router.get("/api/collections/{collection_id}/objects/", summary="TAXII objects")
def objects(
    collection_id: CollectionId, request: Request, session: SessionDep, platform: PlatformDep
) -> JSONResponse:
    """A page of the collection's objects: `added_after`, `limit`, `next`, `match[id]`,
    `match[type]`, `match[version]` and `match[spec_version]` as TAXII 2.1 defines them."""
    return _objects(request, session, platform, collection_id)


@router.get("/api/collections/{collection_id}/manifest/", summary="TAXII manifest")
def manifest(
    collection_id: CollectionId, request: Request, session: SessionDep, platform: PlatformDep
) -> JSONResponse:
    """A page of the collection's manifest: each object's id, date added and version."""
    return _objects(request, session, platform, collection_id, manifest=True)


@router.get("/api/collections/{collection_id}/objects/{object_id}/", summary="TAXII object")
def one_object(
    collection_id: CollectionId,
    object_id: ObjectId,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
) -> JSONResponse:
    """One object of the collection, in an envelope."""
    return _objects(request, session, platform, collection_id, object_id=object_id)


@router.get(
    "/api/collections/{collection_id}/objects/{object_id}/versions/",
    summary="TAXII object versions",
)
def versions(
    collection_id: CollectionId,
    object_id: ObjectId,
    request: Request,
    session: SessionDep,
    platform: PlatformDep,
) -> JSONResponse:
    """The versions of one object the collection holds (the server keeps the latest only)."""
    try:
        entries, _ = _found_entries(request, session, platform, collection_id, object_id)
    except TaxiiError as exc:
        return _error(exc)
    version = entries[0].obj.get("modified", entries[0].obj["created"])
    return _answer({"more": False, "versions": [version]}, headers=_page_headers(entries))
