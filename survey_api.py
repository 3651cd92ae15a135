"""The survey's seam (commitment 9): what the answer page (and any other door) calls to read a
case's survey and store its answer. The door checks the link's token first
(`domain.survey.verify_survey_token`); nothing here sees the token.

- `survey_status(sessions, case_id)`: which questions the case is asked, whether it is open,
  the answer so far (scores and free text), or None when the case's survey is not recorded.
- `answer_survey(client, sessions, case_id, answer, request_id)`: one answer per case; a new
  request changes it (counted in `changes`, `answered_at` kept); the same request again is the
  same answer (a double submit, a reload). Refused after `survey_closes_at`. Then the case's
  survey workflow is told (signal `answered`) and the figures are recomputed.
- `get_answer(sessions, case_id)`: the stored answer, or None.

Scores and free text are stored apart (`survey_answers`, `survey_comments`). Logs name the
case id only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client
from temporalio.service import RPCError

import figures_api
from db.measurement_models import ClosedCase, SurveyAnswer, SurveyComment
from schemas.survey import QUESTIONS, SurveyAnswered
from schemas.survey import SurveyAnswer as Answer

log = structlog.get_logger("survey")

# migration 0007: the request ids of stored answers (a double submit is one answer)
ANSWER_REQUESTS = sa.table(
    "survey_answer_requests",
    sa.column("request_id", sa.String),
    sa.column("case_id", sa.String),
)


class SurveyError(Exception):
    """The answer was not stored; ``kind``: NotFound (no recorded survey for the case) or
    Closed (the survey has closed)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class SurveyStatus:
    case_id: str
    reference: str
    departments: list[str]
    pre_dialogue_held: bool
    sent_at: datetime | None
    closes_at: datetime | None
    answer: Answer | None
    answered_at: datetime | None
    changes: int
    now: datetime
    questions: tuple[str, ...] = field(default=())

    @property
    def closed(self) -> bool:
        return self.closes_at is not None and self.now > self.closes_at


def questions_for(departments: list[str], pre_dialogue_held: bool) -> tuple[str, ...]:
    """The questions a case is asked: coordination only across departments, the
    pre-dialogue only where one was held."""
    return tuple(
        q
        for q in QUESTIONS
        if (q != "coordination" or len(departments) > 1)
        and (q != "pre_dialogue" or pre_dialogue_held)
    )


def _answer_of(row: SurveyAnswer, comment: SurveyComment | None) -> Answer:
    return Answer.model_validate(
        {
            **{q: getattr(row, q) for q in QUESTIONS},
            "comment": comment.text if comment else "",
        }
    )


async def get_answer(sessions: async_sessionmaker, case_id: str) -> Answer | None:
    async with sessions() as session:
        row = await session.get(SurveyAnswer, case_id)
        if row is None:
            return None
        return _answer_of(row, await session.get(SurveyComment, case_id))


async def survey_status(
    sessions: async_sessionmaker, case_id: str, now: datetime | None = None
) -> SurveyStatus | None:
    """The case's survey as the answer page shows it; None when it is not recorded (yet)."""
    async with sessions() as session:
        case = await session.get(ClosedCase, case_id)
        if case is None:
            return None
        row = await session.get(SurveyAnswer, case_id)
        comment = await session.get(SurveyComment, case_id)
    return SurveyStatus(
        case_id=case.case_id,
        reference=case.reference,
        departments=list(case.departments),
        pre_dialogue_held=case.pre_dialogue_held,
        sent_at=case.survey_sent_at,
        closes_at=case.survey_closes_at,
        answer=_answer_of(row, comment) if row else None,
        answered_at=row.answered_at if row else None,
        changes=row.changes if row else 0,
        now=now or datetime.now(UTC),
        questions=questions_for(list(case.departments), case.pre_dialogue_held),
    )


async def _store(
    sessions: async_sessionmaker, case_id: str, answer: Answer, request_id: str, now: datetime
) -> tuple[bool, bool]:
    """(stored, changed): stored False for a repeated request. One transaction: the request
    id, the scores and the free text together, or nothing."""
    async with sessions.begin() as session:
        case = (
            await session.scalars(
                select(ClosedCase).where(ClosedCase.case_id == case_id).with_for_update()
            )
        ).one_or_none()
        if case is None or case.survey_sent_at is None:
            raise SurveyError("NotFound", "The case has no survey (yet).")
        if case.survey_closes_at is not None and now > case.survey_closes_at:
            raise SurveyError("Closed", "The survey has closed.")
        fresh = (
            await session.execute(
                insert(ANSWER_REQUESTS)
                .values(request_id=request_id, case_id=case_id)
                .on_conflict_do_nothing(index_elements=["request_id"])
                .returning(ANSWER_REQUESTS.c.request_id)
            )
        ).first()
        if fresh is None:
            return False, False
        await figures_api.mark_stale(session)  # the figures miss this answer: marked with it
        asked = questions_for(list(case.departments), case.pre_dialogue_held)
        scores = {q: (getattr(answer, q) if q in asked else None) for q in QUESTIONS}
        row = await session.get(SurveyAnswer, case_id)
        changed = row is not None
        if row is None:
            session.add(SurveyAnswer(case_id=case_id, answered_at=now, changes=0, **scores))
        else:
            for q, value in scores.items():
                setattr(row, q, value)
            row.changed_at = now
            row.changes += 1
        if answer.comment:
            await session.execute(
                insert(SurveyComment)
                .values(case_id=case_id, text=answer.comment, written_at=now)
                .on_conflict_do_update(
                    index_elements=[SurveyComment.case_id],
                    set_={"text": answer.comment, "written_at": now},
                )
            )
        else:
            await session.execute(delete(SurveyComment).where(SurveyComment.case_id == case_id))
        return True, changed


async def answer_survey(
    client: Client | None,
    sessions: async_sessionmaker,
    case_id: str,
    answer: Answer,
    request_id: str,
    now: datetime | None = None,
) -> bool:
    """Store the case's answer (or its change); True if this request stored something.

    Raises `SurveyError` (NotFound, Closed) when nothing was stored. The survey workflow is
    told after the store (a workflow that has ended is fine: the answer is what counts), then
    the figures are recomputed.
    """
    if not request_id or len(request_id) > 64:
        raise ValueError("request_id must be 1..64 characters")
    now = now or datetime.now(UTC)
    stored, changed = await _store(sessions, case_id, answer, request_id, now)
    if not stored:
        log.info("survey answer repeated", case_id=case_id)
        return False
    log.info("survey answer stored", case_id=case_id, changed=changed)
    if client is not None:
        from workflows.survey import SurveyWorkflow, survey_workflow_id

        try:
            await client.get_workflow_handle(survey_workflow_id(case_id)).signal(
                SurveyWorkflow.answered, SurveyAnswered(changed=changed)
            )
        except RPCError as err:  # ended or unknown: the stored answer stands
            log.info("survey workflow not told", case_id=case_id, status=err.status.name)
    # marked stale with the answer (_store); the company does not wait for the refresh
    figures_api.catch_up_later(sessions)
    return True
