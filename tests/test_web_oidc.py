"""OpenID Connect sign-in against a real provider (tests/oidc_provider.py, uvicorn on a free
port; every exchange with it is real HTTP) and the app over the migrated, seeded Postgres of
the dev stack: a caseworker of the directory signs in and reads the worklist; a stranger, a
forged state or nonce, an expired or foreign-signed ID token and an open redirect are refused
or neutralised; every refusal is one audit line without personal data; the company flow turns
a MitID Erhverv CVR claim into the company cookie."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from log_setup import configure_logging
from stack.dev import prepared_settings
from tests.oidc_provider import running_provider
from tests.test_e2e import stack  # noqa: F401 - the dev stack (its Postgres is used here)
from web import forms, oidc
from web.app import create_app
from web.company import identity

pytestmark = pytest.mark.e2e

STAFF_CLIENT, STAFF_SECRET = "erhverv-staff", "staff-secret-for-tests"
COMPANY_CLIENT, COMPANY_SECRET = "erhverv-company", "company-secret-for-tests"
CVR_CLAIM = "https://data.gov.dk/model/core/eid/professional/cvr"
SITE = "http://127.0.0.1"
HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def provider():
    with running_provider(
        {
            STAFF_CLIENT: (STAFF_SECRET, [f"{SITE}/auth/callback"]),
            COMPANY_CLIENT: (COMPANY_SECRET, [f"{SITE}/auth/virksomhed/callback"]),
        }
    ) as running:
        yield running


def oidc_settings(settings, issuer: str):
    return settings.model_copy(
        update={
            "oidc_issuer": issuer,
            "oidc_client_id": STAFF_CLIENT,
            "oidc_client_secret": SecretStr(STAFF_SECRET),
            "oidc_redirect_base": SITE,
            "company_oidc_issuer": issuer,
            "company_oidc_client_id": COMPANY_CLIENT,
            "company_oidc_client_secret": SecretStr(COMPANY_SECRET),
        }
    )


@pytest_asyncio.fixture(scope="module")
async def app(stack, provider):  # noqa: F811
    settings = oidc_settings(
        await prepared_settings(stack, f"oidc-{uuid.uuid4()}"), provider.issuer
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(autouse=True)
def fresh(provider):
    """Each test starts with the provider's defaults and no counted form posts."""
    provider.tweaks, provider.sign_with = {}, None
    forms.reset_rate_limits()


def browser(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE, headers=HTML)


async def to_provider(http: httpx.AsyncClient, start: str) -> str:
    """Start a sign-in at *start*; follow the provider's answer over real HTTP; return the
    callback address the provider sends the browser back to."""
    begun = await http.get(start)
    assert begun.status_code == 303, begun.text
    async with httpx.AsyncClient() as idp:
        approved = await idp.get(begun.headers["location"])
    assert approved.status_code == 302, approved.text
    return approved.headers["location"]


async def sign_in(app, provider, person: dict, start: str = "/auth/login"):
    provider.person = person
    http = browser(app)
    callback = await to_provider(http, start)
    return http, await http.get(callback)


@contextmanager
def log_lines() -> Iterator[list[dict]]:
    """The JSON log lines written meanwhile, exactly as the service writes them."""
    configure_logging()
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)  # the CLI's tests may have set WARNING in this process
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def service_lines(lines: list[dict]) -> list[dict]:
    """The lines the service wrote: without the test's own browser (httpx requests to the
    app and to the provider's authorization endpoint) and the test provider's access log."""

    def browsers(line: dict) -> bool:
        event = str(line.get("event", ""))
        return line.get("logger") == "httpx" and (
            event.startswith(f"HTTP Request: GET {SITE}/") or "/authorize?" in event
        )

    return [line for line in lines if line.get("logger") != "uvicorn.access" and not browsers(line)]


def refusals(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("event") == "sign-in refused"]


def cookie_attributes(answer: httpx.Response, name: str) -> str:
    found = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, answer.headers.get_list("set-cookie")
    return found[0].lower()


# --- staff -----------------------------------------------------------------------------------


async def test_a_caseworker_of_the_directory_signs_in_and_reads_the_worklist(app, provider):
    http, answer = await sign_in(
        app,
        provider,
        {"sub": "idp-7f3a", "email": "MKJ@Kommune.example", "email_verified": True},
        "/auth/login?next=/api/v1/worklist",
    )
    assert answer.status_code == 200, answer.text
    # The staff cookie is SameSite=Strict: the page moves on by itself from our own site.
    assert answer.headers["refresh"] == "0; url=/api/v1/worklist"
    assert 'href="/api/v1/worklist"' in answer.text and "Mette Kjær Jensen" in answer.text
    staff_cookie = cookie_attributes(answer, "erhverv_staff")
    assert "httponly" in staff_cookie and "samesite=strict" in staff_cookie
    assert http.cookies["erhverv_staff"].startswith("mkj.")
    assert 'erhverv_oidc_staff=""' in cookie_attributes(answer, "erhverv_oidc_staff")
    worklist = await http.get("/api/v1/worklist")
    assert worklist.status_code == 200 and isinstance(worklist.json(), list | dict)
    # The provider saw PKCE (S256), a state and a nonce, and our configured redirect URI.
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    assert asked["redirect_uri"] == f"{SITE}/auth/callback"
    assert set(asked["scope"].split()) == {"openid", "email", "profile"}


async def test_the_handshake_cookie_is_lax_http_only_and_kept_to_auth(app, provider):
    begun = await browser(app).get("/auth/login")
    handshake = cookie_attributes(begun, "erhverv_oidc_staff")
    assert "samesite=lax" in handshake and "httponly" in handshake and "path=/auth" in handshake
    assert "max-age=600" in handshake
    assert begun.headers["location"].startswith(f"{provider.issuer}/authorize?")


async def test_a_person_outside_the_directory_is_refused_without_personal_data_logged(
    app, provider
):
    subject, email = "idp-subject-9c1e", "ukendt.person@firma.example"
    with log_lines() as lines:
        http, answer = await sign_in(app, provider, {"sub": subject, "email": email})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "Ingen adgang" in answer.text and "sagsbehandlerliste" in answer.text
    assert "erhverv_staff" not in http.cookies
    assert (await http.get("/api/v1/worklist")).status_code == 401
    [line] = refusals(lines)
    assert line["reason"] == "not an active caseworker of the directory"
    assert line["status"] == 403 and line["flow"] == "staff" and len(line["subject"]) == 12
    text = json.dumps(service_lines(lines))
    assert "web.signin" in text  # the service's own lines are in (httpx's URLs are not logged)
    for secret in (subject, email, "ukendt", "firma.example", "code=", "state="):
        assert secret not in text, secret


async def test_an_unverified_e_mail_address_is_not_trusted(app, provider):
    _, answer = await sign_in(
        app, provider, {"sub": "idp-1", "email": "mkj@kommune.example", "email_verified": False}
    )
    assert answer.status_code == 403


async def test_a_forged_state_is_refused(app, provider):
    provider.person = {"sub": "idp-7f3a", "email": "mkj@kommune.example"}
    http = browser(app)
    callback = await to_provider(http, "/auth/login")
    parts = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["state"] = "forged-" + query["state"][7:]
    exchanged = provider.token_requests
    with log_lines() as lines:
        answer = await http.get(f"{parts.path}?{urlencode(query)}")
    assert answer.status_code == 401 and "Log-ind lykkedes ikke" in answer.text
    assert "erhverv_staff" not in http.cookies
    assert refusals(lines)[0]["reason"] == "state differs from the handshake"
    assert provider.token_requests == exchanged  # no code was exchanged
    # The genuine callback after that fails too: the handshake is spent.
    assert (await http.get(callback)).status_code == 401


async def test_a_callback_without_the_handshake_or_with_a_tampered_one_is_refused(app, provider):
    provider.person = {"sub": "idp-7f3a", "email": "mkj@kommune.example"}
    http = browser(app)
    callback = await to_provider(http, "/auth/login")
    stranger = browser(app)  # another browser that never started the sign-in
    assert (await stranger.get(callback)).status_code == 401
    value = http.cookies["erhverv_oidc_staff"]
    http.cookies.set("erhverv_oidc_staff", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    with log_lines() as lines:
        assert (await http.get(callback)).status_code == 401
    assert refusals(lines)[0]["reason"].startswith("no valid handshake")


async def test_a_forged_nonce_an_expired_token_a_foreign_key_and_audience_are_refused(
    app, provider
):
    now = int(time.time())
    cases = {
        "nonce": {"nonce": "not-the-nonce-we-sent"},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "audience": {"aud": "another-client"},
        "issuer": {"iss": "https://idp.evil.example"},
        "no nonce": {"nonce": None},
    }
    for name, tweaks in cases.items():
        provider.tweaks = tweaks
        forms.reset_rate_limits()
        with log_lines() as lines:
            http, answer = await sign_in(
                app, provider, {"sub": "s", "email": "mkj@kommune.example"}
            )
        assert answer.status_code == 401, name
        assert "erhverv_staff" not in http.cookies, name
        assert refusals(lines)[0]["reason"].startswith("ID token refused"), (name, lines)
    provider.tweaks = {}
    provider.sign_with = RSAKey.generate_key(2048, {"kid": provider.key.kid})
    with log_lines() as lines:
        _, answer = await sign_in(app, provider, {"sub": "s", "email": "mkj@kommune.example"})
    assert answer.status_code == 401
    assert refusals(lines)[0]["reason"] == "ID token signature not valid"


async def test_a_rotated_provider_key_is_fetched_again(app, provider):
    old = provider.key
    provider.key = RSAKey.generate_key(2048, {"kid": "test-rotated"})
    try:
        _, answer = await sign_in(app, provider, {"sub": "s", "email": "jha@kommune.example"})
        assert answer.status_code == 200 and "Jørgen Hald Andersen" in answer.text
    finally:
        provider.key = old
        oidc.forget_providers()


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil", "javascript:x"],
)
async def test_next_never_leads_off_the_site(app, provider, next_path):
    start = "/auth/login?" + urlencode({"next": next_path})
    _, answer = await sign_in(app, provider, {"sub": "s", "email": "mkj@kommune.example"}, start)
    assert answer.status_code == 200
    assert answer.headers["refresh"] == "0; url=/sagsbehandler"


def test_local_next_keeps_local_paths_only():
    assert oidc.local_next("/sagsbehandler?side=2#top", "/x") == "/sagsbehandler?side=2#top"
    for bad in (None, "", "sagsbehandler", "//a.example", "/\\a", "/a\nb", "/a b", "x:/a"):
        assert oidc.local_next(bad, "/x") == "/x", bad


async def test_a_provider_error_answer_is_refused_as_a_problem_for_non_browsers(app, provider):
    plain = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SITE)
    await plain.get("/auth/login")
    answer = await plain.get("/auth/callback?error=access_denied&state=x")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 401


# --- companies (MitID Erhverv through a broker) -------------------------------------------


async def test_the_company_flow_yields_the_cvr_cookie(app, provider):
    with log_lines() as lines:
        http, answer = await sign_in(
            app,
            provider,
            {"sub": "nemlogin-44", CVR_CLAIM: "29189420", "name": "Hanne Holm"},
            "/auth/virksomhed/login",
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["refresh"] == "0; url=/virksomhed"
    assert "I er logget ind" in answer.text
    attributes = cookie_attributes(answer, identity.COOKIE)
    assert "httponly" in attributes and "samesite=lax" in attributes
    secret = app.state.services.settings.web_secret.get_secret_value().encode()
    assert identity.read_company_cookie(secret, http.cookies[identity.COOKIE]) == "29189420"
    assert identity.read_company_cookie(secret, http.cookies[identity.COOKIE] + "x") is None
    assert provider.authorize_requests[-1]["client_id"] == COMPANY_CLIENT
    text = json.dumps(service_lines(lines))
    assert "web.signin" in text and "Hanne" not in text and "29189420" not in text
    # A company session is not a staff session.
    assert (await http.get("/api/v1/worklist")).status_code == 401


@pytest.mark.parametrize("cvr", ["12345678", "02918942", None, "2918942O"])
async def test_a_missing_or_invalid_cvr_claim_is_refused(app, provider, cvr):
    person = {"sub": "nemlogin-45"} | ({CVR_CLAIM: cvr} if cvr else {})
    http, answer = await sign_in(app, provider, person, "/auth/virksomhed/login")
    assert answer.status_code == 403 and "MitID Erhverv" in answer.text
    assert identity.COOKIE not in http.cookies


async def test_without_configuration_the_sign_in_routes_say_so_in_danish(stack):  # noqa: F811
    settings = await prepared_settings(stack, f"oidc-off-{uuid.uuid4()}")
    bare = create_app(settings)
    async with bare.router.lifespan_context(bare):
        http = browser(bare)
        for path in ("/auth/login", "/auth/callback", "/auth/virksomhed/login"):
            answer = await http.get(path)
            assert answer.status_code == 404 and "ikke sat op" in answer.text, path


async def test_an_unreachable_provider_is_a_danish_503_page():
    from tests.test_web_pages import page_settings

    settings = page_settings().model_copy(
        update={"oidc_issuer": "http://127.0.0.1:9", "oidc_client_id": STAFF_CLIENT}
    )
    away = create_app(settings)
    async with away.router.lifespan_context(away):
        with log_lines() as lines:
            answer = await browser(away).get("/auth/login")
    assert answer.status_code == 503 and "Prøv igen om lidt" in answer.text
    assert refusals(lines)[0]["reason"] == "identity provider unreachable"


async def test_a_token_for_several_audiences_needs_our_azp(app, provider):
    person = {"sub": "s", "email": "mkj@kommune.example"}
    provider.tweaks = {"aud": [STAFF_CLIENT, "another-client"]}
    with log_lines() as lines:
        _, answer = await sign_in(app, provider, person)
    assert answer.status_code == 401
    assert refusals(lines)[0]["reason"] == "ID token for several audiences without our azp"
    provider.tweaks = {"aud": [STAFF_CLIENT, "another-client"], "azp": STAFF_CLIENT}
    _, answer = await sign_in(app, provider, person)
    assert answer.status_code == 200
