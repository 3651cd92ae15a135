"""Booking a pre-dialogue over HTTP, on the real worker, Temporal dev server, Postgres and SMTP
sink: the three steps and the receipt, a double submit that books once, two companies picking
the same time at the same moment (one wins, the other gets a Danish message and fresh times),
CSRF and rate limits, Danish errors for bad input, the signed link, and the staff API."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

import booking_api
import case_api
from schemas.intake import Department
from tests.conftest import make_intake
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from web import forms
from web.app import create_app

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    settings, client, sessions = product
    settings = settings.model_copy(update={"dev_sign_in": True, "operators": ["jha"]})
    app = create_app(settings, sessions=sessions, client=client)
    async with app.router.lifespan_context(app):

        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            )

        yield browser, settings, client, sessions


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    forms.reset_rate_limits()
    yield
    forms.reset_rate_limits()


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return html.unescape(found.group(1))


def details(email: str, **extra) -> dict:
    return {
        "cvr": "29189420",
        "company_name": "Nordjysk Stål ApS",
        "contact_name": "Søren Ærø Østergård",
        "email": email,
        "phone": "98 12 34 56",
        "topic": "general",
        "departments": ["building"],
        "note": "",
        **extra,
    }


async def form_page(http: httpx.AsyncClient) -> tuple[str, str]:
    page = await http.get("/forhaandsdialog")
    assert page.status_code == 200
    return hidden(page.text, "csrf_token"), hidden(page.text, "request_id")


def slot_values(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="slot" value="([^"]+)"', page)]


async def test_book_in_three_steps_and_a_double_submit_books_once(stack, web):  # noqa: F811
    browser, _settings, _, sessions = web
    http = browser()
    email = f"fd-{uuid.uuid4().hex[:8]}@nordjysk-staal.dk"
    csrf, request_id = await form_page(http)
    base = {**details(email), "csrf_token": csrf, "request_id": request_id}

    slots_page = await http.post("/forhaandsdialog", data=base)
    assert slots_page.status_code == 200, text_of(slots_page.text)[:500]
    assert "Vælg et tidspunkt" in slots_page.text and "<fieldset" in slots_page.text
    values = slot_values(slots_page.text)
    assert values, "no offered times"
    confirm = await http.post("/forhaandsdialog/tid", data={**base, "slot": values[0]})
    assert confirm.status_code == 200 and "Bekræft booking" in confirm.text
    assert "Nordjysk Stål ApS" in confirm.text

    final = {**base, "slot": values[0]}
    first = await http.post("/forhaandsdialog/bekraeft", data=final)
    again = await http.post("/forhaandsdialog/bekraeft", data=final)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    location = first.headers["location"]
    booking_id = re.search(r"/forhaandsdialog/(FD-[0-9A-Z]{8})\?t=", location).group(1)
    receipt = await http.get(location)
    text = text_of(receipt.text)
    assert "Tak – jeres forhåndsdialog er booket" in text and booking_id in text
    assert "Aflys forhåndsdialogen" in text and "Flyt mødet" in text

    mails = await mails_to(stack.mail_dir, email, 1)
    assert len(mails) == 1 and booking_id in mails[0].subject
    link = re.search(r"http://\S+/forhaandsdialog/\S+", mails[0].body).group(0)
    assert link.endswith(location.split("&")[0].split("/forhaandsdialog/")[1])

    # A wrong token: a Danish page, nothing about the booking.
    forged = await http.get(f"/forhaandsdialog/{booking_id}?t=forged")
    assert forged.status_code == 404 and "Linket virker ikke" in forged.text
    assert "Nordjysk" not in forged.text

    # The company cancels through its link.
    token = location.split("?t=")[1].split("&")[0]
    page = await http.get(f"/forhaandsdialog/{booking_id}?t={token}")
    cancel = await http.post(
        f"/forhaandsdialog/{booking_id}/aflys",
        data={
            "csrf_token": hidden(page.text, "csrf_token"),
            "request_id": uuid.uuid4().hex,
            "t": token,
            "reason": "Projektet er udskudt.",
        },
    )
    assert cancel.status_code == 303 and cancel.headers["location"].endswith("&aflyst=1")
    view = await booking_api.get_booking(sessions, booking_id)
    assert view.status == "cancelled"
    mails = await mails_to(stack.mail_dir, email, 2)
    assert mails[-1].subject.startswith("Aflyst:")


async def test_two_companies_pick_the_same_time_at_once_one_wins(web):
    browser, *_ = web

    async def attempt(n: int):
        http = browser()
        csrf, request_id = await form_page(http)
        base = {**details(f"race{n}-{uuid.uuid4().hex[:6]}@firma.dk", departments=["fire"])}
        base |= {"csrf_token": csrf, "request_id": request_id}
        page = await http.post("/forhaandsdialog", data=base)
        return http, base, slot_values(page.text)

    (a, base_a, slots_a), (b, base_b, _) = await attempt(1), await attempt(2)
    slot = slots_a[-1]
    answers = await asyncio.gather(
        a.post("/forhaandsdialog/bekraeft", data={**base_a, "slot": slot}),
        b.post("/forhaandsdialog/bekraeft", data={**base_b, "slot": slot}),
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [303, 409], codes
    loser = next(r for r in answers if r.status_code == 409)
    text = text_of(loser.text)
    assert "Der er 1 problem, I skal rette" in text
    assert "booket af en anden lige før jer" in text or "kan ikke længere bookes" in text
    assert 'href="#fd-slot"' in loser.text
    fresh = slot_values(loser.text)
    assert fresh and slot not in fresh


async def test_csrf_rate_limit_and_danish_errors(web):
    browser, *_ = web
    http = browser()
    no_token = await http.post("/forhaandsdialog", data=details("x@firma.dk"))
    assert no_token.status_code == 403
    assert "Formularen kunne ikke sendes" in no_token.text and '<html lang="da">' in no_token.text

    csrf, request_id = await form_page(http)
    bad = {
        **details("ikke-en-adresse", cvr="12345678", company_name="", departments=[]),
        "csrf_token": csrf,
        "request_id": request_id,
    }
    answer = await http.post("/forhaandsdialog", data=bad)
    assert answer.status_code == 422
    text = text_of(answer.text)
    assert "Der er 4 problemer, I skal rette" in text
    for field, words in (
        ("cvr", "Tjek CVR-nummer."),
        ("company_name", "Udfyld virksomhedens navn."),
        ("email", "Tjek e-mail."),
        ("departments", "Vælg mindst 1 i fagområder."),
    ):
        assert f'href="#fd-{field}"' in answer.text and f'id="fd-{field}"' in answer.text
        assert words in text, words
    assert 'aria-invalid="true"' in answer.text and "Traceback" not in answer.text
    assert 'value="Søren Ærø Østergård"' in answer.text  # kept for the next try

    for _ in range(9):  # 1 + 9 = 10 posts in the minute are allowed
        assert (await http.post("/forhaandsdialog", data=bad)).status_code == 422
    limited = await http.post("/forhaandsdialog", data=bad)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "For mange forsøg" in limited.text


async def test_staff_move_cancel_and_held_over_the_api(stack, web):  # noqa: F811
    browser, settings, client, sessions = web
    now = datetime.now(UTC)
    offered = await booking_api.offered_slots(sessions, [Department.environment], (), now)
    from tests.test_booking import request_for

    email = f"staff-{uuid.uuid4().hex[:6]}@firma.dk"
    booked = await booking_api.book(
        client,
        sessions,
        settings,
        request_for(email, ["environment"]),
        offered[0],
        uuid.uuid4().hex,
    )
    url = f"/api/v1/pre-dialogues/{booked.booking_id}"
    anonymous = await browser().get(url)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM

    async def signed_in(caseworker_id: str) -> httpx.AsyncClient:
        http = browser()
        answer = await http.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
        assert answer.status_code == 200
        return http

    abr, sfl = await signed_in("abr"), await signed_in("sfl")
    assert (await abr.get(url)).status_code == 403  # fire only; the booking is environment
    assert (await sfl.get(url)).json()["status"] == "booked"
    early = await sfl.post(f"{url}/held", json={})
    assert early.status_code == 409 and early.json()["type"].endswith("/NotYetHeld")

    slots = (await sfl.get(f"{url}/slots")).json()
    target = next(s for s in slots if s["starts_at"] != offered[0].starts_at.isoformat())
    body = {"caseworker_id": target["caseworker_id"], "starts_at": target["starts_at"]}
    moved = await sfl.post(f"{url}/move", json=body, headers={"Idempotency-Key": "m-1"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["sequence"] == 1
    repeat = await sfl.post(f"{url}/move", json=body, headers={"Idempotency-Key": "m-1"})
    assert repeat.status_code == 200 and repeat.json()["sequence"] == 1
    wrong = await sfl.post(f"{url}/move", json={"caseworker_id": "sfl", "starts_at": 5})
    assert wrong.status_code == 422 and wrong.headers["content-type"] == PROBLEM

    cancelled = await sfl.post(
        f"{url}/cancel", json={"reason": "Sygdom."}, headers={"Idempotency-Key": "c-1"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    mails = await mails_to(stack.mail_dir, email, 3)
    assert (
        mails[-1].subject.startswith("Aflyst:") and "har desværre måttet aflyse" in mails[-1].body
    )


async def test_an_intake_naming_an_unknown_or_cancelled_booking_starts_nothing(web):
    _, _settings, _client, sessions = web
    intake = make_intake(
        reference=f"FD-X-{uuid.uuid4().hex[:6]}",
        received_at=datetime.now(UTC),
        pre_dialogue_booking="FD-00000000",
    )
    with pytest.raises(case_api.CaseError) as err:
        await booking_api.check_intake_booking(sessions, intake)
    assert err.value.kind == "InvalidInput"
    assert err.value.errors[0]["field"] == "pre_dialogue_booking"


async def test_over_http_an_intake_naming_an_unknown_booking_is_422_and_starts_nothing(web):
    browser, _settings, _client, sessions = web
    import access
    from tests.test_web_api import auth, document

    key = await access.create_api_key(sessions, f"byg-{uuid.uuid4().hex[:6]}")
    reference = f"FD-H-{uuid.uuid4().hex[:6]}"
    body = document(reference, pre_dialogue_booking="FD-00000000")
    async with browser() as http:
        answer = await http.post("/api/v1/cases", json=body, headers=auth(key, "fd-h-1"))
        assert answer.status_code == 422
        assert answer.headers["content-type"] == PROBLEM
        assert [e["field"] for e in answer.json()["errors"]] == ["pre_dialogue_booking"]
        missing = await http.get(f"/api/v1/cases/{reference}", headers=auth(key))
        assert missing.status_code in (403, 404)  # never started, never owned


async def test_a_case_naming_its_booking_starts_with_the_pre_dialogue_on_record(web):
    _, settings, client, sessions = web
    from tests.test_booking import request_for

    offered = await booking_api.offered_slots(sessions, [Department.building], ())
    booked = await booking_api.book(
        client, sessions, settings, request_for("case@firma.dk"), offered[-1], uuid.uuid4().hex
    )
    intake = make_intake(
        reference=f"FD-CASE-{uuid.uuid4().hex[:6]}",
        received_at=datetime.now(UTC),
        pre_dialogue_booking=booked.booking_id.lower(),  # normalised: FD-...
    )
    await booking_api.check_intake_booking(sessions, intake)  # an active booking: passes
    await case_api.start_case(client, intake, settings.temporal_task_queue, vault=None)
    for _ in range(100):
        state = await case_api.get_state(client, intake.reference)
        view = await booking_api.get_booking(sessions, booked.booking_id)
        if state.pre_dialogues and view.case_reference:
            break
        await asyncio.sleep(0.1)
    meeting = state.pre_dialogues[0]
    assert meeting.at == offered[-1].starts_at and meeting.bookings == 1 and not meeting.held
    assert view.case_reference == intake.reference
    live = await booking_api.booking_state(client, booked.booking_id)
    assert live.case_reference == intake.reference

    await booking_api.cancel(client, sessions, booked.booking_id, "company", uuid.uuid4().hex)
    again = make_intake(
        reference=f"FD-CASE-{uuid.uuid4().hex[:6]}",
        received_at=datetime.now(UTC),
        pre_dialogue_booking=booked.booking_id,
    )
    with pytest.raises(case_api.CaseError):  # a cancelled booking: nothing is started
        await booking_api.check_intake_booking(sessions, again)
