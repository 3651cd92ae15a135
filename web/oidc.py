"""OpenID Connect relying party: staff through the municipality's identity provider, companies
through a MitID Erhverv / NemLog-in broker (settings `oidc_*`, `company_oidc_*`; see
docs/sign-in.md). The routes are in `web.signin`.

The flow is the authorization code flow with PKCE (S256), `state` and `nonce`:

1. `begin` makes a random state, nonce and code verifier, keeps them with the local address
   to return to in a signed handshake cookie (itsdangerous, 10 minutes, `HttpOnly`,
   `SameSite=Lax` so that the browser sends it on the provider's redirect back, path
   `/auth`), and sends the browser to the provider's authorization endpoint.
2. `finish` checks the returned state against the cookie, exchanges the code at the token
   endpoint (authlib's httpx client, with the code verifier and the client secret), and
   validates the ID token (joserfc): its signature against the provider's JWKS (asymmetric
   algorithms only), issuer, audience (and `azp` when there are several), expiry, issue
   time and the nonce.

The provider's discovery document (`<issuer>/.well-known/openid-configuration`, its `issuer`
must be the configured one) and its keys are kept for an hour; a token signed with an
unknown key id fetches the keys again once (key rotation).

Every refusal is a `SignInRefused` with a fixed reason; the caller logs it without personal
data (at most a keyed hash of the subject, see `subject_hash`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.security import is_secure_transport
from authlib.deprecate import AuthlibDeprecationWarning
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from settings import Settings

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` package and warns once when it uses httpx (locked here):
    # the warning would be the one non-JSON line of the web service's log.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

HANDSHAKE_MAX_AGE = 600
DISCOVERY_TTL = 3600
LEEWAY = 60
ALGORITHMS = ("RS256", "PS256", "ES256", "RS384", "PS384", "ES384", "RS512", "PS512")
_HTTP_TIMEOUT = 10.0


class SignInRefused(Exception):
    """A sign-in that cannot go on. ``reason`` is a fixed phrase for the audit log;
    ``status`` 401 (not authenticated) or 403 (authenticated, but not allowed here)."""

    def __init__(self, reason: str, status: int = 401, subject: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.subject = subject


@dataclass(frozen=True)
class Client:
    """This service as a client of one OpenID provider."""

    flow: str  # "staff" or "company": names the handshake cookie and the log lines
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    callback_path: str

    @property
    def handshake_cookie(self) -> str:
        return f"erhverv_oidc_{self.flow}"


def staff_client(settings: Settings) -> Client | None:
    """The staff sign-in's client, or None when OpenID Connect is not configured."""
    if not (settings.oidc_issuer and settings.oidc_client_id):
        return None
    return Client(
        "staff",
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret.get_secret_value(),
        settings.oidc_scopes,
        "/auth/callback",
    )


def company_client(settings: Settings) -> Client | None:
    """The companies' MitID Erhverv client, or None when not configured."""
    if not (settings.company_oidc_issuer and settings.company_oidc_client_id):
        return None
    return Client(
        "company",
        settings.company_oidc_issuer,
        settings.company_oidc_client_id,
        settings.company_oidc_client_secret.get_secret_value(),
        settings.company_oidc_scopes,
        "/auth/virksomhed/callback",
    )


def redirect_uri(settings: Settings, client: Client) -> str:
    """Where the provider sends the browser back: configured, never read from the request's
    Host header."""
    base = settings.oidc_redirect_base or settings.public_base_url
    return base.rstrip("/") + client.callback_path


def local_next(value: str | None, default: str) -> str:
    """*value* when it is a path on this site, else *default* (no open redirect)."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def subject_hash(secret: bytes, subject: str | None) -> str | None:
    """A keyed, shortened hash of a subject for the audit log (links lines about the same
    person without naming them; not reversible without the web secret)."""
    if not subject:
        return None
    digest = hmac.new(secret, b"oidc-subject\n" + subject.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


# --- the provider's metadata and keys -------------------------------------------------------

_discovered: dict[str, tuple[float, dict[str, Any], KeySet]] = {}


def forget_providers() -> None:
    """Forget every cached discovery document and key set (tests, key rotation by hand)."""
    _discovered.clear()


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as http:
            answer = await http.get(url, headers={"Accept": "application/json"})
        answer.raise_for_status()
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        raise SignInRefused("identity provider unreachable", 503) from None
    if not isinstance(body, dict):
        raise SignInRefused("identity provider answered no JSON object", 503)
    return body


async def _provider(client: Client, refresh_keys: bool = False) -> tuple[dict[str, Any], KeySet]:
    cached = _discovered.get(client.issuer)
    if cached and not refresh_keys and time.monotonic() - cached[0] < DISCOVERY_TTL:
        return cached[1], cached[2]
    if not is_secure_transport(client.issuer):  # https, or http on the loopback only
        raise SignInRefused("issuer is not https", 503)
    if cached and refresh_keys:
        metadata = cached[1]
    else:
        metadata = await _get_json(client.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if metadata.get("issuer") != client.issuer:
            raise SignInRefused("discovery issuer differs from the configured issuer", 503)
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(key), str) or not is_secure_transport(metadata[key]):
                raise SignInRefused(f"discovery document lacks an https {key}", 503)
    try:
        keys = KeySet.import_key_set(await _get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise SignInRefused("identity provider's keys unreadable", 503) from None
    _discovered[client.issuer] = (time.monotonic(), metadata, keys)
    return metadata, keys


# --- the handshake --------------------------------------------------------------------------


def _serializer(settings: Settings, client: Client) -> URLSafeTimedSerializer:
    secret = settings.web_secret.get_secret_value()
    return URLSafeTimedSerializer(secret, salt=f"oidc-handshake-{client.flow}")


def _secure(request: Request) -> bool:
    return request.url.hostname not in ("127.0.0.1", "localhost")


async def begin(request: Request, settings: Settings, client: Client, next_path: str) -> Response:
    """Send the browser to the provider, with state, nonce and PKCE kept in the handshake."""
    metadata, _ = await _provider(client)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    oauth = AsyncOAuth2Client(
        client.client_id,
        scope=client.scopes,
        redirect_uri=redirect_uri(settings, client),
        code_challenge_method="S256",
    )
    url, _ = oauth.create_authorization_url(
        metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
    )
    handshake = _serializer(settings, client).dumps(
        {"state": state, "nonce": nonce, "verifier": verifier, "next": next_path}
    )
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        client.handshake_cookie,
        handshake,
        max_age=HANDSHAKE_MAX_AGE,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


def end_handshake(request: Request, client: Client, response: Response) -> None:
    response.delete_cookie(
        client.handshake_cookie,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _short(value: object) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 4096 and value.isprintable():
        return value
    return None


async def finish(request: Request, settings: Settings, client: Client) -> tuple[dict, str]:
    """The validated ID token's claims and the local address to go on to."""
    query = request.query_params
    if "error" in query:
        raise SignInRefused("identity provider refused the sign-in")
    try:
        handshake = _serializer(settings, client).loads(
            request.cookies.get(client.handshake_cookie, ""), max_age=HANDSHAKE_MAX_AGE
        )
        expected_state, nonce = handshake["state"], handshake["nonce"]
        verifier, next_path = handshake["verifier"], handshake["next"]
    except (BadSignature, KeyError, TypeError):
        raise SignInRefused("no valid handshake (expired, tampered or another browser)") from None
    state, code = _short(query.get("state")), _short(query.get("code"))
    if state is None or code is None:
        raise SignInRefused("callback without state or code")
    if not hmac.compare_digest(state.encode(), str(expected_state).encode()):
        raise SignInRefused("state differs from the handshake")
    metadata, keys = await _provider(client)
    if "iss" in query and query["iss"] != client.issuer:  # RFC 9207
        raise SignInRefused("callback from another issuer")

    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth_method = (
        "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    )
    try:
        async with AsyncOAuth2Client(
            client.client_id,
            client.client_secret,
            token_endpoint_auth_method=auth_method,
            timeout=_HTTP_TIMEOUT,
        ) as oauth:
            token = await oauth.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                redirect_uri=redirect_uri(settings, client),
                code_verifier=verifier,
            )
    except Exception:  # noqa: BLE001 - an OAuth error answer, a network fault, bad JSON
        raise SignInRefused("code exchange failed") from None
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not isinstance(id_token, str):
        raise SignInRefused("no ID token")
    claims = await _validate_id_token(client, metadata, keys, id_token, str(nonce))
    return claims, local_next(next_path, "/")


async def _validate_id_token(
    client: Client, metadata: dict, keys: KeySet, id_token: str, nonce: str
) -> dict[str, Any]:
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in ALGORITHMS if a in offered] or ["RS256"]
    try:
        try:
            token = jwt.decode(id_token, keys, algorithms=algorithms)
        except InvalidKeyIdError:  # the provider may have rotated its keys: fetch them once
            _, keys = await _provider(client, refresh_keys=True)
            token = jwt.decode(id_token, keys, algorithms=algorithms)
    except (ValueError, JoseError):
        raise SignInRefused("ID token signature not valid") from None
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": client.issuer},
        aud={"essential": True, "value": client.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as err:
        raise SignInRefused(f"ID token refused ({err.error})", subject=_sub(claims)) from None
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client.client_id:
        raise SignInRefused("ID token for several audiences without our azp", subject=_sub(claims))
    return claims


def _sub(claims: dict[str, Any]) -> str | None:
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None
