"""The bare twin: a plain Temporal workflow shaped like one case life, with no product logic.

Its counts mirror a recorded case history (tests/histories/
core_v2_survey_workflow_three_departments.json: 44 activities, 5 updates, 4 child workflows
(3 department reviews, 1 survey), 2 timers started and cancelled, 1 signal sent to a child and
1 received) and its payloads have the recorded sizes (start ~530 B, activity input ~1.6 KB,
update result ~1.8 KB, the final result ~5.8 KB). Every activity is a no-op that returns its
input's length. Each review child waits for one update under a deadline timer and runs one
activity, like a department review.

Phases of one twin life, the same as a case's:
  intake:   setup, record, letter, record (the receipt) -> `intake_done` is set
  updates:  5 officer actions, each an update that runs record + letter + record
  reviews:  3 children started after the material update; each completes on its own update
  decision: the 5th update; then the survey child starts and the workflow completes.
Search-attribute upserts (14 in the case) and patch markers (4) are not mirrored: the twin is
what Temporal costs without the product, and those are the product's own choices.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TextIO

from temporalio import activity, workflow

START_PAYLOAD = 530
ACTIVITY_PAYLOAD = 1585
UPDATE_RESULT = 1836
RESULT_PAYLOAD = 5774
ACTIVITIES = 44  # in the recorded case history
UPDATES = 5
REVIEWS = 3
TIMEOUT = timedelta(seconds=60)


def pad(size: int) -> str:
    return "x" * size


SEEN: dict[str, list[float]] = {}  # workflow id -> when each of its activities ran (bench)
REPORT_TO: TextIO | None = None  # a worker process's stdout: SEEN goes to the driver (workers.py)


@activity.defn(name="twin_noop")
async def twin_noop(body: str) -> int:
    wid, now = activity.info().workflow_id, time.perf_counter()
    if REPORT_TO is not None:
        REPORT_TO.write(f"seen {wid} {now!r}\n")
        REPORT_TO.flush()
    else:
        SEEN.setdefault(wid, []).append(now)
    return len(body)


@workflow.defn(name="TwinReview")
class TwinReview:
    def __init__(self) -> None:
        self.submitted = False

    @workflow.run
    async def run(self, department: str) -> str:
        try:
            await workflow.wait_condition(lambda: self.submitted, timeout=timedelta(days=30))
        except TimeoutError:
            pass
        await workflow.execute_activity(
            twin_noop, pad(ACTIVITY_PAYLOAD), start_to_close_timeout=TIMEOUT
        )
        return department

    @workflow.update
    async def submit(self, text: str) -> str:
        self.submitted = True
        return pad(UPDATE_RESULT)

    @workflow.signal
    def nudge(self) -> None:
        pass


@workflow.defn(name="TwinSurvey")
class TwinSurvey:
    @workflow.run
    async def run(self, case_id: str) -> str:
        await workflow.execute_activity(
            twin_noop, pad(ACTIVITY_PAYLOAD), start_to_close_timeout=TIMEOUT
        )
        return case_id


@workflow.defn(name="TwinCase")
class TwinCase:
    def __init__(self) -> None:
        self.updates = 0
        self.activities = 0
        self.intake_done = False
        self.decided = False
        self.reviews_started = False
        self.pending: list[asyncio.Task] = []

    async def _act(self, n: int = 1) -> None:
        for _ in range(n):
            self.activities += 1
            await workflow.execute_activity(
                twin_noop, pad(ACTIVITY_PAYLOAD), start_to_close_timeout=TIMEOUT
            )

    @workflow.run
    async def run(self, intake: str) -> str:
        await self._act(4)  # setup, record, receipt letter, record
        self.intake_done = True
        # the contact deadline: a timer cancelled by the first action
        try:
            await workflow.wait_condition(lambda: self.updates >= 1, timeout=timedelta(days=5))
        except TimeoutError:
            pass
        await workflow.wait_condition(lambda: self.updates >= 3)
        reviews = [
            await workflow.start_child_workflow(
                TwinReview.run, d, id=f"{workflow.info().workflow_id}-review-{d}"
            )
            for d in ("building", "environment", "fire")
        ]
        self.reviews_started = True
        await reviews[-1].signal("nudge")  # the late review's signal
        # the agreed date: a timer cancelled by the decision
        try:
            await workflow.wait_condition(lambda: self.decided, timeout=timedelta(days=60))
        except TimeoutError:
            pass
        await asyncio.gather(*reviews, *self.pending)
        # pad up to the case's count of activities: closing records and letters
        await self._act(ACTIVITIES - self.activities)
        # the survey child (the case abandons it at closing; the time-skipping test server
        # keeps time locked after an abandoned child's parent completes, so the twin waits)
        await workflow.execute_child_workflow(
            TwinSurvey.run,
            workflow.info().workflow_id,
            id=f"{workflow.info().workflow_id}-survey",
        )
        return pad(RESULT_PAYLOAD)

    def _letter_later(self) -> None:
        """The letter and its record go out after the action returned, as a case's do."""
        self.pending.append(asyncio.create_task(self._act(2)))

    @workflow.update
    async def act(self, body: str) -> str:
        """An officer action: the record before answering (as a case's action), then the
        letter and its record after the answer."""
        await self._act(1)
        self._letter_later()
        self.updates += 1
        if self.updates >= UPDATES:
            self.decided = True
        return pad(UPDATE_RESULT)

    @workflow.update
    async def officer_action(self, body: str) -> str:
        """M3's action on an open twin: as `act`, without a change of phase."""
        await self._act(1)
        self._letter_later()
        return pad(UPDATE_RESULT)

    @workflow.query
    def progress(self) -> dict:
        return {
            "intake_done": self.intake_done,
            "updates": self.updates,
            "reviews_started": self.reviews_started,
        }


TWIN_WORKFLOWS = [TwinCase, TwinReview, TwinSurvey]
TWIN_ACTIVITIES = [twin_noop]
