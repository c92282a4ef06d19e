"""The CERT's OpenPGP key in public: the Web Key Directory (direct and advanced method),
/pgp-key.asc and a clear-signed /.well-known/security.txt, none needing a token; and, for CERT
staff, the keys about to expire.

Exports and signatures are cached on the platform until the key ring changes (its file's
modification time) or, for security.txt, the day turns: scanners fetch these often, and each
gpg run costs a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vardeild.core.errors import NotFound, PermissionDenied
from vardeild.mail.cert_key import CertKey, CertKeyInfo, CertKeyMissing
from vardeild.mail.expiring import expiring_dict, list_expiring_keys
from vardeild.mail.publish import security_txt, security_txt_expires, wkd_hash
from vardeild.platform import Platform
from vardeild.web.deps import PlatformDep, PrincipalDep, SessionDep

public_router = APIRouter(tags=["openpgp"])
router = APIRouter(prefix="/pgp", tags=["openpgp"])

_WKD = "/.well-known/openpgpkey"
# The draft asks WKD servers to let web mail clients fetch keys from other origins.
_CORS = {"Access-Control-Allow-Origin": "*"}
_CACHE = {"Cache-Control": "public, max-age=3600"}


@dataclass(frozen=True)
class _Published:
    info: CertKeyInfo
    binary: bytes
    armoured: bytes
    hashes: frozenset[str]  # WKD names of the key's addresses
    domains: frozenset[str]


def _cert_key(platform: Platform) -> CertKey:
    return CertKey.from_settings(platform.settings)


def _revision(platform: Platform) -> tuple[Any, ...]:
    settings = platform.settings
    home = settings.effective_pgp_home
    try:
        stamp = (home / "pubring.kbx").stat().st_mtime_ns
    except OSError:
        stamp = None
    return (str(home), settings.pgp_key_fingerprint, stamp)


def _published(platform: Platform) -> _Published:
    """Return the CERT key as published; raises NotFound while the CERT has none."""

    def build() -> _Published | None:
        key = _cert_key(platform)
        try:
            info = key.info()
        except CertKeyMissing:
            return None
        return _Published(
            info=info,
            binary=key.export_public(armor=False),
            armoured=key.export_public(armor=True),
            hashes=frozenset(wkd_hash(email.rpartition("@")[0]) for email in info.emails),
            domains=frozenset(email.rpartition("@")[2] for email in info.emails),
        )

    published: _Published | None = platform.cached("pgp-published", _revision(platform), build)
    if published is None:
        raise NotFound("the CERT has not published an OpenPGP key yet")
    return published


def published_key_info(platform: Platform) -> CertKeyInfo | None:
    """Return what the CERT's published key is (for the public key page), or None while the
    CERT has none."""
    try:
        return _published(platform).info
    except NotFound:
        return None


def _wkd_key(platform: Platform, hashed: str, domain: str | None) -> Response:
    published = _published(platform)
    if hashed.lower() not in published.hashes or (
        domain is not None and domain.lower() not in published.domains
    ):
        raise NotFound("no key is published for this address")
    return Response(
        published.binary, media_type="application/octet-stream", headers={**_CORS, **_CACHE}
    )


def _wkd_policy(platform: Platform, domain: str | None) -> Response:
    published = _published(platform)
    if domain is not None and domain.lower() not in published.domains:
        raise NotFound("no key is published for this domain")
    # An empty policy file says: keys here, no submission protocol.
    return Response(b"", media_type="text/plain", headers={**_CORS, **_CACHE})


@public_router.get(f"{_WKD}/hu/{{hashed}}", summary="Web Key Directory (direct method)")
def wkd_direct(platform: PlatformDep, hashed: str) -> Response:
    """The CERT's public key (binary) for one of its addresses, named by the z-base-32 SHA-1
    of the address's local part; 404 for any other name."""
    return _wkd_key(platform, hashed, None)


@public_router.get(f"{_WKD}/policy", summary="Web Key Directory policy (direct method)")
def wkd_direct_policy(platform: PlatformDep) -> Response:
    """An empty policy file: this site serves the CERT's key by WKD."""
    return _wkd_policy(platform, None)


@public_router.get(
    f"{_WKD}/{{domain}}/hu/{{hashed}}", summary="Web Key Directory (advanced method)"
)
def wkd_advanced(platform: PlatformDep, domain: str, hashed: str) -> Response:
    """As the direct method, for a site serving as openpgpkey.<domain>."""
    return _wkd_key(platform, hashed, domain)


@public_router.get(f"{_WKD}/{{domain}}/policy", summary="Web Key Directory policy (advanced)")
def wkd_advanced_policy(platform: PlatformDep, domain: str) -> Response:
    """An empty policy file for the CERT's domain."""
    return _wkd_policy(platform, domain)


@public_router.get("/pgp-key.asc", summary="The CERT's OpenPGP key")
def pgp_key(platform: PlatformDep) -> Response:
    """The CERT's public key, ASCII-armoured."""
    published = _published(platform)
    return Response(
        published.armoured,
        media_type="application/pgp-keys",
        headers={
            **_CACHE,
            "Content-Disposition": f'inline; filename="{published.info.fingerprint}.asc"',
        },
    )


@public_router.get("/.well-known/security.txt", summary="security.txt (RFC 9116)")
def security_txt_file(platform: PlatformDep, request: Request) -> Response:
    """Whom to tell about a vulnerability and how, clear-signed by the CERT key."""
    published = _published(platform)
    settings = platform.settings
    now = platform.clock.now()
    base_url = settings.pgp_public_url or str(request.base_url)
    # Policy: the configured disclosure policy, else the CERT's RFC 2350 description, which
    # says how reports are handled and shared.
    policy_url = settings.pgp_security_policy_url or f"{base_url.rstrip('/')}/rfc2350"
    expires = security_txt_expires(
        now, days=settings.pgp_security_txt_days, key_expires_at=published.info.expires_at
    )
    if expires <= now:
        raise NotFound(
            "security.txt: the CERT key has expired; rotate it (docs/openpgp.md) so that "
            "security.txt can be signed again"
        )

    def build() -> str:
        text = security_txt(
            cert_name=settings.cert_name,
            contacts=published.info.emails,
            expires=expires,
            base_url=base_url,
            fingerprint=published.info.fingerprint,
            policy_url=policy_url,
        )
        return _cert_key(platform).clearsign(text)

    revision = (
        _revision(platform),
        expires,
        base_url,
        settings.cert_name,
        policy_url,
    )
    signed: str = platform.cached("security.txt", revision, build)
    return Response(signed.encode("utf-8"), media_type="text/plain; charset=utf-8", headers=_CACHE)


class ExpiringKeyOut(BaseModel):
    """A key that stops being usable for encryption within the horizon, or has."""

    owner: str = Field(description="The contact's e-mail address, or CERT for the CERT's key.")
    name: str
    fingerprint: str
    expires_at: datetime | None
    expired: bool
    days_left: int = Field(description="Whole days left; negative once expired.")
    organisation_id: int | None
    organisation: str


class ExpiringKeysOut(BaseModel):
    """Keys expiring within `days`, soonest first."""

    days: int
    items: list[ExpiringKeyOut]


@router.get("/expiring", response_model=ExpiringKeysOut, summary="Keys about to expire")
def expiring_keys(
    session: SessionDep,
    principal: PrincipalDep,
    platform: PlatformDep,
    days: Annotated[
        int | None,
        Query(ge=1, le=365, description="Horizon in days (default: pgp_expiry_warning_days)."),
    ] = None,
) -> dict[str, Any]:
    """Contacts' keys and the CERT's own that expire within the horizon or have expired
    (CERT staff only)."""
    if not principal.is_cert:
        raise PermissionDenied("only CERT staff see which keys are about to expire")
    horizon = days or platform.settings.pgp_expiry_warning_days
    try:
        cert_info: CertKeyInfo | None = _published(platform).info
    except NotFound:
        cert_info = None
    items = list_expiring_keys(session, cert_key=cert_info, now=platform.clock.now(), days=horizon)
    return {"days": horizon, "items": [expiring_dict(item) for item in items]}
