"""A real, small OpenID provider for the tests: discovery, JWKS, an authorization endpoint that
approves the person the test chose, and a token endpoint that checks the client's secret, the
redirect URI and PKCE (S256) and returns an RS256-signed ID token (joserfc). It runs on
uvicorn on 127.0.0.1 on a free port in a background thread; every exchange is real HTTP.

    with running_provider(clients={"erhverv": ("secret", [redirect])}) as provider:
        provider.person = {"sub": "u-1", "email": "mkj@kommune.example"}
        provider.tweaks = {"exp": 1}        # what to change in the next ID tokens
        provider.issuer                      # http://127.0.0.1:<port>
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.serving import serving


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    person: dict[str, Any]


@dataclass
class Provider:
    clients: dict[str, tuple[str, list[str]]]  # client id -> (secret, redirect URIs)
    issuer: str = ""
    person: dict[str, Any] = field(default_factory=dict)
    tweaks: dict[str, Any] = field(default_factory=dict)  # claims to change in ID tokens
    sign_with: RSAKey | None = None  # another key than the published one
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "test-1"}))
    grants: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: int = 0

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            **({"nonce": grant.nonce} if grant.nonce else {}),
            **grant.person,
        }
        claims.update(self.tweaks)
        claims = {k: v for k, v in claims.items() if v is not None}  # a tweak to None removes
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    # --- the endpoints ------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(self.metadata())

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False, use="sig", alg="RS256")]})

    async def authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        client = self.clients.get(q.get("client_id", ""))
        if client is None or q.get("redirect_uri") not in client[1]:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if (
            q.get("response_type") != "code"
            or "openid" not in q.get("scope", "").split()
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
        ):
            back = {"error": "invalid_request", "state": q.get("state", "")}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", status_code=302)
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            q["client_id"], q["redirect_uri"], q.get("nonce"), q["code_challenge"], self.person
        )
        back = {"code": code, "state": q.get("state", ""), "iss": self.issuer}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        client_id, secret = _basic(request.headers.get("authorization", ""))
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(secret or "", client[0]):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code", "")), None)  # a code works once
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant.challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            },
            headers={"Cache-Control": "no-store"},
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


def _basic(header: str) -> tuple[str | None, str | None]:
    if not header.lower().startswith("basic "):
        return None, None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None, None
    from urllib.parse import unquote

    return unquote(user), unquote(password)


@contextmanager
def running_provider(
    clients: dict[str, tuple[str, list[str]]], host: str = "127.0.0.1"
) -> Iterator[Provider]:
    """The provider, serving. *host* names it in its issuer: "localhost" puts it on another
    site than an app on 127.0.0.1, so a browser treats the way back as cross-site."""
    provider = Provider(clients=clients)
    with serving(provider.app(), "oidc-provider") as base:
        provider.issuer = base.replace("127.0.0.1", host, 1)
        yield provider
