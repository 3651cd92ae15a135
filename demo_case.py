"""The demo's cases (see demo.py): each taken through its life over HTTP, as far as its
script says, by the case system (for the company) and the officers, from wherever it stands.

What to do next is read from the case's state (the missing material, the reviews running,
the phase), never from a copy of the rules; every action carries an Idempotency-Key derived
from (seed, index, action), so a second run changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from demo_content import CaseScript

POLL = 0.4  # seconds between looks at a case's state
WAIT = 90.0  # seconds a case may take to reach the next phase (reviews starting, closing)


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


# ------------------------------------------------------------------------ the case's life
@dataclass
class Doors:
    base_url: str
    system: httpx.AsyncClient  # the case system (API key): starts cases, acts for the company
    officers: dict[str, httpx.AsyncClient]
    directory: list[dict]
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
        doors.system,
        "POST",
        "/api/v1/cases",
        f"{ref}: start",
        json=script.intake,
        headers=key(script, "start"),
    )
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
        doors.system,
        "POST",
        url,
        f"{script.reference}: {path}",
        json=body,
        headers=key(script, action),
    )


async def officer(doors: Doors, who: str, script: CaseScript, path: str, body: dict, action: str):
    url = f"/api/v1/cases/{script.reference}/{path}"
    return await must(
        doors.officers[who],
        "POST",
        url,
        f"{script.reference}: {path} ({who})",
        json=body,
        headers=key(script, action),
    )


def reviewer(doors: Doors, department: str, script: CaseScript) -> str:
    """An officer of *department* from the directory (the API checks the role)."""
    people = [p["id"] for p in doors.directory if department in p["departments"]]
    return people[script.index % len(people)]


async def live(doors: Doors, script: CaseScript) -> dict:
    """Take the case as far as its script says, from wherever it stands."""
    ref, tally = script.reference, doors.tally
    await start(doors, script)
    state = await until(doors, ref, lambda s: s["version"] > 0, "the receipt")
    if script.fate == "unassigned" or state["closing_reason"]:
        return await closed_or_open(doors, script, state)
    coordinator = (state.get("caseworker") or {}).get("id") or script.coordinator
    if not state.get("caseworker"):
        await officer(
            doors, coordinator, script, "assignment", {"caseworker_id": coordinator}, "assign"
        )
        state = await state_of(doors, ref)
    if script.level_change and state["sustainability_level"] != script.level_change:
        await company(
            doors, script, "sustainability-level", {"level": script.level_change}, "level"
        )
        state = await state_of(doors, ref)
    if state["nbe_offer_sent"] and state["nbe_accepted"] is None:
        await company(doors, script, "nbe-answer", {"accepted": script.nbe_accepts}, "nbe")
    if script.meeting and not any(m.get("at") for m in state["pre_dialogues"]):
        await officer(
            doors,
            coordinator,
            script,
            "meetings",
            {"at": script.meeting_at.isoformat(), "place": "Rådhuset, mødelokale 2"},
            "book",
        )
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
        state = await until(doors, ref, lambda s: s["status"] == "closed", "the closing")
        return await closed_or_open(doors, script, state)
    if script.fate == "material":
        return await closed_or_open(doors, script, await state_of(doors, ref))
    state = await until(
        doors,
        ref,
        lambda s: s["status"] != "awaiting_material" or s["closing"],
        "the material to be complete",
    )
    if script.project_change and state["project_changes"] == 0 and not state["closing"]:
        await company(doors, script, "project-changes", script.project_change, "change")
    departments = script.intake["departments"]
    reviewed = departments[:-1] if script.fate == "review" else departments
    for department in reviewed:
        state = await until(
            doors,
            ref,
            lambda s, d=department: (
                d in s["reviews"]
                or s["closing"]
                or s["running_reviews"].get(d) == s["review_rounds"].get(d)
            ),
            f"the {department} review to start",
        )
        if department in state["reviews"] or state["closing"]:
            continue
        who = reviewer(doors, department, script)
        if department in script.late:
            tally.late_departments += 1
            await officer(
                doors,
                who,
                script,
                f"reviews/{department}/more-time",
                script.late[department],
                f"late-{department}",
            )
        await officer(
            doors,
            who,
            script,
            f"reviews/{department}",
            script.reviews[department],
            f"review-{department}",
        )
    if script.fate == "review":
        return await closed_or_open(doors, script, await state_of(doors, ref))
    state = await until(
        doors, ref, lambda s: s["status"] == "awaiting_decision" or s["closing"], "every review"
    )
    if not state["closing"]:
        await officer(doors, coordinator, script, "decision", {"grounds": script.grounds}, "decide")
    state = await until(doors, ref, lambda s: s["status"] == "closed", "the closing")
    return await closed_or_open(doors, script, state)


async def closed_or_open(doors: Doors, script: CaseScript, state: dict) -> dict:
    """Count where the case ended (a warned case waiting for material is dismissed first);
    the case's last state."""
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
    else:
        setattr(tally, reason, getattr(tally, reason) + 1)  # decided, withdrawn, dismissed
    return state
