"""Fault 6: officers racing over real HTTP (uvicorn on a port, its own Postgres pool and
Temporal client) on the real worker, Temporal dev server, Postgres and SMTP sink.

Already covered elsewhere, one request after another (tests/test_web_officers.py: a second
first-assignment is a 409 AlreadyAssigned; tests/test_web_api.py: concurrent starts with one
Idempotency-Key start one case). Covered here, at the same moment: two officers assigning
different caseworkers as the first assignment; two handovers of one case; a decision against
the company's withdrawal; one officer's request sent several times at once with one
Idempotency-Key. Each time exactly one wins, the other gets a clear 409 problem, a retry with
the same key returns the first answer, and the reconciliation finds nothing lost or
duplicated."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio

import access
from domain.material import required_material
from schemas.intake import CaseType, Department, case_workflow_id
from tests.reconcile import settled
from tests.serving import serving
from tests.test_e2e import product, stack  # noqa: F401 - the running stack and worker
from tests.test_web_api import document
from web.app import create_app

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"
ROUNDS = 4  # cases raced per conflict


@pytest_asyncio.fixture(scope="module")
async def web(product):  # noqa: F811
    """The app served over real HTTP, and a case system's API key."""
    settings, _, sessions = product
    settings = settings.model_copy(update={"dev_sign_in": True, "operators": ["jha", "abr"]})
    key = await access.create_api_key(sessions, f"race-{uuid.uuid4().hex[:6]}")
    with serving(create_app(settings), "uvicorn-racing") as url:
        yield url, key


def http(url: str, **headers) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0, trust_env=False)


@asynccontextmanager
async def officer(url: str, caseworker_id: str) -> AsyncIterator[httpx.AsyncClient]:
    """An officer's HTTP client, signed in (the dev sign-in's session cookie)."""
    async with http(url) as client:
        answer = await client.post("/auth/dev/sign-in", json={"caseworker_id": caseworker_id})
        assert answer.status_code == 200, answer.text
        yield client


async def started(url: str, key: str, tag: str, departments=("building",)) -> str:
    reference = f"RACE-{tag}-{uuid.uuid4().hex[:6]}"
    body = document(reference, departments=list(departments), case_type="simple_construction")
    async with http(url, Authorization=f"Bearer {key}") as system:
        answer = await system.post("/api/v1/cases", json=body)
    assert answer.status_code == 201, answer.text
    return reference


async def eventually(call, ok, timeout: float = 30.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        answer = await call()
        if ok(answer) or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


def is_problem(answer: httpx.Response, status: int, *kinds: str) -> bool:
    return (
        answer.status_code == status
        and answer.headers["content-type"] == PROBLEM
        and answer.json()["type"].rsplit("/", 1)[-1] in kinds
        and "Traceback" not in answer.text
    )


def one_winner(answers: list[httpx.Response], *kinds: str) -> tuple[int, httpx.Response]:
    """The index of the one 200 among *answers*; every other is a 409 problem of *kinds*."""
    winners = [i for i, a in enumerate(answers) if a.status_code == 200]
    assert len(winners) == 1, [(a.status_code, a.text[:200]) for a in answers]
    for i, answer in enumerate(answers):
        if i != winners[0]:
            assert is_problem(answer, 409, *kinds), answer.text
    return winners[0], answers[winners[0]]


async def check_reconciled(product, stack, references: list[str], test: str, faults: str):  # noqa: F811
    _, client, sessions = product
    ids = [case_workflow_id(r) for r in references]
    report = await settled(client, sessions, stack.mail_dir, ids)
    print(report.summary(test, faults))
    assert report.lost == [] and report.duplicated == [], report
    assert report.mismatched == [] and report.unsettled == [], report
    return report


async def test_two_officers_assign_at_once_one_wins_the_other_is_told(web, product, stack):  # noqa: F811
    url, key = web
    references = []
    async with officer(url, "mkj") as mkj, officer(url, "sfl") as sfl:
        for n in range(ROUNDS):
            reference = await started(url, key, "asg")
            references.append(reference)
            path = f"/api/v1/cases/{reference}/assignment"
            answers = list(
                await asyncio.gather(
                    mkj.post(path, json={"caseworker_id": "mkj"}, headers={"Idempotency-Key": "a"}),
                    sfl.post(path, json={"caseworker_id": "sfl"}, headers={"Idempotency-Key": "b"}),
                )
            )
            won, answer = one_winner(answers, "AlreadyAssigned")
            winner, loser = ("mkj", "sfl") if won == 0 else ("sfl", "mkj")
            assert answer.json()["caseworker"]["id"] == winner
            assert f"'{winner}'" in answers[1 - won].json()["detail"]  # told who has it
            # Each officer, unsure, sends the same request again with the same key: the
            # winner gets the first answer, the loser the same refusal; nothing acts twice.
            again = await (mkj, sfl)[won].post(
                path,
                json={"caseworker_id": winner},
                headers={"Idempotency-Key": "ab"[won]},
            )
            assert again.status_code == 200 and again.json() == answer.json()
            refused = await (mkj, sfl)[1 - won].post(
                path,
                json={"caseworker_id": loser},
                headers={"Idempotency-Key": "ab"[1 - won]},
            )
            assert is_problem(refused, 409, "AlreadyAssigned"), refused.text
            state = (await mkj.get(f"/api/v1/cases/{reference}")).json()
            assert state["caseworker"]["id"] == winner and state["assignments"] == 1, n
    report = await check_reconciled(
        product, stack, references, "fault 6 first assignment race", f"{ROUNDS} races"
    )
    for reference in references:
        assert report.states[case_workflow_id(reference)].letters_sent == [
            "receipt",
            "contact-letter",
        ]


async def test_two_handovers_at_once_one_wins(web, product, stack):  # noqa: F811
    """Two operators hand the case over at once (jha to sfl, abr to abr). (A coordinator
    racing an operator may instead meet the door's role check after the operator's handover
    landed: a 403 "not allowed for your role", since they are no longer the coordinator.)"""
    url, key = web
    references = []
    async with (
        officer(url, "mkj") as mkj,
        officer(url, "jha") as jha,
        officer(url, "abr") as abr,
    ):
        for _ in range(ROUNDS):
            reference = await started(url, key, "hnd")
            references.append(reference)
            path = f"/api/v1/cases/{reference}/assignment"
            first = await mkj.post(path, json={"caseworker_id": "mkj"})
            assert first.status_code == 200, first.text
            answers = list(
                await asyncio.gather(
                    jha.post(
                        path,
                        json={"caseworker_id": "sfl", "replacing": "mkj"},
                        headers={"Idempotency-Key": "h1"},
                    ),
                    abr.post(
                        path,
                        json={"caseworker_id": "abr", "replacing": "mkj"},
                        headers={"Idempotency-Key": "h2"},
                    ),
                )
            )
            won, answer = one_winner(answers, "NotCurrentCaseworker")
            new = ("sfl", "abr")[won]
            assert answer.json()["caseworker"]["id"] == new
            assert f"'{new}'" in answers[1 - won].json()["detail"]  # told who has it now
            state = (await mkj.get(f"/api/v1/cases/{reference}")).json()
            assert state["caseworker"]["id"] == new and state["assignments"] == 2
    await check_reconciled(product, stack, references, "fault 6 handover race", f"{ROUNDS} races")


async def test_decision_against_withdrawal_and_one_key_sent_many_times(web, product, stack):  # noqa: F811
    """The coordinator decides while the company withdraws: the first closes the way in, the
    other is told the case is closing. One decision sent four times at once with one key
    decides once and answers all four alike."""
    url, key = web
    system = http(url, Authorization=f"Bearer {key}")
    references, winners = [], []
    codes = [m.code for m in required_material(CaseType.simple_construction, [Department.building])]
    async with officer(url, "mkj") as mkj, system:
        for n in range(ROUNDS + 1):
            reference = await started(url, key, "dec")
            references.append(reference)
            case = f"/api/v1/cases/{reference}"
            assert (
                await mkj.post(f"{case}/assignment", json={"caseworker_id": "mkj"})
            ).status_code == 200
            material = await system.post(f"{case}/material", json={"codes": codes})
            assert material.status_code == 200 and material.json()["complete"], material.text
            review = await eventually(
                lambda case=case: mkj.post(
                    f"{case}/reviews/building", json={"outcome": "approved", "text": "I orden."}
                ),
                lambda a: a.status_code != 409,
            )
            assert review.status_code == 200, review.text
            decide = {"grounds": "Projektet overholder reglerne."}
            ready = await eventually(
                lambda case=case: mkj.get(case),
                lambda a: a.json()["status"] == "awaiting_decision",
            )
            assert ready.json()["status"] == "awaiting_decision", ready.text
            if n == ROUNDS:  # one key, four times at once
                answers = await asyncio.gather(
                    *(
                        mkj.post(f"{case}/decision", json=decide, headers={"Idempotency-Key": "d"})
                        for _ in range(4)
                    )
                )
                assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
                assert all(a.json() == answers[0].json() for a in answers)
                assert answers[0].json()["closing"] == "decided"
                winners.append("decided")
                continue
            answers = list(
                await asyncio.gather(
                    mkj.post(f"{case}/decision", json=decide, headers={"Idempotency-Key": "d"}),
                    system.post(
                        f"{case}/withdrawal",
                        json={"reason": "Projektet er opgivet."},
                        headers={"Idempotency-Key": "w"},
                    ),
                )
            )
            won, answer = one_winner(answers, "Closing", "AlreadyDecided")
            way = ("decided", "withdrawn")[won]
            winners.append(way)
            assert answer.json()["closing"] == way
            # The one that won, sent again with its key: the first answer.
            again = (
                await mkj.post(f"{case}/decision", json=decide, headers={"Idempotency-Key": "d"})
                if won == 0
                else await system.post(
                    f"{case}/withdrawal",
                    json={"reason": "Projektet er opgivet."},
                    headers={"Idempotency-Key": "w"},
                )
            )
            assert again.status_code == 200 and again.json() == answer.json()
        for reference, way in zip(references, winners, strict=True):
            final = await eventually(
                lambda reference=reference: mkj.get(f"/api/v1/cases/{reference}"),
                lambda a: a.json()["status"] == "closed",
            )
            assert final.json()["closing_reason"] == way, final.text
    report = await check_reconciled(
        product, stack, references, "fault 6 decision vs withdrawal race", f"{ROUNDS + 1} races"
    )
    for reference, way in zip(references, winners, strict=True):
        letters = report.states[case_workflow_id(reference)].letters_sent
        assert ("decision" in letters) == (way == "decided"), letters
        assert letters.count("survey") <= 1
