"""`starter.py demo --cases N`: a realistic month on the RUNNING stack, through the doors real
users take (see docs/demo.md).

A case system (its API key, `access`) starts the cases over HTTP with an Idempotency-Key; the
company acts through its case system's API; officers sign in with the dev sign-in and act
over the officers' API within their roles; applicants answer the survey on its HTML page
from the link in the e-mail (read from the SMTP sink), with the form's CSRF token and cookie
like a browser. Nothing here reads or writes the product's tables, except the API key.

What to do next is read from the case's own answers (its state: the missing material, the
reviews running, the phase), never from a copy of the rules. Everything is derived from
(seed, index): a second run finds every case where the first left it and adds nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import httpx

import access
import case_api
from demo_case import ActionFailed, Doors, Tally, live, send
from demo_content import CaseScript, plan_case
from demo_survey import SurveyMails, answer_survey
from domain.texts import COPENHAGEN
from settings import Settings


class DemoError(Exception):
    """The stack cannot be used (not running, dev sign-in off); the message says what to do."""


# ---------------------------------------------------------------------------- the run
async def preflight(base_url: str) -> None:
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            ready = await http.get("/readyz")
    except httpx.TransportError:
        raise DemoError(
            f"The web service does not answer at {base_url}. Start the stack with ./dev up "
            "(or give its address with --base-url) and run the demo again."
        ) from None
    if ready.status_code != 200:
        raise DemoError(
            f"The stack at {base_url} is not ready ({ready.status_code}: Temporal or Postgres "
            "does not answer yet). Wait for ./dev up to finish starting, and run it again."
        )


async def intake_has_industry(base_url: str) -> bool:
    """Whether this stack's intake contract has the DB07 `industry_code` (its OpenAPI)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        document = (await http.get("/openapi.json")).json()
    intake = document.get("components", {}).get("schemas", {}).get("CaseIntake", {})
    return "industry_code" in intake.get("properties", {})


async def signed_in(base_url: str, who: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base_url, timeout=60)
    answer = await send(http, "POST", "/auth/dev/sign-in", "sign-in", json={"caseworker_id": who})
    if answer.status_code != 200:
        await http.aclose()
        raise DemoError(
            f"The dev sign-in at {base_url} refused {who} ({answer.status_code}). The demo acts "
            "as officers through it: run the stack with ./dev up (it sets ERHVERV_DEV_SIGN_IN)."
        )
    return http


async def api_key(settings: Settings, name: str) -> str:
    """The demo case system's key: created with `access` (as `starter.py api-key create`),
    rotated when a run before made one (a key is shown only once; the name stays)."""
    try:
        async with case_api.store(settings.database_url) as sessions:
            try:
                return await access.create_api_key(sessions, name)
            except access.AccessError as err:
                if err.kind != "KeyExists":
                    raise
                await access.revoke_api_key(sessions, name)
                return await access.create_api_key(sessions, name)
    except OSError as err:
        raise DemoError(f"Postgres does not answer ({err}); is ./dev up running?") from None


async def applicant(
    base_url: str, mails: SurveyMails, script: CaseScript, state: dict, tally: Tally
) -> None:
    """A closed case's applicant answers the survey from the e-mail's link, or never does."""
    if not script.answers:
        tally.surveys_left_unanswered += 1
        return
    link = await mails.link(state["case_id"], timeout=60)
    if link is None:
        tally.survey_mail_missing += 1
        return
    await answer_survey(base_url, link, script, tally)


async def run_demo(
    settings: Settings,
    cases: int,
    seed: int = 1,
    base_url: str | None = None,
    concurrency: int = 12,
    say=print,
) -> Tally:
    base_url = (base_url or settings.public_base_url).rstrip("/")
    await preflight(base_url)
    directory = json.loads(Path(settings.caseworkers_file).read_text(encoding="utf-8"))
    today = datetime.now(COPENHAGEN).date()
    industry = await intake_has_industry(base_url)
    scripts = [plan_case(seed, i, today, directory, industry) for i in range(1, cases + 1)]
    token = await api_key(settings, f"demo-{seed}")
    tally = Tally()
    officers = {p["id"]: await signed_in(base_url, p["id"]) for p in directory}
    system = httpx.AsyncClient(
        base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    )
    doors = Doors(base_url, system, officers, directory, tally)
    mails = SurveyMails(settings.state_dir / "mail")
    gate, done, began = asyncio.Semaphore(concurrency), 0, time.monotonic()
    step = max(1, cases // 20)

    async def one(script: CaseScript) -> None:
        nonlocal done
        async with gate:
            try:
                state = await live(doors, script)
                if state["status"] == "closed":
                    await applicant(base_url, mails, script, state, tally)
            except ActionFailed as err:
                tally.failures.append(str(err))
            done += 1
            if done % step == 0 or done == cases:
                say(f"  {done}/{cases} cases ({time.monotonic() - began:.0f} s)")

    try:
        await asyncio.gather(*(one(s) for s in scripts))
    finally:
        for http in (system, *officers.values()):
            await http.aclose()
    return tally


def summary(tally: Tally, cases: int, seed: int, base_url: str, settings: Settings, took: float):
    closed = tally.decided + tally.withdrawn + tally.dismissed
    lines = [
        f"Demo (seed {seed}): {cases} cases in {took:.0f} s",
        f"  started now {tally.started}, already there (skipped) {tally.existing}",
        (
            f"  closed {closed}: decided {tally.decided}, withdrawn {tally.withdrawn}, "
            f"dismissed {tally.dismissed}; still open {tally.still_open}"
        ),
        f"  late departments (more time asked) {tally.late_departments}",
        f"  surveys: answered now {tally.surveys_answered}, answered before (skipped) "
        f"{tally.surveys_already_answered}, left unanswered {tally.surveys_left_unanswered}"
        + f" (of {closed} closed)",
    ]
    if tally.survey_page_missing:
        lines.append(f"  survey page not there (404) for {tally.survey_page_missing} cases")
    if tally.survey_mail_missing:
        lines.append(f"  no survey e-mail within 60 s for {tally.survey_mail_missing} cases")
    lines += [
        "Where to look:",
        f"  the figures           {base_url}/figures",
        f"  the officers' desk    {base_url}/sagsbehandler (sign in at {base_url}/log-ind)",
        f"  the mails             {base_url}/dev/post, or {settings.state_dir / 'mail'}",
        (
            f"  Temporal UI           http://127.0.0.1:{settings.temporal_ui_port} "
            f"(workflow ids case-DEMO-{seed}-...)"
        ),
    ]
    for failure in tally.failures[:20]:
        lines.append(f"  FAILED {failure}")
    if len(tally.failures) > 20:
        lines.append(f"  ... and {len(tally.failures) - 20} more failures")
    return lines


def main(settings: Settings, cases: int, seed: int, base_url: str | None, concurrency: int) -> int:
    """The command: 0 when every case went as scripted, 1 when some failed, 2 when the stack
    cannot be used."""
    base = (base_url or settings.public_base_url).rstrip("/")
    print(f"Demo: {cases} cases (seed {seed}) against {base}, {concurrency} at a time")
    began = time.monotonic()
    try:
        tally = asyncio.run(run_demo(settings, cases, seed, base, concurrency))
    except DemoError as err:
        print(f"Demo not run: {err}")
        return 2
    for line in summary(tally, cases, seed, base, settings, time.monotonic() - began):
        print(line)
    return 1 if tally.failures else 0
