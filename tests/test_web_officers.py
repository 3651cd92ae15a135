"""Officers over HTTP with their roles, on the real worker, Temporal and Postgres: the dev
sign-in, the first assignment, a handover refused to someone else, reviews only for one's own
department, the decision only by the case's coordinator; every refusal a problem document."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import pytest_asyncio

import access
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_api import PROBLEM, auth, document
from web.app import create_app

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    settings, client, sessions = product
    settings = settings.model_copy(update={"dev_sign_in": True, "operators": ["jha"]})
    app = create_app(settings, sessions=sessions, client=client)
    key = await access.create_api_key(sessions, f"byg-{uuid.uuid4().hex[:6]}")
    async with app.router.lifespan_context(app):

        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            )

        yield browser, key


async def signed_in(browser, caseworker_id: str) -> httpx.AsyncClient:
    http = browser()
    answer = await http.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
    assert answer.status_code == 200, answer.text
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return http


async def eventually(call, ok, tries: int = 100):
    for _ in range(tries):
        answer = await call()
        if ok(answer):
            return answer
        await asyncio.sleep(0.1)
    return answer


async def test_officers_act_within_their_roles(web):
    browser, key = web
    reference = f"OFF-{uuid.uuid4().hex[:8]}"
    system = browser()
    body = document(reference, departments=["building", "environment", "fire"])
    assert (await system.post("/api/v1/cases", json=body, headers=auth(key))).status_code == 201
    url = f"/api/v1/cases/{reference}"

    anonymous = await browser().post(f"{url}/assignment", json={"caseworker_id": "mkj"})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM

    mkj, sfl, abr, jha = [await signed_in(browser, i) for i in ("mkj", "sfl", "abr", "jha")]
    assigned = await mkj.post(
        f"{url}/assignment", json={"caseworker_id": "mkj"}, headers={"Idempotency-Key": "a-1"}
    )
    assert assigned.status_code == 200 and assigned.json()["caseworker"]["id"] == "mkj"
    taken = await sfl.post(f"{url}/assignment", json={"caseworker_id": "sfl"})
    assert taken.status_code == 409 and taken.json()["type"].endswith("/AlreadyAssigned")
    handover = await sfl.post(
        f"{url}/assignment", json={"caseworker_id": "sfl", "replacing": "mkj"}
    )
    assert handover.status_code == 403 and handover.headers["content-type"] == PROBLEM

    state = (await system.get(url, headers=auth(key))).json()
    codes = [m["code"] for m in state["required_material"]]
    complete = await system.post(f"{url}/material", json={"codes": codes}, headers=auth(key))
    assert complete.json()["complete"] is True

    wrong = await sfl.post(f"{url}/reviews/building", json={"outcome": "approved", "text": "Ok."})
    assert wrong.status_code == 403 and "building" in wrong.json()["detail"]
    for http, department in ((mkj, "building"), (sfl, "environment"), (abr, "fire")):
        done = await eventually(
            lambda http=http, department=department: http.post(
                f"{url}/reviews/{department}", json={"outcome": "approved", "text": "I orden."}
            ),
            lambda a: a.status_code != 409,
        )
        assert done.status_code == 200, done.text

    not_yours = await sfl.post(f"{url}/decision", json={"grounds": "Godkendt."})
    assert not_yours.status_code == 403
    decided = await eventually(
        lambda: mkj.post(
            f"{url}/decision",
            json={"grounds": "Projektet overholder reglerne."},
            headers={"Idempotency-Key": "d-1"},
        ),
        lambda a: a.status_code != 409,
    )
    assert decided.status_code == 200 and decided.json()["decision_issued"] is True
    # sealed in Temporal, opened for the staff and the case system by the seam
    assert decided.json()["intake"]["contact"]["name"] == body["contact"]["name"]
    assert state["intake"]["contact"]["email"] == body["contact"]["email"]
    # jha is an operator: may hand over any case, but the case is closing now.
    late = await jha.post(f"{url}/assignment", json={"caseworker_id": "jha", "replacing": "mkj"})
    assert late.status_code == 409


async def test_the_dev_sign_in_is_off_unless_configured(product):  # noqa: F811
    settings, client, sessions = product
    app = create_app(settings, sessions=sessions, client=client)  # dev_sign_in defaults off
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as http,
    ):
        answer = await http.post("/auth/dev/sign-in", json={"caseworker_id": "mkj"})
        assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM
        forged = await http.post(
            "/api/v1/cases/X-1/assignment",
            json={"caseworker_id": "mkj"},
            cookies={"erhverv_staff": "mkj.9999999999.forged"},
        )
        assert forged.status_code == 401


async def test_staff_read_every_case_a_case_system_only_its_own(web):
    browser, key = web
    reference = f"READ-{uuid.uuid4().hex[:8]}"
    system = browser()
    assert (
        await system.post("/api/v1/cases", json=document(reference), headers=auth(key))
    ).status_code == 201
    sfl = await signed_in(browser, "sfl")
    assert (await sfl.get(f"/api/v1/cases/{reference}")).json()["intake"]["reference"] == reference
    page = await eventually(
        lambda: sfl.get("/api/v1/cases?status=awaiting_caseworker&limit=200"),
        lambda a: reference in [c["reference"] for c in a.json()["items"]],
    )
    assert reference in [c["reference"] for c in page.json()["items"]]
    fire = (await sfl.get("/api/v1/cases?department=fire&limit=200")).json()["items"]
    environment = (await sfl.get("/api/v1/cases?department=environment&limit=200")).json()
    assert reference in [c["reference"] for c in fire]
    assert reference not in [c["reference"] for c in environment["items"]]
    assert (await browser().get(f"/api/v1/cases/{reference}")).status_code == 401


async def test_the_worklist_shows_a_case_no_one_has_taken(web):
    browser, key = web
    reference = f"WORK-{uuid.uuid4().hex[:8]}"
    system = browser()
    await system.post("/api/v1/cases", json=document(reference), headers=auth(key))
    abr = await signed_in(browser, "abr")
    items = await eventually(
        lambda: abr.get("/api/v1/worklist"),
        lambda a: reference in [i["reference"] for i in a.json()],
    )
    mine = next(i for i in items.json() if i["reference"] == reference)
    assert mine["reason"] in ("contact_due", "in_progress", "contact_breached")
    assert (await system.get("/api/v1/worklist", headers=auth(key))).status_code == 401
