"""The HTTP API over the running app, with the real worker, Temporal dev server and Postgres:
a case system starts a case by POST, retries safely with an Idempotency-Key, follows its own
cases and nobody else's; every error is a problem document."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

import access
import case_api
from tests.conftest import make_intake
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from web.app import create_app

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


@pytest_asyncio.fixture(scope="module")
async def api(product):  # noqa: F811
    """The app on the running stack, and two case systems with their API keys."""
    settings, client, sessions = product
    app = create_app(settings, sessions=sessions, client=client)
    tag = uuid.uuid4().hex[:6]
    keys = {
        name: await access.create_api_key(sessions, f"{name}-{tag}") for name in ("byg", "other")
    }
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as http:
            yield http, keys, settings


def document(reference: str, **extra) -> dict:
    contact = {"name": "Åse Ørsted", "email": f"{reference.lower()}@firma.dk", "phone": "98123456"}
    intake = make_intake(
        reference=reference, received_at=datetime.now(UTC), contact=contact, **extra
    )
    return json.loads(intake.model_dump_json())


def auth(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


async def test_health_and_readiness(api):
    http, _, _ = api
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["temporal"] == "ok"


async def test_a_case_started_by_post_is_followed_by_its_case_system(api, stack):  # noqa: F811
    http, keys, _ = api
    reference = f"API-{uuid.uuid4().hex[:8]}"
    body = document(reference)
    started = await http.post("/api/v1/cases", json=body, headers=auth(keys["byg"], "k-1"))
    assert started.status_code == 201, started.text
    assert started.json()["state_url"] == f"/api/v1/cases/{reference}"
    assert len(await mails_to(stack.mail_dir, body["contact"]["email"], 1)) == 1

    state = await http.get(f"/api/v1/cases/{reference}", headers=auth(keys["byg"]))
    assert state.status_code == 200 and state.json()["status"] == "awaiting_caseworker"
    for _ in range(50):
        page = (await http.get("/api/v1/cases", headers=auth(keys["byg"]))).json()
        if reference in [c["reference"] for c in page["items"]]:
            break
        await asyncio.sleep(0.1)
    assert reference in [c["reference"] for c in page["items"]]
    events = await http.get(f"/api/v1/cases/{reference}/events", headers=auth(keys["byg"]))
    assert events.json()[0]["kind"] == "case_received"

    # Another case system neither sees it in its list nor reads it.
    other = await http.get(f"/api/v1/cases/{reference}", headers=auth(keys["other"]))
    assert other.status_code == 403 and other.headers["content-type"] == PROBLEM
    theirs = (await http.get("/api/v1/cases", headers=auth(keys["other"]))).json()
    assert reference not in [c["reference"] for c in theirs["items"]]


async def test_idempotency_key_same_body_other_body_other_key(api, stack):  # noqa: F811
    http, keys, _ = api
    reference = f"IDEM-{uuid.uuid4().hex[:8]}"
    body = document(reference)
    first = await http.post("/api/v1/cases", json=body, headers=auth(keys["byg"], "idem-1"))
    again = await http.post(
        "/api/v1/cases",
        content=json.dumps(body, indent=2, sort_keys=True),  # the same document, other spacing
        headers={**auth(keys["byg"], "idem-1"), "Content-Type": "application/json"},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()

    changed = {**body, "project_description": "En anden hal"}
    reused = await http.post("/api/v1/cases", json=changed, headers=auth(keys["byg"], "idem-1"))
    assert reused.status_code == 422 and reused.json()["type"].endswith("/IdempotencyKeyReused")
    duplicate = await http.post("/api/v1/cases", json=body, headers=auth(keys["byg"], "idem-2"))
    assert duplicate.status_code == 409
    problem = duplicate.json()
    assert duplicate.headers["content-type"] == PROBLEM
    assert problem["type"].endswith("/DuplicateReference") and reference in problem["detail"]
    await asyncio.sleep(0.5)
    assert len(await mails_to(stack.mail_dir, body["contact"]["email"], 2, timeout=1)) == 1


async def test_concurrent_retries_with_one_key_start_one_case(api, stack):  # noqa: F811
    http, keys, _ = api
    reference = f"CONC-{uuid.uuid4().hex[:8]}"
    body = document(reference)
    answers = await asyncio.gather(
        *(
            http.post("/api/v1/cases", json=body, headers=auth(keys["byg"], "conc-1"))
            for _ in range(5)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 201]
    await asyncio.sleep(0.5)
    assert len(await mails_to(stack.mail_dir, body["contact"]["email"], 2, timeout=1)) == 1


async def test_errors_are_problem_documents_naming_each_field(api):
    http, keys, _ = api
    bad = document(f"BAD-{uuid.uuid4().hex[:8]}")
    bad["company"]["cvr"] = "29189421"
    bad["contact"]["email"] = "not-an-e-mail"
    bad["received_at"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    answer = await http.post("/api/v1/cases", json=bad, headers=auth(keys["byg"]))
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"company.cvr", "contact.email", "received_at"} <= fields
    assert "not-an-e-mail" not in answer.text and "Traceback" not in answer.text

    for response in (
        await http.post("/api/v1/cases", json=bad),
        await http.get("/api/v1/cases", headers=auth("ek_not-a-key")),
    ):
        assert response.status_code == 401 and response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == "Bearer"
    unknown = await http.get("/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    for path in ("/api/v1/cases/A%00B/events", "/api/v1/cases/" + "x" * 80):
        bad_path = await http.get(path, headers=auth(keys["byg"]))
        assert bad_path.status_code == 422 and bad_path.headers["content-type"] == PROBLEM
    many = "&".join(f"references=R{n}" for n in range(201))
    too_many = await http.get(f"/api/v1/cases?{many}", headers=auth(keys["byg"]))
    assert too_many.status_code == 422
    cursor = await http.get("/api/v1/cases?cursor=%%%", headers=auth(keys["byg"]))
    assert cursor.status_code == 422 and "cursor" in cursor.json()["detail"]


async def test_a_revoked_key_is_refused(api, product):  # noqa: F811
    http, _, _ = api
    _, _, sessions = product
    name = f"gone-{uuid.uuid4().hex[:6]}"
    key = await access.create_api_key(sessions, name)
    assert (await http.get("/api/v1/cases", headers=auth(key))).status_code == 200
    await access.revoke_api_key(sessions, name)
    assert (await http.get("/api/v1/cases", headers=auth(key))).status_code == 401


async def test_the_openapi_document_describes_the_intake(api):
    http, _, _ = api
    doc = (await http.get("/openapi.json")).json()
    assert "/api/v1/cases" in doc["paths"] and "CaseIntake" in doc["components"]["schemas"]
    assert (await http.get("/docs")).status_code == 200


async def test_the_companys_actions_sent_by_its_case_system(api, product):  # noqa: F811
    http, keys, _ = api
    _, client, _ = product
    reference = f"ACT-{uuid.uuid4().hex[:8]}"
    body = document(reference)
    assert (await http.post("/api/v1/cases", json=body, headers=auth(keys["byg"]))).is_success
    await case_api.assign_caseworker(client, reference, "mkj")  # an officer, at the other door

    url = f"/api/v1/cases/{reference}/material"
    codes = {"codes": ["building.situation_plan", "building.floor_plans"]}
    first = await http.post(url, json=codes, headers=auth(keys["byg"], "mat-1"))
    assert first.status_code == 200, first.text
    assert [m["code"] for m in first.json()["received"]] == codes["codes"]
    again = await http.post(url, json=codes, headers=auth(keys["byg"], "mat-1"))
    assert again.json() == first.json()  # the first result; the update ran once
    events = await http.get(f"/api/v1/cases/{reference}/events", headers=auth(keys["byg"]))
    assert [e["kind"] for e in events.json()].count("material_received") == 1

    refused = await http.post(url, json=codes, headers=auth(keys["other"], "mat-2"))
    assert refused.status_code == 403
    invalid = await http.post(url, json={"codes": []}, headers=auth(keys["byg"]))
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "codes"
    no_offer = await http.post(
        f"/api/v1/cases/{reference}/nbe-answer", json={"accepted": True}, headers=auth(keys["byg"])
    )
    assert no_offer.status_code == 409 and no_offer.json()["type"].endswith("/NoNbeOffer")

    withdrawn = await http.post(
        f"/api/v1/cases/{reference}/withdrawal",
        json={"reason": "Projektet er opgivet"},
        headers=auth(keys["byg"], "wd-1"),
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["closing_reason"] == "withdrawn"
    late = await http.post(
        f"/api/v1/cases/{reference}/withdrawal", json={"reason": "Igen"}, headers=auth(keys["byg"])
    )
    assert late.status_code == 409 and late.headers["content-type"] == PROBLEM
