"""The codec server for operators (web/codec.py) on the dev stack as `./dev up` runs it: the
web service (`python -m web`) over real HTTP, the Temporal dev server started with
`--ui-codec-endpoint` pointing at it, real Postgres with the caseworker directory.

An operator decodes what the product's codec encrypted (a payload, and the input of a real
workflow history); no session is a 401 problem, other staff a 403 problem; CORS answers the
Temporal UI's origin only; every use is an audit line without personal data. In chromium the
Temporal UI shows ciphertext until an operator's browser includes credentials, then the
case's data (screenshots codec-*.png)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import DataConverter

from schemas.codec import codec_from_settings
from settings import Settings
from stack.dev import prepared_settings, running_stack
from stack.ports import free_port
from tests.test_web_pages import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"
OPERATOR, CASEWORKER = "jha", "mkj"
SECRET_NAME = "Kirsten Ølgaard Brøndum"  # personal data that must never show in clear text
REFUSED = "Codec Server could not connect"  # the UI's banner when the codec server says no
INPUT = {"reference": "BYG-2026-04711", "contact": {"name": SECRET_NAME, "phone": "20304050"}}


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """Postgres, Temporal (UI with the codec endpoint) and the web service on free ports."""
    with running_stack(
        tmp_path_factory.mktemp("codec"),
        temporal_port=free_port(),
        ui_port=free_port(),
        pg_port=free_port(),
        smtp_port=free_port(),
        web_port=free_port(),
        web_env={"ERHVERV_OPERATORS": json.dumps([OPERATOR])},
    ) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module")
async def workflow(dev) -> str:
    """A workflow whose input (with a person's name) the product's codec encrypted; no worker
    runs it: its first event is enough for the UI."""
    settings = await prepared_settings(dev, f"codec-{uuid.uuid4().hex[:8]}")
    converter = DataConverter(payload_codec=codec_from_settings(settings))
    client = await Client.connect(dev.temporal_address, data_converter=converter)
    workflow_id = f"codec-test-{uuid.uuid4().hex[:8]}"
    await client.start_workflow(
        "CaseWorkflow", INPUT, id=workflow_id, task_queue=settings.temporal_task_queue
    )
    return workflow_id


async def raw_input(dev, workflow_id: str) -> list[dict]:
    """The workflow's input payloads as stored, in protobuf JSON (the UI's view of them)."""
    client = await Client.connect(dev.temporal_address)  # no codec: the bytes as stored
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    return [json_format.MessageToDict(p) for p in started.input.payloads]


@asynccontextmanager
async def session(dev, caseworker_id: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the web service, signed in as *caseworker_id* (None: anonymous)."""
    async with httpx.AsyncClient(base_url=dev.web_url, timeout=10) as http:
        if caseworker_id is not None:
            signed = await http.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
            assert signed.status_code == 200, signed.text
        yield http


def ui_origin(dev) -> str:
    return f"http://127.0.0.1:{dev.temporal.ui_port}"


def plain(value) -> dict:
    data = base64.b64encode(json.dumps(value).encode()).decode()
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": data}


# --- the dev server's UI points at the codec server ---------------------------------------


def test_the_stack_starts_the_ui_with_the_codec_endpoint(dev):
    endpoint = f"{dev.web_url}/codec"
    cmdline = Path(f"/proc/{dev.temporal.pid}/cmdline").read_bytes().split(b"\0")
    assert b"--ui-codec-endpoint" in cmdline
    assert cmdline[cmdline.index(b"--ui-codec-endpoint") + 1] == endpoint.encode()
    settings = httpx.get(f"{dev.temporal.ui_url}/api/v1/settings", timeout=10).json()
    assert settings["Codec"]["Endpoint"] == endpoint


# --- operators decode, others are refused --------------------------------------------------


async def test_the_operator_decodes_what_the_codec_encoded(dev, workflow):
    stored = await raw_input(dev, workflow)
    assert base64.b64decode(stored[0]["metadata"]["encoding"]) == b"binary/encrypted"
    assert SECRET_NAME.encode() not in base64.b64decode(stored[0]["data"])

    async with session(dev, OPERATOR) as http:
        headers = {"X-Namespace": "default"}
        decoded = await http.post(
            "/codec/decode?preserveStorageRefs=true", json={"payloads": stored}, headers=headers
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["cache-control"] == "no-store"
        [payload] = decoded.json()["payloads"]
        assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
        assert json.loads(base64.b64decode(payload["data"])) == INPUT

        # Round trip over HTTP: encode seals with the active key, decode opens it again.
        encoded = await http.post("/codec/encode", json={"payloads": [plain(INPUT)]})
        assert encoded.status_code == 200, encoded.text
        [sealed] = encoded.json()["payloads"]
        assert base64.b64decode(sealed["metadata"]["encryption-key-id"]) == b"dev-1"
        assert SECRET_NAME.encode() not in base64.b64decode(sealed["data"])
        opened = await http.post("/codec/decode", json={"payloads": [sealed]})
        assert opened.json() == {"payloads": [plain(INPUT)]}

        # Payloads written without encryption pass through; nothing in, nothing out.
        assert (await http.post("/codec/decode", json={"payloads": [plain(1)]})).json() == {
            "payloads": [plain(1)]
        }
        assert (await http.post("/codec/decode", json={"payloads": []})).json() == {"payloads": []}

    log = (dev.log_dir / "web.log").read_text()
    audit = [json.loads(line) for line in log.splitlines() if '"event": "codec"' in line]
    assert {
        "action": "decode",
        "caseworker": OPERATOR,
        "namespace": "default",
        "payloads": 1,
    }.items() <= audit[0].items()
    assert SECRET_NAME not in log and "20304050" not in log


async def test_no_session_is_401_and_other_staff_403(dev, workflow):
    stored = await raw_input(dev, workflow)
    async with session(dev, None) as anonymous:
        answer = await anonymous.post("/codec/decode", json={"payloads": stored})
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
        assert answer.json()["type"].endswith("/Unauthorized")
        assert SECRET_NAME not in answer.text
    async with session(dev, CASEWORKER) as caseworker:
        for action in ("decode", "encode"):
            answer = await caseworker.post(f"/codec/{action}", json={"payloads": stored})
            assert answer.status_code == 403 and answer.headers["content-type"] == PROBLEM
            assert answer.json()["type"].endswith("/Forbidden")
            assert SECRET_NAME not in answer.text


async def test_bad_bodies_and_unknown_keys_are_problems_without_the_input(dev):
    other = Settings(
        payload_key_id="other", payload_keys={"other": base64.b64encode(bytes(32)).decode()}
    )
    foreign = await codec_from_settings(other).encode([Payload(data=SECRET_NAME.encode())])
    async with session(dev, OPERATOR) as http:
        for body in (
            b"not json",
            b'{"payloads": [{"data": "!!"}]}',
            b'{"payloads": [{"data": 5}]}',
            b'{"payloads": [], "extra": 1}',
            b'{"payloads": [{"metadata": {"encoding": "anNvbg=="}, "dataa": ""}]}',
        ):
            answer = await http.post(
                "/codec/decode", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 422, (body, answer.text)
            assert answer.headers["content-type"] == PROBLEM
            assert "!!" not in answer.text and "Traceback" not in answer.text
        answer = await http.post(
            "/codec/decode",
            json={"payloads": [json_format.MessageToDict(p) for p in foreign]},
        )
        assert answer.status_code == 422 and answer.json()["type"].endswith("/UndecodablePayload")
        assert "'other'" in answer.json()["detail"] and SECRET_NAME not in answer.text


# --- CORS: the Temporal UI's origin only -----------------------------------------------------


async def test_cors_allows_the_ui_origin_only(dev):
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with httpx.AsyncClient(base_url=dev.web_url, timeout=10) as http:
        for action in ("decode", "encode"):
            preflight = await http.options(
                f"/codec/{action}", headers={"Origin": ui_origin(dev), **asked}
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == ui_origin(dev)
            assert preflight.headers["access-control-allow-credentials"] == "true"
            allowed = preflight.headers["access-control-allow-headers"].split(", ")
            assert set(allowed) == {"content-type", "x-namespace", "authorization"}
            assert preflight.headers["access-control-allow-methods"] == "POST"

        for origin in ("http://evil.example", "http://127.0.0.1:1", "null"):
            refused = await http.options("/codec/decode", headers={"Origin": origin, **asked})
            assert refused.status_code == 403
            assert "access-control-allow-origin" not in refused.headers
        odd = await http.options(
            "/codec/decode",
            headers={"Origin": ui_origin(dev), **asked, "Access-Control-Request-Headers": "x-evil"},
        )
        assert odd.status_code == 403

    async with session(dev, OPERATOR) as http:
        body = {"payloads": [plain(1)]}
        ours = await http.post("/codec/decode", json=body, headers={"Origin": ui_origin(dev)})
        assert ours.status_code == 200
        assert ours.headers["access-control-allow-origin"] == ui_origin(dev)
        assert ours.headers["access-control-allow-credentials"] == "true"
        theirs = await http.post(
            "/codec/decode", json=body, headers={"Origin": "http://evil.example"}
        )
        assert theirs.status_code == 403 and "access-control-allow-origin" not in theirs.headers
    async with session(dev, None) as anonymous:  # the UI can read the refusal too
        refused = await anonymous.post(
            "/codec/decode", json=body, headers={"Origin": ui_origin(dev)}
        )
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == ui_origin(dev)


# --- the Temporal UI in chromium -------------------------------------------------------------


async def ui_input_text(page, ui: str, workflow_id: str, name: str, expect: str) -> str:
    """The workflow page's text once *expect* shows; a screenshot codec-<name>.png."""
    await page.goto(f"{ui}/namespaces/default/workflows/{workflow_id}")
    await page.get_by_text(expect).locator("visible=true").first.wait_for(timeout=30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"codec-{name}.png"), full_page=True)
    return await page.inner_text("body")


async def test_the_temporal_ui_shows_the_case_only_to_a_signed_in_operator(dev, workflow):
    from playwright.async_api import async_playwright

    ui = dev.temporal.ui_url
    browser_codec = {  # the UI's codec dialog: this browser's endpoint, with credentials
        "overrideRemoteCodecConfiguration": "true",
        "endpoint": json.dumps(f"{dev.web_url}/codec"),
        "includeCredentials": "true",
    }
    script = "s => { for (const [k, v] of Object.entries(s)) localStorage.setItem(k, v); }"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            texts = {}
            for who, include in (
                ("anonymous", False),
                ("caseworker", True),
                ("operator-without-credentials", False),
                ("operator", True),
            ):
                context = await browser.new_context(viewport={"width": 1400, "height": 1000})
                page = await context.new_page()
                caseworker = {"caseworker": CASEWORKER, "anonymous": None}.get(who, OPERATOR)
                if caseworker:
                    signed = await page.request.post(
                        f"{dev.web_url}/auth/dev/sign-in", data={"caseworker_id": caseworker}
                    )
                    assert signed.ok
                if include:
                    await page.goto(ui)
                    await page.evaluate(script, browser_codec)
                expect = SECRET_NAME if who == "operator" else REFUSED
                texts[who] = await ui_input_text(page, ui, workflow, who, expect)
                await context.close()
        finally:
            await browser.close()
    assert SECRET_NAME in texts["operator"] and REFUSED not in texts["operator"]
    ciphertext = (await raw_input(dev, workflow))[0]["data"]
    for who in ("anonymous", "caseworker", "operator-without-credentials"):
        assert SECRET_NAME not in texts[who], who
        assert ciphertext[:40] in texts[who], who  # the stored bytes, as base64
