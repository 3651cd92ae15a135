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
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

import access
import case_api
from demo_content import CaseScript, plan_case, survey_choice
from domain.texts import COPENHAGEN
from settings import Settings
from stack.smtp_sink import read_mail

SURVEY_LINK = re.compile(
    r"https?://[^\s<>\"]+?/survey/(?P<case>case-[A-Za-z0-9._-]+)\?token=[\w-]+"
)
POLL = 0.4  # seconds between looks at a case's state
WAIT = 90.0  # seconds a case may take to reach the next phase (reviews starting, closing)


class DemoError(Exception):
    """The stack cannot be used (not running, dev sign-in off); the message says what to do."""


class ActionFailed(Exception):
    """One case's action was refused; the message names the case, the action and why."""


@dataclass
class Tally:
    started: int = 0
    existing: int = 0
    decided: int = 0
    withdrawn: int = 0
    dismissed: int = 0
    still_open: int = 0
    late_departments: int = 0
    surveys_answered: int = 0
    surveys_already_answered: int = 0
    surveys_left_unanswered: int = 0
    survey_mail_missing: int = 0
    survey_page_missing: int = 0
    failures: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- HTTP
def problem_text(answer: httpx.Response) -> str:
    try:
        body = answer.json()
        return f"{answer.status_code} {body.get('title', '')}: {body.get('detail', '')}".strip()
    except ValueError:
        return f"{answer.status_code} {answer.reason_phrase}"


async def send(http: httpx.AsyncClient, method: str, url: str, what: str, **kw) -> httpx.Response:
    """One request; 503 and lost connections are retried (the same Idempotency-Key, so the
    action still happens once); any other answer is returned."""
    for attempt in range(8):
        try:
            answer = await http.request(method, url, **kw)
        except httpx.TransportError:
            if attempt == 7:
                raise ActionFailed(f"{what}: the web service did not answer") from None
        else:
            if answer.status_code != 503:
                return answer
        await asyncio.sleep(min(0.5 * 2**attempt, 5))
    return answer


async def must(http: httpx.AsyncClient, method: str, url: str, what: str, **kw) -> httpx.Response:
    answer = await send(http, method, url, what, **kw)
    if answer.status_code >= 400:
        raise ActionFailed(f"{what}: {problem_text(answer)}")
    return answer


# --------------------------------------------------------------------- the survey mails
class SurveyMails:
    """The survey links in the SMTP sink's folder, read as the mails arrive (each file once)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.seen: set[str] = set()
        self.links: dict[str, str] = {}
        self.scanned = 0.0

    def scan(self) -> None:
        if time.monotonic() - self.scanned < 0.5:
            return
        self.scanned = time.monotonic()
        for path in sorted(self.mail_dir.glob("*.eml")):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            try:
                body = read_mail(path).body
            except (OSError, ValueError):
                continue
            for match in SURVEY_LINK.finditer(body):
                self.links[match.group("case")] = match.group(0)

    async def link(self, case_id: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            self.scan()
            if case_id in self.links or time.monotonic() > deadline:
                return self.links.get(case_id)
            await asyncio.sleep(0.5)


class FormReader(HTMLParser):
    """The first POST form of a page: its fields, and each radio button's label text."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.in_form = self.done = False
        self.inputs: list[dict[str, str]] = []
        self.textareas: list[str] = []
        self.labels: dict[str, str] = {}
        self._label_for: str | None = None
        self._label_text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and a.get("method", "get").lower() == "post":
            self.in_form, self.action = True, a.get("action", "")
        elif self.in_form and tag == "input":
            self.inputs.append(a)
        elif self.in_form and tag == "textarea" and a.get("name"):
            self.textareas.append(a["name"])
        elif tag == "label":
            self._label_for, self._label_text = a.get("for"), []

    def handle_data(self, data):
        if self._label_for is not None:
            self._label_text.append(data)

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True
        elif tag == "label" and self._label_for is not None:
            self.labels[self._label_for] = " ".join("".join(self._label_text).split()).lower()
            self._label_for = None


def score_of(label: str, value: str) -> int | None:
    """The five-point scale as the page words it (or a numeric value): 5 .. 1, 0 "ved ikke"."""
    for words, score in (
        ("meget utilfreds", 1),
        ("meget tilfreds", 5),
        ("ved ikke", 0),
        ("hverken", 3),
        ("utilfreds", 2),
        ("tilfreds", 4),
    ):
        if words in label:
            return score
    return int(value) if value.isdigit() else None


async def answer_survey(base_url: str, link: str, script: CaseScript, tally: Tally) -> None:
    """The applicant opens the link and sends the form, as a browser does (CSRF cookie and
    token, the form's own request id). Each company comes from its own address."""
    split = urlsplit(link)
    headers = {"X-Forwarded-For": script.address, "User-Agent": "erhvervssag-demo"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as browser:
        page = await send(browser, "GET", f"{split.path}?{split.query}", "survey page")
        if page.status_code == 404:
            tally.survey_page_missing += 1
            return
        if page.status_code >= 400:
            raise ActionFailed(f"survey page: {page.status_code}")
        form = FormReader()
        form.feed(page.text)
        if form.action is None:
            raise ActionFailed("survey page: no form to answer")
        fields: dict[str, str] = {}
        groups: dict[str, list[tuple[int, str]]] = {}
        for a in form.inputs:
            kind, name = a.get("type", "text").lower(), a.get("name", "")
            if kind == "hidden" and name:
                fields[name] = a.get("value", "")
            elif kind == "radio" and name:
                if "checked" in a:
                    tally.surveys_already_answered += 1  # a second visit shows the answer
                    return
                score = score_of(form.labels.get(a.get("id", ""), ""), a.get("value", ""))
                if score is not None:
                    groups.setdefault(name, []).append((score, a.get("value", "")))
        for name, options in groups.items():
            wanted = survey_choice(script, name)
            fields[name] = min(options, key=lambda o: abs(o[0] - wanted))[1]
        if script.comment and form.textareas:
            fields[form.textareas[0]] = script.comment
        action = urljoin(str(page.url), form.action or str(page.url))
        for _ in range(5):
            sent = await send(
                browser, "POST", action, "survey answer", data=fields, headers={"Origin": base_url}
            )
            if sent.status_code != 429:
                break
            await asyncio.sleep(int(sent.headers.get("retry-after", "5")))
        if sent.status_code >= 400:
            raise ActionFailed(f"survey answer: {sent.status_code}")
        tally.surveys_answered += 1


# ------------------------------------------------------------------------ the case's life
@dataclass
class Doors:
    base_url: str
    system: httpx.AsyncClient  # the case system (API key): starts cases, acts for the company
    officers: dict[str, httpx.AsyncClient]
    directory: list[dict]
    mails: SurveyMails
    tally: Tally


async def state_of(doors: Doors, ref: str) -> dict:
    return (await must(doors.system, "GET", f"/api/v1/cases/{ref}", f"{ref}: state")).json()


async def until(doors: Doors, ref: str, ok, what: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        state = await state_of(doors, ref)
        if ok(state):
            return state
        if time.monotonic() > deadline:
            raise ActionFailed(f"{ref}: waited {WAIT:.0f} s for {what} (status {state['status']})")
        await asyncio.sleep(POLL)


def key(script: CaseScript, action: str) -> dict[str, str]:
    return {"Idempotency-Key": f"demo-{script.seed}-{script.index}-{action}"}


async def start(doors: Doors, script: CaseScript) -> None:
    ref = script.reference
    answer = await send(
        doors.system, "POST", "/api/v1/cases", f"{ref}: start",
        json=script.intake, headers=key(script, "start"),
    )  # fmt: skip
    if answer.status_code == 201:
        doors.tally.started += 1
        return
    if answer.status_code == 200 or (
        answer.status_code in (409, 422)
        and (await send(doors.system, "GET", f"/api/v1/cases/{ref}", ref)).status_code == 200
    ):
        doors.tally.existing += 1  # started by an earlier run (another day: another body)
        return
    raise ActionFailed(f"{ref}: start: {problem_text(answer)}")


async def company(doors: Doors, script: CaseScript, path: str, body: dict, action: str):
    url = f"/api/v1/cases/{script.reference}/{path}"
    return await must(
        doors.system, "POST", url, f"{script.reference}: {path}", json=body,
        headers=key(script, action),
    )  # fmt: skip


async def officer(doors: Doors, who: str, script: CaseScript, path: str, body: dict, action: str):
    url = f"/api/v1/cases/{script.reference}/{path}"
    return await must(
        doors.officers[who], "POST", url, f"{script.reference}: {path} ({who})", json=body,
        headers=key(script, action),
    )  # fmt: skip


def reviewer(doors: Doors, department: str, script: CaseScript) -> str:
    """An officer of *department* from the directory (the API checks the role)."""
    people = [p["id"] for p in doors.directory if department in p["departments"]]
    return people[script.index % len(people)]


async def live(doors: Doors, script: CaseScript) -> None:
    """Take the case as far as its script says, from wherever it stands."""
    ref, tally = script.reference, doors.tally
    await start(doors, script)
    state = await until(doors, ref, lambda s: s["version"] > 0, "the receipt")
    if script.fate == "unassigned" or state["closing_reason"]:
        return await closed_or_open(doors, script, state)
    coordinator = (state.get("caseworker") or {}).get("id") or script.coordinator
    if not state.get("caseworker"):
        await officer(doors, coordinator, script, "assignment", {"caseworker_id": coordinator},
                      "assign")  # fmt: skip
        state = await state_of(doors, ref)
    if script.level_change and state["sustainability_level"] != script.level_change:
        await company(doors, script, "sustainability-level", {"level": script.level_change},
                      "level")  # fmt: skip
        state = await state_of(doors, ref)
    if state["nbe_offer_sent"] and state["nbe_accepted"] is None:
        await company(doors, script, "nbe-answer", {"accepted": script.nbe_accepts}, "nbe")
    if script.meeting and not any(m.get("at") for m in state["pre_dialogues"]):
        await officer(doors, coordinator, script, "meetings",
                      {"at": script.meeting_at.isoformat(), "place": "Rådhuset, mødelokale 2"},
                      "book")  # fmt: skip
        if script.meeting == "held":
            await officer(doors, coordinator, script, "meetings-held", {}, "held")
    received = set(state["received_material"])
    missing = [m["code"] for m in state["required_material"] if m["code"] not in received]
    batches = [missing[: len(missing) // 2], missing[len(missing) // 2 :]]
    if script.fate == "material":
        batches = batches[:1]  # the rest never comes: the case waits (and is warned, later)
    elif not script.split_material:
        batches = [missing]
    for n, codes in enumerate(b for b in batches if b):
        await company(doors, script, "material", {"codes": codes}, f"material-{n}")
    if script.fate == "withdrawn":
        await company(doors, script, "withdrawal", {"reason": script.withdraw_reason}, "withdraw")
        return await closed_or_open(doors, script, await state_of(doors, ref))
    if script.fate == "material":
        return await closed_or_open(doors, script, await state_of(doors, ref))
    state = await until(doors, ref, lambda s: s["status"] != "awaiting_material" or s["closing"],
                        "the material to be complete")  # fmt: skip
    if script.project_change and state["project_changes"] == 0 and not state["closing"]:
        await company(doors, script, "project-changes", script.project_change, "change")
    departments = script.intake["departments"]
    reviewed = departments[:-1] if script.fate == "review" else departments
    for department in reviewed:
        state = await until(
            doors, ref,
            lambda s, d=department: d in s["reviews"] or s["closing"]
            or s["running_reviews"].get(d) == s["review_rounds"].get(d),
            f"the {department} review to start",
        )  # fmt: skip
        if department in state["reviews"] or state["closing"]:
            continue
        who = reviewer(doors, department, script)
        if department in script.late:
            tally.late_departments += 1
            await officer(doors, who, script, f"reviews/{department}/more-time",
                          script.late[department], f"late-{department}")  # fmt: skip
        await officer(doors, who, script, f"reviews/{department}", script.reviews[department],
                      f"review-{department}")  # fmt: skip
    if script.fate == "review":
        return await closed_or_open(doors, script, await state_of(doors, ref))
    state = await until(doors, ref, lambda s: s["status"] == "awaiting_decision" or s["closing"],
                        "every review")  # fmt: skip
    if not state["closing"]:
        await officer(doors, coordinator, script, "decision", {"grounds": script.grounds},
                      "decide")  # fmt: skip
    state = await until(doors, ref, lambda s: s["status"] == "closed", "the closing")
    await closed_or_open(doors, script, state)


async def closed_or_open(doors: Doors, script: CaseScript, state: dict) -> None:
    """Count where the case ended; a warned case waiting for material is dismissed; a
    closed case's applicant answers the survey (or not, as the script says)."""
    tally, ref = doors.tally, script.reference
    if (
        state["status"] == "awaiting_material"
        and state["dismissal_warning_sent"]
        and not state["closing"]
    ):
        coordinator = state["caseworker"]["id"]
        body = {"reason": "Det manglende materiale er ikke kommet inden fristen i varslet."}
        await officer(doors, coordinator, script, "dismissal", body, "dismiss")
        state = await until(doors, ref, lambda s: s["status"] == "closed", "the closing")
    reason = state["closing_reason"]
    if state["status"] != "closed" or reason is None:
        tally.still_open += 1
        return
    setattr(tally, reason, getattr(tally, reason) + 1)  # decided, withdrawn, dismissed
    if not script.answers:
        tally.surveys_left_unanswered += 1
        return
    link = await doors.mails.link(state["case_id"], timeout=60)
    if link is None:
        tally.survey_mail_missing += 1
        return
    await answer_survey(doors.base_url, link, script, tally)


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
    doors = Doors(base_url, system, officers, directory, SurveyMails(settings.state_dir / "mail"),
                  tally)  # fmt: skip
    gate, done, began = asyncio.Semaphore(concurrency), 0, time.monotonic()
    step = max(1, cases // 20)

    async def one(script: CaseScript) -> None:
        nonlocal done
        async with gate:
            try:
                await live(doors, script)
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
    asked = tally.surveys_answered + tally.surveys_already_answered + tally.surveys_left_unanswered
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
        + (f" of {asked}" if asked else ""),
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
