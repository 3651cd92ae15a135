"""The caseworkers' desk in the browser over the real worker, Temporal and Postgres: the
worklist page in `case_api.worklist`'s order, a case taken, reviewed and decided through the
HTML forms (urlencoded posts with the page's CSRF token and request ids), a double submit
running once, CSRF and role refusals as Danish pages, the Danish error summary, a rejection by
the case in Danish, and the dev mail-sink page (404 unless switched on)."""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from domain import calendar
from domain.texts import danish_date
from schemas.intake import CaseIntake
from stack.smtp_sink import read_mails
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack
from tests.test_web_api import auth, document
from tests.test_web_officers import eventually, signed_in, web  # noqa: F401
from web.app import create_app

pytestmark = pytest.mark.e2e
HTML = {"accept": "text/html"}


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def form_fields(page: str, form_id: str) -> dict[str, str]:
    """The hidden fields (CSRF token, request id, ...) of the form *form_id* on *page*."""
    match = re.search(rf'<form [^>]*id="{re.escape(form_id)}"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert match, f"no form {form_id} on the page"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match[1]))


def csrf_of(page: str) -> dict[str, str]:
    """The page's CSRF token (one per browser, the same in every form) and a new request id."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no form on the page"
    return {"csrf_token": token[1], "request_id": uuid.uuid4().hex}


def action_of(page: str, form_id: str) -> str:
    match = re.search(rf'<form [^>]*id="{re.escape(form_id)}"[^>]*action="([^"]+)"', page)
    assert match, f"no form {form_id} on the page"
    return html.unescape(match[1])


async def submit(http: httpx.AsyncClient, page: str, form_id: str, **fields) -> httpx.Response:
    """Post the form *form_id* of *page* as a browser does (urlencoded, its hidden fields)."""
    return await http.post(
        action_of(page, form_id), data=form_fields(page, form_id) | fields, headers=HTML
    )


async def case_page(http: httpx.AsyncClient, reference: str, has: str = "") -> str:
    """The staff case page, once it shows *has* (the workflow moves on in the background)."""
    answer = await eventually(
        lambda: http.get(f"/sagsbehandler/sager/{reference}", headers=HTML),
        lambda a: a.status_code == 200 and has in a.text,
    )
    assert answer.status_code == 200 and has in answer.text, (has, text_of(answer.text)[:3000])
    return answer.text


async def start(web, reference: str, **extra) -> dict:  # noqa: F811
    browser, key = web
    body = document(reference, **extra)
    answer = await browser().post("/api/v1/cases", json=body, headers=auth(key))
    assert answer.status_code == 201, answer.text
    return body


def worklist_references(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/sagsbehandler/sager/([^"]+)">', page)


async def test_the_worklist_page_lists_the_cases_in_the_worklists_order(web):  # noqa: F811
    browser, _ = web
    anonymous = await browser().get("/sagsbehandler", headers=HTML)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/log-ind?next=/sagsbehandler"

    reference = f"DESK-W-{uuid.uuid4().hex[:8]}"
    body = await start(web, reference)
    mkj = await signed_in(browser, "mkj")

    async def both():
        page = await mkj.get("/sagsbehandler", headers=HTML)
        items = (await mkj.get("/api/v1/worklist")).json()
        return page, items

    for _ in range(100):
        page, items = await both()
        order = [i["reference"] for i in items]
        if reference in order and worklist_references(page.text) == order:
            break
    assert page.status_code == 200
    assert worklist_references(page.text) == order and reference in order
    assert "<caption>" in page.text and '<th scope="col">Senest</th>' in page.text

    row = re.search(
        rf"<tr[^>]*>\s*<th scope=\"row\"><a[^>]*>{reference}</a>.*?</tr>", page.text, re.DOTALL
    )
    assert row is not None
    line = text_of(row.group())
    intake = CaseIntake.model_validate_json(json.dumps(body))
    deadline = calendar.contact_deadline(intake.received_at)
    assert "Industri- og lagerbygning" in line and intake.company.name in line
    assert "Kontakt til virksomheden" in line and danish_date(deadline) in line
    assert "Ingen endnu" in line
    mine = next(i for i in items if i["reference"] == reference)
    assert mine["reason_text"] in line


async def test_a_case_is_taken_reviewed_and_decided_through_the_forms(web, stack):  # noqa: F811
    browser, key = web
    reference = f"DESK-{uuid.uuid4().hex[:8]}"
    body = await start(web, reference)
    mkj, abr, sfl = [await signed_in(browser, i) for i in ("mkj", "abr", "sfl")]
    sfl_csrf = csrf_of(await case_page(sfl, reference, 'id="take"'))

    # mkj takes the case from its page.
    page = await case_page(mkj, reference, 'id="take"')
    assert "Tag sagen" in page and "Ingen endnu" in page
    no_csrf = await mkj.post(
        action_of(page, "take"),
        data={"caseworker_id": "mkj", "request_id": form_fields(page, "take")["request_id"]},
        headers=HTML,
    )
    assert no_csrf.status_code == 403 and "Formularen kunne ikke sendes" in no_csrf.text
    taken = await submit(mkj, page, "take")
    assert taken.status_code == 303, taken.text
    assert taken.headers["location"] == f"/sagsbehandler/sager/{reference}?udfoert=take"
    page = (await mkj.get(taken.headers["location"], headers=HTML)).text
    assert "Sagen er din nu" in page and "det er dig" in page

    # The decision before the reviews: the case refuses it, in Danish.
    early = await mkj.post(
        f"/sagsbehandler/sager/{reference}/afgoerelse",
        data=csrf_of(page) | {"grounds": "For tidligt."},
        headers=HTML,
    )
    assert early.status_code == 409
    assert "Handlingen blev ikke udført" in early.text
    assert "Det kan ikke lade sig gøre i sagens nuværende fase" in early.text

    # The company's material arrives (the case system); the reviews start.
    state = (await browser().get(f"/api/v1/cases/{reference}", headers=auth(key))).json()
    codes = [m["code"] for m in state["required_material"]]
    sent = await browser().post(
        f"/api/v1/cases/{reference}/material", json={"codes": codes}, headers=auth(key)
    )
    assert sent.json()["complete"] is True

    # sfl (environment) may not review for building: a Danish 403 page.
    page = await case_page(mkj, reference, 'id="review-building"')
    sfl_page = await case_page(sfl, reference)
    assert 'id="review-building"' not in sfl_page and 'id="review-fire"' not in sfl_page
    wrong = await sfl.post(
        f"/sagsbehandler/sager/{reference}/vurdering/building",
        data=sfl_csrf | {"outcome": "approved", "text": "Ok."},
        headers=HTML,
    )
    assert wrong.status_code == 403, wrong.text
    assert "Handlingen hører ikke til din rolle" in wrong.text and "byggeri" in wrong.text

    # Invalid input: the Danish error summary, linking to the fields, what was typed kept.
    bad = await submit(
        mkj, page, "review-building", outcome="approved", text="", conditions="Hegn om byggepladsen"
    )
    assert bad.status_code == 422
    assert "Der er en fejl i formularen" in bad.text
    assert '<a href="#review-building-text">Udfyld vurdering.</a>' in bad.text
    assert 'aria-invalid="true"' in bad.text and "Hegn om byggepladsen" in bad.text
    mixed = await submit(
        mkj, page, "review-building", outcome="approved", text="Ok.", conditions="Hegn"
    )
    assert mixed.status_code == 422
    assert 'href="#review-building-conditions">Vilkår hører kun til' in mixed.text
    none = await submit(mkj, page, "review-building", text="Ok.")
    assert none.status_code == 422
    assert '<a href="#review-building-outcome">Udfyld resultat.</a>' in none.text

    # The reviews, each by an officer of the department; a double submit runs once.
    reviewed = await submit(mkj, page, "review-building", outcome="approved", text="I orden.")
    again = await submit(mkj, page, "review-building", outcome="approved", text="I orden.")
    assert reviewed.status_code == again.status_code == 303, (reviewed.text, again.text)
    assert reviewed.headers["location"].endswith("?udfoert=review")
    abr_page = await case_page(abr, reference, 'id="review-fire"')
    assert 'id="review-building"' not in abr_page
    fire = await submit(
        abr,
        abr_page,
        "review-fire",
        outcome="approved_with_conditions",
        text="Brandstrategien er i orden.",
        conditions="Sprinkleranlægget skal være installeret før ibrugtagning.",
    )
    assert fire.status_code == 303, fire.text

    # The coordinator issues the decision, twice with the same request id: it runs once.
    page = await case_page(mkj, reference, 'id="decision"')
    assert "Afgivet: godkendt med vilkår" in text_of(page)
    grounds = "Projektet overholder reglerne."
    decided = await submit(mkj, page, "decision", grounds=grounds)
    assert decided.status_code == 303, decided.text
    assert decided.headers["location"].endswith("?udfoert=decision")
    repeated = await submit(mkj, page, "decision", grounds=grounds)
    assert repeated.status_code == 303, repeated.text
    done = (await mkj.get(decided.headers["location"], headers=HTML)).text
    assert "Afgørelsen er sendt." in done and 'id="decision"' not in done

    state = (await browser().get(f"/api/v1/cases/{reference}", headers=auth(key))).json()
    assert state["decision_issued"] is True
    assert state["reviews"]["building"]["text"] == "I orden."
    letters = await mails_to(stack.mail_dir, body["contact"]["email"], 99, timeout=3)
    decisions = [m for m in letters if m.subject == f"Afgørelse i sag {reference}"]
    assert len(decisions) == 1, [m.subject for m in letters]


async def test_a_handover_by_someone_else_is_refused_and_the_worklist_needs_sign_in(web):  # noqa: F811
    browser, _ = web
    reference = f"DESK-H-{uuid.uuid4().hex[:8]}"
    await start(web, reference)
    mkj, sfl = await signed_in(browser, "mkj"), await signed_in(browser, "sfl")
    sfl_csrf = csrf_of(await case_page(sfl, reference, 'id="take"'))
    page = await case_page(mkj, reference, 'id="take"')
    assert (await submit(mkj, page, "take")).status_code == 303
    sfl_page = await case_page(sfl, reference, "Mette Kjær Jensen")
    assert 'id="handover"' not in sfl_page and 'id="take"' not in sfl_page
    refused = await sfl.post(
        f"/sagsbehandler/sager/{reference}/overdrag",
        data=sfl_csrf | {"caseworker_id": "sfl", "replacing": "mkj"},
        headers=HTML,
    )
    assert refused.status_code == 403, refused.text
    assert "Kun sagens procesansvarlige sagsbehandler eller en driftsansvarlig" in refused.text
    # A take that names whom it replaces is a handover: the same rule.
    sneaky = await sfl.post(
        f"/sagsbehandler/sager/{reference}/tag",
        data=sfl_csrf | {"caseworker_id": "sfl", "replacing": "mkj"},
        headers=HTML,
    )
    assert sneaky.status_code == 403, sneaky.text
    state_page = await case_page(mkj, reference)
    assert "Mette Kjær Jensen (mkj)" in state_page
    anonymous = await browser().get(f"/sagsbehandler/sager/{reference}", headers=HTML)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/log-ind?next=/sagsbehandler/sager/{reference}"
    unknown = await mkj.get("/sagsbehandler/sager/NO-SUCH-CASE-1", headers=HTML)
    assert unknown.status_code == 404 and "Siden findes ikke" in unknown.text


async def test_the_mail_sink_page_is_there_only_when_switched_on(product, stack):  # noqa: F811
    settings, client, sessions = product
    for on in (False, True):
        app = create_app(
            settings.model_copy(update={"mail_sink_page": on}), sessions=sessions, client=client
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
            ) as http,
        ):
            listing = await http.get("/dev/post", headers=HTML)
            if not on:
                assert listing.status_code == 404 and "Siden findes ikke" in listing.text
                assert (await http.get("/dev/post/x.eml", headers=HTML)).status_code == 404
                continue
            mails = read_mails(stack.mail_dir)
            assert mails, "the other tests sent letters"
            assert listing.status_code == 200
            names = re.findall(r'href="/dev/post/([^"]+\.eml)"', listing.text)
            assert names == sorted(names, reverse=True) and mails[-1].path.name == names[0]
            receipt = next(m for m in mails if m.subject.startswith("Kvittering"))
            one = await http.get(f"/dev/post/{receipt.path.name}", headers=HTML)
            assert one.status_code == 200 and html.escape(receipt.subject) in one.text
            links = re.findall(r"https?://[^\s<>\"']+", receipt.body)
            assert links and f'<a href="{html.escape(links[0])}">' in one.text
            for bad in ("..%2F..%2Fsettings.py", "nope.eml", ".hidden.eml"):
                assert (await http.get(f"/dev/post/{bad}", headers=HTML)).status_code == 404


async def test_meetings_and_more_time_through_the_forms(web):  # noqa: F811
    browser, key = web
    reference = f"DESK-M-{uuid.uuid4().hex[:8]}"
    await start(web, reference)
    mkj = await signed_in(browser, "mkj")
    page = await case_page(mkj, reference, 'id="take"')
    assert (await submit(mkj, page, "take")).status_code == 303
    page = await case_page(mkj, reference, 'id="book"')

    # A working day two weeks on, 10:00 Copenhagen time, as a datetime-local field sends it.
    day = calendar.add_working_days(calendar.local_date(datetime.now(UTC)), 10)
    at = f"{day.isoformat()}T10:00"
    nowhere = await submit(mkj, page, "book", topic="general", at=at, place="", video_link="")
    assert nowhere.status_code == 422
    assert '<a href="#book-place">Skriv et sted eller et videolink til mødet.</a>' in nowhere.text
    assert f'value="{at}"' in nowhere.text
    booked = await submit(mkj, page, "book", topic="general", at=at, place="Rådhuset")
    assert booked.status_code == 303, booked.text
    page = (await mkj.get(booked.headers["location"], headers=HTML)).text
    assert "Forhåndsdialogen er booket" in page
    assert f"{danish_date(day)} kl. 10.00" in text_of(page) and "Rådhuset" in page
    cancelled = await submit(mkj, page, "cancel-general", reason="Virksomheden har meldt afbud.")
    assert cancelled.status_code == 303, cancelled.text
    page = (await mkj.get(cancelled.headers["location"], headers=HTML)).text
    assert "Forhåndsdialogen er aflyst" in page and "Aflyst" in page

    state = (await browser().get(f"/api/v1/cases/{reference}", headers=auth(key))).json()
    codes = [m["code"] for m in state["required_material"]]
    await browser().post(
        f"/api/v1/cases/{reference}/material", json={"codes": codes}, headers=auth(key)
    )
    page = await case_page(mkj, reference, 'id="more_time-fire"')
    words = await submit(mkj, page, "more_time-fire", working_days="fem", reason="Vi venter.")
    assert words.status_code == 422
    assert '<a href="#more_time-fire-working_days">Antal hverdage skal være et tal.</a>' in (
        words.text
    )
    more = await submit(
        mkj, page, "more_time-fire", working_days="5", reason="Vi afventer en vurdering."
    )
    assert more.status_code == 303, more.text
    assert more.headers["location"].endswith("?udfoert=more_time")


def test_the_dev_stack_turns_the_dev_pages_on_unless_told_otherwise(tmp_path):
    from stack.web import WebProcess

    env = {"ERHVERV_STATE_DIR": str(tmp_path)}
    on = WebProcess(8000, tmp_path / "web.log", env, tmp_path).process_env()
    assert on["ERHVERV_MAIL_SINK_PAGE"] == on["ERHVERV_DEV_SIGN_IN"] == "true"
    told = env | {"ERHVERV_MAIL_SINK_PAGE": "false"}
    off = WebProcess(8000, tmp_path / "web.log", told, tmp_path).process_env()
    assert off["ERHVERV_MAIL_SINK_PAGE"] == "false" and off["ERHVERV_DEV_SIGN_IN"] == "true"
