"""The OpenID Connect checks with keys made here: the ID token (signature, iss, aud, azp, exp,
iat, nonce, at_hash), the discovery document, the sealed pending sign-in, the role map, and the
client's callback checks against an in-memory provider (no network)."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from vardeild.access.model import Role
from vardeild.accounts.oidc import (
    ID_TOKEN_MAX_AGE,
    OidcClient,
    OidcConfig,
    OidcError,
    Pending,
    RoleGrant,
    authorization_url,
    identity_from_claims,
    new_pending,
    open_pending,
    parse_discovery,
    parse_role_map,
    pending_key,
    seal_pending,
    validate_id_token,
)
from vardeild.accounts.oidc_http import HttpLimits, OidcHttpError, check_url, request_json

ISSUER = "https://idp.sector.example"
CLIENT = "vardeild"
NONCE = "the-nonce"
NOW = 1_800_000_000


def _key(kid: str = "k1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


KEY = _key()
OTHER = _key("k2")


def _keys(*keys: Any) -> KeySet:
    return KeySet.import_key_set({"keys": [k.as_dict(private=False) for k in keys]})


def _claims(**change: Any) -> dict[str, Any]:
    claims = {
        "iss": ISSUER, "sub": "person-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW - 5,
        "nonce": NONCE, "email": "Anna@Member-A.example", "email_verified": True,
    }  # fmt: skip
    claims.update(change)
    return {k: v for k, v in claims.items() if v is not None}


def _token(key: Any = KEY, alg: str = "RS256", **change: Any) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, _claims(**change), key)


def _validate(token: str, keys: KeySet | None = None, **more: Any) -> dict[str, Any]:
    given: dict[str, Any] = {"issuer": ISSUER, "client_id": CLIENT, "nonce": NONCE, "now": NOW}
    return validate_id_token(token, keys or _keys(KEY), **{**given, **more})


def test_a_good_id_token_gives_its_claims() -> None:
    claims = _validate(_token())
    assert claims["sub"] == "person-1"
    assert claims["nonce"] == NONCE


def test_an_ec_signed_token_holds_too() -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec1"})
    assert _validate(_token(ec, "ES256"), _keys(ec))["sub"] == "person-1"


def test_a_token_signed_by_another_key_is_refused() -> None:
    with pytest.raises(OidcError) as refused:
        _validate(_token(OTHER))
    assert refused.value.reason == "signature"


def test_a_tampered_token_is_refused() -> None:
    header, _payload, signature = _token().split(".")
    forged = base64.urlsafe_b64encode(b'{"sub":"admin"}').rstrip(b"=").decode()
    with pytest.raises(OidcError):
        _validate(f"{header}.{forged}.{signature}")


def test_unsigned_and_symmetric_tokens_are_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(str(_claims()).encode()).rstrip(b"=").decode()
    with pytest.raises(OidcError):
        _validate(f"{header}.{body}.")
    secret = OctKey.import_key(b"k" * 32, {"kid": "k1"})
    hs = jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), secret)
    with pytest.raises(OidcError):
        _validate(hs, KeySet([secret]))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"aud": "someone-else"}, "another audience"),
        ({"aud": ["someone-else", "other"]}, "our client not among the audiences"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp names another party"),
        ({"aud": [CLIENT, "other"]}, "several audiences and no azp"),
        ({"exp": NOW - 3600}, "expired"),
        ({"exp": None}, "no exp"),
        ({"iat": NOW + 3600}, "issued in the future"),
        ({"iat": NOW - ID_TOKEN_MAX_AGE - 3600}, "issued too long ago"),
        ({"iat": None}, "no iat"),
        ({"sub": None}, "no subject"),
        ({"nonce": "another"}, "another nonce"),
        ({"nonce": None}, "no nonce"),
    ],
)
def test_bad_claims_are_refused(change: dict[str, Any], why: str) -> None:
    with pytest.raises(OidcError) as refused:
        _validate(_token(**change))
    assert refused.value.reason == "id_token", why


def test_our_client_among_several_audiences_with_azp_holds() -> None:
    assert _validate(_token(aud=[CLIENT, "other"], azp=CLIENT))["sub"] == "person-1"


def test_at_hash_must_match_the_access_token() -> None:
    digest = hashlib.sha256(b"the-access-token").digest()
    at_hash = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    token = _token(at_hash=at_hash)
    assert _validate(token, access_token="the-access-token")["at_hash"] == at_hash
    with pytest.raises(OidcError):
        _validate(token, access_token="another-access-token")


# --- discovery ------------------------------------------------------------------------------

DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/jwks",
    "userinfo_endpoint": f"{ISSUER}/me",
    "response_types_supported": ["code"],
    "code_challenge_methods_supported": ["S256"],
}


def test_discovery_reads_the_endpoints() -> None:
    metadata = parse_discovery(DOCUMENT, issuer=ISSUER)
    assert metadata.token_endpoint == f"{ISSUER}/token"
    assert metadata.token_auth_methods == ("client_secret_basic",)


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": "https://other.example"},
        {"token_endpoint": "http://idp.sector.example/token"},
        {"jwks_uri": None},
        {"code_challenge_methods_supported": ["plain"]},
        {"response_types_supported": ["id_token"]},
    ],
)
def test_an_unfit_discovery_document_is_refused(change: dict[str, Any]) -> None:
    document = {k: v for k, v in {**DOCUMENT, **change}.items() if v is not None}
    with pytest.raises(OidcError):
        parse_discovery(document, issuer=ISSUER)


def test_http_is_accepted_on_loopback_only() -> None:
    check_url("http://127.0.0.1:9000/token")
    check_url("https://idp.example/token")
    for bad in ("http://idp.example/token", "ftp://idp.example/", "/token"):
        with pytest.raises(OidcHttpError):
            check_url(bad)


def test_loopback_is_not_reached_unless_allowed() -> None:
    with pytest.raises(OidcHttpError, match="oidc_allow_private"):
        request_json("GET", "http://127.0.0.1:9/x", limits=HttpLimits(timeout=1))


# --- the pending sign-in ---------------------------------------------------------------------


def test_a_pending_sign_in_opens_only_under_its_key_and_in_time() -> None:
    key = pending_key(b"p" * 32)
    pending = new_pending(NOW)
    sealed = seal_pending(pending, key)
    assert open_pending(sealed, key, now=NOW + 10) == pending
    assert pending.verifier not in sealed
    assert pending.state not in sealed
    assert open_pending(sealed, pending_key(b"q" * 32), now=NOW) is None
    assert open_pending(sealed, key, now=NOW + 3600) is None
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert open_pending(flipped, key, now=NOW) is None
    assert open_pending("garbage", key, now=NOW) is None


def _config(**change: Any) -> OidcConfig:
    given: dict[str, Any] = {
        "issuer": ISSUER, "client_id": CLIENT, "client_secret": "s",
        "redirect_uri": "https://vardeild.example/signin/oidc/callback",
    }  # fmt: skip
    return OidcConfig(**{**given, **change})


def test_the_authorization_url_carries_state_nonce_and_s256() -> None:
    pending = Pending(state="st", nonce="no", verifier="v" * 50, issued_at=NOW)
    url = authorization_url(parse_discovery(DOCUMENT, issuer=ISSUER), _config(), pending)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 50).digest()).rstrip(b"=")
    assert url.startswith(f"{ISSUER}/auth?response_type=code&")
    for part in ("state=st", "nonce=no", f"code_challenge={challenge.decode()}",
                 "code_challenge_method=S256", "scope=openid+email+profile"):  # fmt: skip
        assert part in url


# --- the role map and the identity ----------------------------------------------------------


def test_the_role_map_reads_cert_and_member_roles() -> None:
    assert parse_role_map(" cert-analysts=cert_analyst ; hf-a=member_user@12;") == (
        RoleGrant("cert-analysts", Role.CERT_ANALYST, None),
        RoleGrant("hf-a", Role.MEMBER_USER, 12),
    )
    assert parse_role_map("") == ()


@pytest.mark.parametrize(
    "text", ["x=boss", "x=cert_admin@3", "x=member_user", "x=member_user@abc", "=cert_admin", "x"]
)
def test_a_bad_role_map_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="oidc_role_map"):
        parse_role_map(text)


def test_the_identity_takes_the_configured_claims() -> None:
    claims = {"sub": "p1", "mail": " Per@X.example ", "email_verified": "true", "grp": "admins"}
    identity = identity_from_claims(claims, _config(email_claim="mail", role_claim="grp"))
    assert identity.email == "per@x.example"
    assert identity.email_verified is True
    assert identity.groups == ("admins",)
    unverified = identity_from_claims({"sub": "p1", "email": "a@b.example"}, _config())
    assert unverified.email_verified is False
    too_long = identity_from_claims({"sub": "p1", "email": "a" * 250 + "@b.example"}, _config())
    assert too_long.email is None
    for subject in ("", "s" * 256, 42):
        with pytest.raises(OidcError):
            identity_from_claims({"sub": subject}, _config())


# --- the client against an in-memory provider -----------------------------------------------


class FakeProvider:
    """Answers the client's requests as a provider would, and records them."""

    def __init__(self, *, signing: RSAKey = KEY, userinfo_sub: str = "person-1") -> None:
        self.signing = signing
        self.published = [signing]
        self.userinfo_sub = userinfo_sub
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.id_claims: dict[str, Any] = {}
        self.published_raw: list[Any] | None = None

    def __call__(self, method: str, url: str, **more: Any) -> dict[str, Any]:
        self.calls.append((method, url, more))
        if url.endswith("/.well-known/openid-configuration"):
            return DOCUMENT
        if url.endswith("/jwks"):
            if self.published_raw is not None:
                return {"keys": self.published_raw}
            return {"keys": [k.as_dict(private=False) for k in self.published]}
        if url.endswith("/token"):
            now = int(time.time())
            claims = _claims(**{"iat": now - 1, "exp": now + 300, **self.id_claims})
            token = jwt.encode({"alg": "RS256", "kid": self.signing.kid}, claims, self.signing)
            return {"id_token": token, "access_token": "at", "token_type": "Bearer"}
        if url.endswith("/me"):
            return {"sub": self.userinfo_sub, "email": "anna@member-a.example",
                    "email_verified": True}  # fmt: skip
        raise AssertionError(url)


def _finish(client: OidcClient, provider: FakeProvider, pending: Pending) -> Any:
    provider.id_claims["nonce"] = pending.nonce  # a provider keeps it with the code
    return client.finish(pending, state=pending.state, code="c", now=int(time.time()))


def test_the_client_exchanges_the_code_with_the_verifier_and_basic_auth() -> None:
    provider = FakeProvider()
    client = OidcClient(_config(), request=provider)
    url, pending = client.begin(now=int(time.time()))
    assert url.startswith(f"{ISSUER}/auth?")
    identity = _finish(client, provider, pending)
    assert identity.subject == "person-1"
    assert identity.email == "anna@member-a.example"
    token_call = next(more for _m, u, more in provider.calls if u.endswith("/token"))
    assert token_call["form"]["code_verifier"] == pending.verifier
    assert token_call["basic"] == (CLIENT, "s")
    # The discovery document was fetched once and kept.
    _finish(client, provider, pending)
    discovery = [u for _m, u, _ in provider.calls if u.endswith("openid-configuration")]
    assert len(discovery) == 1


def test_a_wrong_state_is_refused_before_the_provider_is_asked() -> None:
    provider = FakeProvider()
    client = OidcClient(_config(), request=provider)
    _url, pending = client.begin(now=NOW)
    with pytest.raises(OidcError) as refused:
        client.finish(pending, state="other", code="c", now=NOW)
    assert refused.value.reason == "state"
    assert not any(u.endswith("/token") for _m, u, _ in provider.calls)


def test_userinfo_about_another_subject_is_refused() -> None:
    provider = FakeProvider(userinfo_sub="someone-else")
    provider.id_claims = {"email": None, "email_verified": None}
    client = OidcClient(_config(), request=provider)
    _url, pending = client.begin(now=NOW)
    with pytest.raises(OidcError) as refused:
        _finish(client, provider, pending)
    assert refused.value.reason == "userinfo"
    provider.userinfo_sub = "person-1"
    assert _finish(client, provider, pending).email == "anna@member-a.example"


def test_a_rotated_key_is_fetched_again_but_not_at_every_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = FakeProvider()
    client = OidcClient(_config(), request=provider)
    _url, pending = client.begin(now=NOW)
    client.keys()  # the old set, cached
    provider.signing = OTHER
    provider.published = [KEY, OTHER]
    # Within a minute of the last fetch, an unknown key id does not fetch the set again (a
    # stream of forged tokens cannot make us hammer the provider).
    with pytest.raises(OidcError):
        _finish(client, provider, pending)
    fetches = [u for _m, u, _ in provider.calls if u.endswith("/jwks")]
    assert len(fetches) == 1
    later = time.monotonic() + 120
    monkeypatch.setattr("vardeild.accounts.oidc.time.monotonic", lambda: later)
    assert _finish(client, provider, pending).subject == "person-1"
    assert len([u for _m, u, _ in provider.calls if u.endswith("/jwks")]) == 2


def test_keys_of_unknown_types_and_encryption_keys_are_left_out() -> None:
    provider = FakeProvider()
    enc = _key("enc").as_dict(private=False) | {"use": "enc"}
    client = OidcClient(_config(), request=provider)
    sign = KEY.as_dict(private=False)
    provider.published_raw = [{"kty": "XYZ", "kid": "odd"}, enc, "not a key", sign]
    assert [key.kid for key in client.keys().keys] == ["k1"]
