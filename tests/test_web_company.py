"""The company's own case page over the real worker, Temporal, Postgres and SMTP sink: the
link from the receipt as it arrived, every action with a double submit (one effect), hostile
uploads refused with nothing stored, CSRF, the MitID Erhverv seam, the staff's download, and
the audit trail (every view and action, free of personal data)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

import case_api
from domain import company_link
from tests.conftest import make_intake
from tests.test_e2e import mails_to, product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_oidc import log_lines
from web.app import create_app
from web.company.identity import COOKIE as COMPANY_COOKIE
from web.company.identity import company_cookie
from web.forms import reset_rate_limits

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 64 * 1024
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


@pytest_asyncio.fixture(scope="module")
async def site(product, tmp_path_factory):  # noqa: F811
    """The app on the product's Postgres and Temporal; uploads in a folder, small limit."""
    settings, client, sessions = product
    upload_dir = tmp_path_factory.mktemp("uploads")
    settings = settings.model_copy(
        update={"upload_max_bytes": MAX_BYTES, "upload_dir": upload_dir, "dev_sign_in": True}
    )
    app = create_app(settings, sessions=sessions, client=client)
    async with app.router.lifespan_context(app):
        yield Site(app, settings, client, sessions)


class Site:
    def __init__(self, app, settings, client, sessions):
        self.app, self.settings, self.client, self.sessions = app, settings, client, sessions

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://127.0.0.1"
        )

    @property
    def secret(self) -> bytes:
        return company_link.signing_secret(
            self.settings.company_link_secret.get_secret_value(),
            self.settings.web_secret.get_secret_value(),
        )


async def new_case(site: Site, stack, tag: str = "CP", **extra) -> tuple[str, str]:  # noqa: F811
    """A case started now; (reference, the case page's path and query from its receipt as
    it arrived over SMTP)."""
    reference = f"{tag}-{uuid.uuid4().hex[:8]}"
    email = f"{reference.lower()}@firma.dk"
    contact = {"name": "Åse Ørsted", "email": email, "phone": "98123456"}
    intake = make_intake(
        reference=reference, received_at=datetime.now(UTC), contact=contact, **extra
    )
    await case_api.start_case(site.client, intake, site.settings.temporal_task_queue, vault=None)
    mails = await mails_to(stack.mail_dir, email, 1)
    assert mails, "no receipt arrived"
    return reference, link_in(mails[0].body)


def link_in(body: str) -> str:
    found = re.search(r"I kan følge jeres sag og sende materiale her: (\S+)", body)
    assert found, body
    url = found.group(1)
    assert url.startswith("http://127.0.0.1:8000/sag?t="), url
    return url.removeprefix("http://127.0.0.1:8000")


def form_fields(page: str, action_part: str) -> dict[str, str]:
    """The hidden fields of the form whose action contains *action_part*."""
    for form in re.findall(r"<form[^>]*>.*?</form>", page, re.DOTALL):
        action = re.search(r'action="([^"]+)"', form).group(1)
        if action_part in action:
            hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
            hidden["_action"] = action.replace("&amp;", "&")
            return hidden
    raise AssertionError(f"no form for {action_part}")


def text_of(page: str) -> str:
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def web_events(site: Site, reference: str) -> list:
    return [e for e in await case_api.case_events(site.sessions, reference) if e.source == "web"]


def assert_no_personal_data(events, *values: str) -> None:
    dumped = json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False)
    for value in values:
        assert value.lower() not in dumped.lower(), value


async def eventually(check, tries: int = 100):
    for _ in range(tries):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    return await check()


async def _view_three_times(http, link: str):
    """The page as the company opens it, again, and with a broken link (a refusal is logged
    too); the first answer and the link's token."""
    page = await http.get(link)
    assert page.status_code == 200, page.text
    await http.get(link)
    await http.get(link + "x")
    return page, link.split("t=", 1)[1]


# ------------------------------------------------------------------------------ tests
async def test_the_receipt_links_the_case_page_and_each_view_is_audited(site, stack):  # noqa: F811
    reference, link = await new_case(site, stack)
    http = site.browser()
    with log_lines() as lines:
        page, token = await _view_three_times(http, link)
    logged = json.dumps(lines, ensure_ascii=False)
    assert any(line.get("event") == "case page shown" for line in lines), logged
    assert token[:40] not in logged  # the token never reaches a log line
    text = text_of(page.text)
    assert f"Jeres sag {reference}" in text and "Sagens forløb" in text
    assert "Vi har modtaget jeres sag" in text and "I får jeres procesansvarlige" in text
    assert "Der mangler" in text and "Send materiale" in text
    assert "Kvittering for jeres sag" in text  # the letters sent
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert not re.search(r"\b(du|dig|din|dit|dine)\b", text, re.IGNORECASE)
    events = await web_events(site, reference)
    assert [e.kind for e in events].count("company_page_viewed") == 2
    assert all(e.data["via"] == "link" and len(e.data["link_id"]) == 32 for e in events)
    assert_no_personal_data(events, "Åse", "Ørsted", "firma.dk", "Nordjysk", "98123456")
    # The API's trail shows both sources, the case's first.
    every = await case_api.case_events(site.sessions, reference)
    assert every[0].kind == "case_received" and every[0].source == "case"


async def test_upload_twice_with_one_request_id_stores_one_file_and_marks_the_item(site, stack):  # noqa: F811
    reference, link = await new_case(site, stack)
    http = site.browser()
    page = (await http.get(link)).text
    fields = form_fields(page, "/sag/materiale")
    code = re.search(r'<option value="([a-z._]+)"', page).group(1)
    body = {"csrf_token": fields["csrf_token"], "request_id": fields["request_id"]}
    body["material_code"] = code
    answers = [
        await http.post(
            fields["_action"],
            data=body,
            files={"file": ("Situationsplan æøå.pdf", PDF, "application/pdf")},
        )
        for _ in range(2)
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert "Tak – vi har modtaget jeres fil" in answer.text
        assert hashlib.sha256(PDF).hexdigest() in answer.text
    files = await case_api.material_files(site.sessions, reference)
    assert len(files) == 1
    assert files[0].material_code == code and files[0].filename == "Situationsplan æøå.pdf"
    assert files[0].content_type == "application/pdf" and files[0].size == len(PDF)
    assert (site.settings.upload_dir / files[0].id).read_bytes() == PDF
    assert not list(site.settings.upload_dir.glob(".*.part"))
    state = await case_api.get_state(site.client, reference)
    assert code in state.received_material
    page = text_of((await http.get(link)).text)
    assert "Situationsplan æøå.pdf" in page
    events = await web_events(site, reference)
    uploaded = [e for e in events if e.kind == "company_material_uploaded"]
    assert len(uploaded) == 1 and uploaded[0].data["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert uploaded[0].data["code"] == code and uploaded[0].data["size"] == len(PDF)
    assert_no_personal_data(events, "Situationsplan", "Åse", "firma.dk")


HOSTILE = [
    ("oversized", "plan.pdf", PDF + b"0" * (MAX_BYTES + 1), 413, "Filen er for stor"),
    ("exe", "plan.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200, 422, "hverken en PDF-fil"),
    ("html", "plan.pdf", b"<!DOCTYPE html><html><body>x</body></html>", 422, "hverken en PDF"),
    ("empty", "plan.pdf", b"", 422, "Filen er tom"),
    ("path", "../../etc/passwd.pdf", PDF, 422, "mapper eller stier"),
    ("backslash", "..\\..\\boot.pdf", PDF, 422, "mapper eller stier"),
    ("bidi", "plan\u202efdp.exe", PDF, 422, "styretegn"),
]


@pytest.mark.parametrize(("name", "filename", "content", "status", "message"), HOSTILE)
async def test_hostile_uploads_are_refused_and_nothing_is_stored(
    site,
    stack,  # noqa: F811
    name,
    filename,
    content,
    status,
    message,
):
    reset_rate_limits()
    reference, link = await new_case(site, stack, tag=f"H{name[:3].upper()}")
    http = site.browser()
    page = (await http.get(link)).text
    fields = form_fields(page, "/sag/materiale")
    code = re.search(r'<option value="([a-z._]+)"', page).group(1)
    before = sorted(p.name for p in site.settings.upload_dir.iterdir())
    answer = await http.post(
        fields["_action"],
        data={
            "csrf_token": fields["csrf_token"],
            "request_id": fields["request_id"],
            "material_code": code,
        },
        files={"file": (filename, content, "application/pdf")},
    )
    assert answer.status_code == status, answer.text[:500]
    text = text_of(answer.text)
    assert message in text and "problem, I skal rette" in text
    assert 'href="#upload-file"' in answer.text  # the summary leads to the field
    assert "Traceback" not in answer.text
    assert await case_api.material_files(site.sessions, reference) == []
    assert sorted(p.name for p in site.settings.upload_dir.iterdir()) == before
    state = await case_api.get_state(site.client, reference)
    assert code not in state.received_material
    refused = [e for e in await web_events(site, reference) if e.kind == "company_upload_refused"]
    assert len(refused) == 1


async def test_a_form_without_its_csrf_token_is_refused_in_danish(site, stack):  # noqa: F811
    reference, link = await new_case(site, stack)
    http = site.browser()
    page = (await http.get(link)).text
    fields = form_fields(page, "/sag/baeredygtighed")
    answer = await http.post(
        fields["_action"], data={"request_id": fields["request_id"], "level": "3"}
    )
    assert answer.status_code == 403
    assert "Formularen kunne ikke sendes" in answer.text
    state = await case_api.get_state(site.client, reference)
    assert state.sustainability_level == 2


async def post_twice(http, page: str, action_part: str, data: dict) -> list[httpx.Response]:
    fields = form_fields(page, action_part)
    body = {"csrf_token": fields["csrf_token"], "request_id": fields["request_id"], **data}
    return [await http.post(fields["_action"], data=body) for _ in range(2)]


async def test_each_action_submitted_twice_takes_effect_once(site, stack):  # noqa: F811
    reset_rate_limits()
    reference, link = await new_case(site, stack, sustainability_level=1)
    http = site.browser()
    page = (await http.get(link)).text

    for answer in await post_twice(
        http,
        page,
        "/sag/projektaendring",
        {"description": "Hallen bliver 200 m² større.", "departments": ["building"]},
    ):
        assert answer.status_code == 200 and "ændringen af projektet" in answer.text
    wrong = await post_twice(http, page, "/sag/forhaandsdialog", {"topic": "sustainability"})
    assert wrong[0].status_code == 409 and "hører til niveau 2 eller 3" in wrong[0].text
    assert 'href="#dialogue-submit"' in wrong[0].text
    for answer in await post_twice(http, page, "/sag/baeredygtighed", {"level": "2"}):
        assert answer.status_code == 200 and "niveau 2" in answer.text
    page = (await http.get(link)).text
    for answer in await post_twice(
        http, page, "/sag/forhaandsdialog", {"topic": "sustainability", "note": "Gerne om tag."}
    ):
        assert answer.status_code == 200 and "forhåndsdialog" in answer.text

    state = await case_api.get_state(site.client, reference)
    assert state.project_changes == 1
    assert len(state.pre_dialogues) == 1 and state.pre_dialogues[0].topic == "sustainability"
    assert state.sustainability_level == 2

    confirm = await http.get(link.replace("/sag?", "/sag/tilbagetraek?"))
    assert confirm.status_code == 200 and "Træk sag" in confirm.text
    missing = await post_twice(http, confirm.text, "/sag/tilbagetraek", {})
    assert missing[0].status_code == 422 and 'href="#withdraw-confirm"' in missing[0].text
    for answer in await post_twice(
        http, confirm.text, "/sag/tilbagetraek", {"confirm": "ja", "reason": "Projektet er udsat."}
    ):
        assert answer.status_code == 200 and "Jeres sag er trukket tilbage" in answer.text
    state = await case_api.get_state(site.client, reference)
    assert state.closing == "withdrawn"

    kinds = [e.kind for e in await web_events(site, reference)]
    assert kinds.count("company_project_change_reported") == 2  # each submit is audited ...
    assert kinds.count("company_case_withdrawn") == 2  # ... and took effect once
    closed = text_of((await http.get(link)).text)
    assert "Sagen er lukket" in closed and "Send materiale" not in closed


async def test_the_nbe_offer_is_answered_once_and_only_when_offered(site, stack):  # noqa: F811
    reset_rate_limits()
    reference, link = await new_case(site, stack, sustainability_level=3)
    http = site.browser()
    assert "/sag/nbe" not in (await http.get(link)).text
    await case_api.assign_caseworker(site.client, reference, "mkj")

    async def offered():
        return (await case_api.get_state(site.client, reference)).nbe_offer_sent

    assert await eventually(offered)
    page = (await http.get(link)).text
    person = await case_api.staff_member(site.sessions, "mkj")
    assert person.name in text_of(page) and f"mailto:{person.email}" in page  # how to reach
    for answer in await post_twice(http, page, "/sag/nbe", {"answer": "ja"}):
        assert answer.status_code == 200 and "ja tak" in answer.text
    state = await case_api.get_state(site.client, reference)
    assert state.nbe_accepted is True
    assert "/sag/nbe" not in (await http.get(link)).text


async def test_tampered_expired_and_revoked_links_get_danish_refusals(site, stack):  # noqa: F811
    reference, link = await new_case(site, stack)
    http = site.browser()
    token = link.split("t=", 1)[1]
    tampered = await http.get(f"/sag?t={token[:-3]}abc")
    assert tampered.status_code == 403 and "Linket er ikke gyldigt" in tampered.text
    assert (await http.get("/sag")).status_code == 403
    case_id = f"case-{reference}"
    link_id = company_link.link_id_for(case_id, "receipt")
    old = company_link.make_token(
        site.secret,
        case_id,
        link_id,
        now=time.time() - (site.settings.company_link_days + 1) * 86400,
    )
    expired = await http.get(f"/sag?t={old}")
    assert expired.status_code == 410 and "Linket er udløbet" in expired.text
    assert f"{site.settings.company_link_days} dage" in expired.text
    revoked_by_cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "starter.py",
        "company-link",
        "revoke",
        reference,
        cwd=ROOT,
        env={**os.environ, "ERHVERV_DATABASE_URL": site.settings.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await revoked_by_cli.communicate()
    assert revoked_by_cli.returncode == 0, err.decode()
    assert f"Revoked 1 case page link of case {reference}" in " ".join(out.decode().split())
    revoked = await http.get(link)
    assert revoked.status_code == 410 and "Linket virker ikke længere" in revoked.text
    assert await case_api.revoke_company_links(site.sessions, reference) == 0
    kinds = [e.kind for e in await web_events(site, reference)]
    assert "company_link_refused" in kinds


async def test_a_company_signed_in_with_mitid_erhverv_sees_its_own_cases(site, stack):  # noqa: F811
    reference, _ = await new_case(site, stack, company={"cvr": "29189420", "name": "Egen ApS"})
    other, _ = await new_case(site, stack, company={"cvr": "10150817", "name": "Anden A/S"})
    http = site.browser()
    assert (await http.get("/virksomhed")).status_code == 401
    secret = site.settings.web_secret.get_secret_value().encode()
    http.cookies.set(COMPANY_COOKIE, company_cookie(secret, "29189420"))

    async def listed():
        page = await http.get("/virksomhed")
        return page if f"/virksomhed/sager/{reference}" in page.text else None

    page = await eventually(listed)
    assert page is not None and f"/virksomhed/sager/{other}" not in page.text
    own = await http.get(f"/virksomhed/sager/{reference}")
    assert own.status_code == 200 and f"Jeres sag {reference}" in own.text
    assert f'action="/virksomhed/sager/{reference}/materiale"' in own.text
    assert (await http.get(f"/virksomhed/sager/{other}")).status_code == 404
    events = await web_events(site, reference)
    assert any(e.kind == "company_page_viewed" and e.data["via"] == "cvr" for e in events)
    http.cookies.set(COMPANY_COOKIE, "29189420.1.forged")
    assert (await http.get(f"/virksomhed/sager/{reference}")).status_code == 401


async def test_staff_download_a_delivered_file_stored_in_postgres(product, stack):  # noqa: F811
    settings, client, sessions = product
    settings = settings.model_copy(update={"dev_sign_in": True})
    app = create_app(settings, sessions=sessions, client=client)
    async with app.router.lifespan_context(app):
        site = Site(app, settings, client, sessions)
        reset_rate_limits()
        reference, link = await new_case(site, stack, tag="DL")
        http = site.browser()
        page = (await http.get(link)).text
        fields = form_fields(page, "/sag/materiale")
        code = re.search(r'<option value="([a-z._]+)"', page).group(1)
        answer = await http.post(
            fields["_action"],
            data={
                "csrf_token": fields["csrf_token"],
                "request_id": fields["request_id"],
                "material_code": code,
            },
            files={"file": ("foto.pdf", PNG, "application/pdf")},  # a PNG, whatever its name
        )
        assert answer.status_code == 200, answer.text
        (info,) = await case_api.material_files(sessions, reference)
        assert info.content_type == "image/png"
        url = f"/sagsbehandler/sager/{reference}/filer/{info.id}"
        assert (await site.browser().get(url)).status_code == 401
        staff = site.browser()
        signed = await staff.post("/auth/dev/sign-in", json={"caseworker_id": "mkj"})
        assert signed.status_code == 200
        listed = await staff.get(f"/sagsbehandler/sager/{reference}/filer")
        assert [f["sha256"] for f in listed.json()] == [hashlib.sha256(PNG).hexdigest()]
        desk = await staff.get(f"/sagsbehandler/sager/{reference}")  # the staff case page
        assert desk.status_code == 200 and f'href="{url}"' in desk.text
        assert "Modtagne filer" in desk.text and hashlib.sha256(PNG).hexdigest()[:12] in desk.text
        got = await staff.get(url)
        assert got.status_code == 200 and got.content == PNG
        assert got.headers["content-type"] == "image/png"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"].startswith('attachment; filename="foto.pdf"')
        assert (
            await staff.get(f"/sagsbehandler/sager/{reference}/filer/{'0' * 32}")
        ).status_code == 404
