"""OpenID Connect sign-in, the protocol side: the configuration, the provider's discovery
document and keys (fetched through oidc_http, bounded, cached), the authorization-code flow
with PKCE (S256), state and nonce, and the ID token's checks (signature by the provider's JWKS;
iss, aud, azp, exp, iat, nonce, at_hash). Authlib's CodeIDToken checks the claims, joserfc the
signature. Linking an identity to a local user is in oidc_links.

The state, the nonce and the PKCE verifier of a sign-in in progress travel in a short-lived
cookie sealed with AES-GCM under a key derived from the portal's key (seal_pending): the
browser cannot read or change them, and nothing is stored before anyone has signed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet, import_key

from vardeild.access.model import Role
from vardeild.accounts.oidc_http import HttpLimits, OidcHttpError, check_url, request_json

# Asymmetric signatures only: "none" is never accepted, and HS256 (keyed by the client secret)
# would let anyone who holds the secret mint tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
PENDING_SECONDS = 600  # from the redirect to the provider to the callback
DISCOVERY_SECONDS = 3600  # how long a fetched discovery document or key set is used
KEYS_REFRESH_SECONDS = 60  # an unknown key id refetches the key set, at most this often
ID_TOKEN_MAX_AGE = 600  # an ID token issued longer ago than this is not accepted
LEEWAY_SECONDS = 60  # clock skew between us and the provider


class OidcError(Exception):
    """A sign-in through the provider that failed a check; reason is a short word for the
    page and the log (discovery, state, provider, token, signature, id_token, userinfo), the
    message says what exactly."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleGrant:
    """A value of the role claim and the role (and organisation) a user made with it gets."""

    value: str
    role: Role
    organisation_id: int | None


def parse_role_map(text: str) -> tuple[RoleGrant, ...]:
    """Return the grants of `value=role` / `value=role@organisation_id` entries separated by
    `;`; ValueError for a malformed entry, an unknown role, a member role without an
    organisation or a CERT role with one."""
    grants: list[RoleGrant] = []
    for entry in (part.strip() for part in text.split(";")):
        if not entry:
            continue
        value, eq, target = entry.rpartition("=")
        if not eq or not value.strip():
            raise ValueError(f"oidc_role_map: {entry!r} is not value=role")
        role_name, at, organisation = target.strip().partition("@")
        try:
            role = Role(role_name.strip())
        except ValueError:
            raise ValueError(f"oidc_role_map: {role_name!r} is not a role") from None
        organisation_id = int(organisation) if at and organisation.strip().isdigit() else None
        if at and organisation_id is None:
            raise ValueError(f"oidc_role_map: {organisation!r} is not an organisation id")
        if role.is_cert and organisation_id is not None:
            raise ValueError(f"oidc_role_map: {role.value} has no organisation")
        if not role.is_cert and organisation_id is None:
            raise ValueError(f"oidc_role_map: {role.value} needs @organisation_id")
        grants.append(RoleGrant(value.strip(), role, organisation_id))
    return tuple(grants)


@dataclass(frozen=True)
class OidcConfig:
    """What OIDC sign-in needs from the settings."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    email_claim: str = "email"
    link_by_email: bool = True
    allowed_email_domains: tuple[str, ...] = ()
    role_claim: str = ""
    role_map: tuple[RoleGrant, ...] = ()
    requires_local_totp: bool = False
    limits: HttpLimits = field(default_factory=HttpLimits)
    leeway: int = LEEWAY_SECONDS

    def email_domain_allowed(self, email: str) -> bool:
        """Return True if email's domain may be linked or created (any, when none listed)."""
        if not self.allowed_email_domains:
            return True
        domain = email.rpartition("@")[2].lower()
        return domain in self.allowed_email_domains


# --- discovery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the provider's discovery document the code flow uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]


def _text(document: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise OidcError("discovery", f"the discovery document has no {name}")
    try:
        check_url(value)
    except OidcHttpError as exc:
        raise OidcError("discovery", f"{name}: {exc}") from None
    return value


def parse_discovery(document: Mapping[str, Any], *, issuer: str) -> ProviderMetadata:
    """Return the provider's metadata; OidcError when the document names another issuer
    (OpenID Connect Discovery 1.0 section 4.3), lacks an endpoint, or cannot do the code flow
    with S256 PKCE."""
    if document.get("issuer") != issuer:
        raise OidcError(
            "discovery", f"the discovery document names the issuer {document.get('issuer')!r}"
        )
    for name, wanted in (("response_types_supported", "code"),
                         ("code_challenge_methods_supported", "S256")):  # fmt: skip
        offered = document.get(name)
        if offered is not None and (not isinstance(offered, list) or wanted not in offered):
            raise OidcError("discovery", f"the provider does not offer {wanted} ({name})")
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=str(_text(document, "authorization_endpoint")),
        token_endpoint=str(_text(document, "token_endpoint")),
        jwks_uri=str(_text(document, "jwks_uri")),
        userinfo_endpoint=_text(document, "userinfo_endpoint", required=False),
        token_auth_methods=tuple(str(m) for m in methods if isinstance(m, str)),
    )


def discovery_url(issuer: str) -> str:
    """Return the address of the issuer's discovery document."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


# --- the sign-in in progress ----------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """What the callback must match: the state sent, the nonce the ID token must carry, the
    PKCE verifier, and when the sign-in started (epoch seconds)."""

    state: str
    nonce: str
    verifier: str
    issued_at: int


def new_pending(now: int) -> Pending:
    """Return fresh random state, nonce and PKCE verifier (RFC 7636: 43 to 128 characters)."""
    return Pending(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(48),
        issued_at=now,
    )


def pending_key(portal_key: bytes) -> bytes:
    """Return the 256-bit key that seals pending sign-ins, derived from the portal's key."""
    return hmac.new(portal_key, b"vardeild oidc pending v1", hashlib.sha256).digest()


def seal_pending(pending: Pending, key: bytes) -> str:
    """Return pending encrypted and authenticated (AES-256-GCM) under key, for a cookie."""
    plain = json.dumps([pending.state, pending.nonce, pending.verifier, pending.issued_at])
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plain.encode(), b"oidc-pending")
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_pending(sealed: str, key: bytes, *, now: int) -> Pending | None:
    """Return the pending sign-in seal_pending sealed, or None if it does not open under key,
    is malformed, or is older than PENDING_SECONDS."""
    if not sealed or len(sealed) > 1000:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], b"oidc-pending")
        state, nonce, verifier, issued_at = json.loads(plain)
    except (InvalidTag, ValueError, TypeError, UnicodeError):
        return None
    if not all(isinstance(v, str) for v in (state, nonce, verifier)):
        return None
    if not isinstance(issued_at, int) or not 0 <= now - issued_at <= PENDING_SECONDS:
        return None
    return Pending(state=state, nonce=nonce, verifier=verifier, issued_at=issued_at)


def authorization_url(metadata: ProviderMetadata, config: OidcConfig, pending: Pending) -> str:
    """Return the address the browser is sent to: the code flow with state, nonce and S256."""
    scopes = list(dict.fromkeys(("openid", *config.scopes)))
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": config.redirect_uri,
            "scope": " ".join(scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in metadata.authorization_endpoint else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


# --- the ID token ---------------------------------------------------------------------------


def validate_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int,
    leeway: int = LEEWAY_SECONDS,
    access_token: str | None = None,
) -> dict[str, Any]:
    """Return the claims of id_token after checking its signature against keys (asymmetric
    algorithms only) and its claims: iss, aud (and azp), sub, exp, iat (not in the future, not
    older than ID_TOKEN_MAX_AGE), nonce, and at_hash when present; OidcError otherwise."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise OidcError("signature", f"the ID token's signature does not hold: {exc}") from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        },
        params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=now, leeway=leeway)
    except JoseError as exc:
        raise OidcError("id_token", f"the ID token is not valid: {exc}") from None
    iat = claims["iat"]
    if now - iat > ID_TOKEN_MAX_AGE + leeway:
        raise OidcError("id_token", "the ID token was issued too long ago")
    return dict(claims)


# --- the identity ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says signed in, after every check."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str
    groups: tuple[str, ...]


def identity_from_claims(claims: Mapping[str, Any], config: OidcConfig) -> VerifiedIdentity:
    """Return the identity the claims describe (the e-mail from config.email_claim; groups
    from config.role_claim, a list or one string); OidcError for an unusable subject."""
    email = claims.get(config.email_claim)
    verified = claims.get("email_verified")
    groups = claims.get(config.role_claim) if config.role_claim else None
    if isinstance(groups, str):
        groups = [groups]
    name = claims.get("name")
    subject = claims["sub"]
    # OpenID Connect Core 2: at most 255 ASCII characters, as the column holds.
    if not isinstance(subject, str) or not 0 < len(subject) <= 255:
        raise OidcError("id_token", "the subject is not 1 to 255 characters")
    if isinstance(email, str):
        email = email.strip().lower()
    return VerifiedIdentity(
        issuer=config.issuer,
        subject=subject,
        email=email if isinstance(email, str) and 3 <= len(email) <= 254 else None,
        # Some providers send the flag as a string.
        email_verified=verified is True or verified == "true",
        name=name.strip()[:200] if isinstance(name, str) else "",
        groups=tuple(g for g in groups or () if isinstance(g, str)),
    )


# --- the client -----------------------------------------------------------------------------


def _signing_keys(keys: object) -> Iterator[Key]:
    """Yield the signing keys of a JWKS's keys that read; one of a type we do not know (or an
    encryption key) is left out rather than failing the whole set."""
    for data in keys if isinstance(keys, list) else ():
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        try:
            yield import_key(data)
        except (JoseError, ValueError, TypeError):
            continue


Requester = Callable[..., dict[str, Any]]


class OidcClient:
    """The relying party of one provider: the discovery document and key set cached for
    DISCOVERY_SECONDS (a key id it does not know refetches the set, at most once every
    KEYS_REFRESH_SECONDS), the redirect to the provider, and the callback's checks."""

    def __init__(self, config: OidcConfig, *, request: Requester = request_json) -> None:
        self.config = config
        self._request = request
        self._lock = threading.Lock()
        self._metadata: tuple[float, ProviderMetadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    def _get(self, url: str, **more: Any) -> dict[str, Any]:
        return self._request("GET", url, limits=self.config.limits, **more)

    def metadata(self) -> ProviderMetadata:
        """Return the provider's metadata; OidcError if it cannot be fetched or is unfit."""
        with self._lock:
            held = self._metadata
        if held is not None and time.monotonic() - held[0] < DISCOVERY_SECONDS:
            return held[1]
        try:
            document = self._get(discovery_url(self.config.issuer))
        except OidcHttpError as exc:
            raise OidcError("discovery", str(exc)) from None
        metadata = parse_discovery(document, issuer=self.config.issuer)
        with self._lock:
            self._metadata = (time.monotonic(), metadata)
        return metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        """Return the provider's signing keys (refetched when refresh and not just fetched)."""
        with self._lock:
            held = self._keys
        fresh_for = KEYS_REFRESH_SECONDS if refresh else DISCOVERY_SECONDS
        if held is not None and time.monotonic() - held[0] < fresh_for:
            return held[1]
        try:
            document = self._get(self.metadata().jwks_uri)
        except OidcHttpError as exc:
            raise OidcError("discovery", f"the provider's keys: {exc}") from None
        keys = KeySet(list(_signing_keys(document.get("keys"))))
        with self._lock:
            self._keys = (time.monotonic(), keys)
        return keys

    def begin(self, *, now: int) -> tuple[str, Pending]:
        """Return the provider's authorization address and the pending sign-in to keep."""
        pending = new_pending(now)
        return authorization_url(self.metadata(), self.config, pending), pending

    def finish(self, pending: Pending, *, state: str, code: str, now: int) -> VerifiedIdentity:
        """Return the identity after the callback's checks: state matches, the code is
        exchanged with the PKCE verifier, the ID token holds (its nonce the pending one), and
        the userinfo (when the ID token lacks the e-mail) is for the same subject."""
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise OidcError("state", "the state does not match the sign-in started here")
        if not code or len(code) > 2000:
            raise OidcError("provider", "the provider sent no code")
        metadata = self.metadata()
        answer = self._exchange(metadata, pending, code)
        id_token = answer.get("id_token")
        access_token = answer.get("access_token")
        if not isinstance(id_token, str):
            raise OidcError("token", "the provider's token answer has no ID token")
        access = access_token if isinstance(access_token, str) else None
        claims = self._validated(id_token, pending, now=now, access_token=access)
        wanted = (self.config.email_claim, "email_verified")
        if any(k not in claims for k in wanted) and metadata.userinfo_endpoint and access:
            info = self._userinfo(metadata.userinfo_endpoint, access, claims)
            # The address and its verified flag both from the userinfo, so that the flag is
            # about that address.
            claims = {**claims, **{k: info.get(k) for k in wanted}}
        return identity_from_claims(claims, self.config)

    def _exchange(self, metadata: ProviderMetadata, pending: Pending, code: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": pending.verifier,
        }
        auth: dict[str, Any] = {}
        if "client_secret_basic" in metadata.token_auth_methods:
            auth["basic"] = (self.config.client_id, self.config.client_secret)
        else:
            form |= {"client_id": self.config.client_id,
                     "client_secret": self.config.client_secret}  # fmt: skip
        try:
            return self._request(
                "POST", metadata.token_endpoint, limits=self.config.limits, form=form, **auth
            )
        except OidcHttpError as exc:
            raise OidcError("token", f"the provider refused the code: {exc}") from None

    def _validated(
        self, id_token: str, pending: Pending, *, now: int, access_token: str | None
    ) -> dict[str, Any]:
        def check(keys: KeySet) -> dict[str, Any]:
            return validate_id_token(
                id_token, keys, issuer=self.config.issuer, client_id=self.config.client_id,
                nonce=pending.nonce, now=now, leeway=self.config.leeway, access_token=access_token,
            )  # fmt: skip

        try:
            return check(self.keys())
        except OidcError as first:
            # The provider may have rotated its keys since the set was fetched.
            if first.reason != "signature":
                raise
        return check(self.keys(refresh=True))

    def _userinfo(self, url: str, access_token: str, claims: Mapping[str, Any]) -> dict[str, Any]:
        try:
            info = self._get(url, bearer=access_token)
        except OidcHttpError as exc:
            raise OidcError("userinfo", f"the provider's userinfo: {exc}") from None
        # OpenID Connect Core 5.3.2: the userinfo's sub must be the ID token's, or it is not
        # about the person who signed in.
        if info.get("sub") != claims["sub"]:
            raise OidcError("userinfo", "the userinfo is about another subject")
        return info
