"""The survey workflow's activities: its settings, the closed case's facts (written once), and
the one reminder letter (through the letter outbox, so it goes out once).

The facts row in `closed_cases` is written once; the survey's instants (sent, reminded,
closes) are set when known and never unset or moved. When a case's row is new, the figures
are marked stale and recomputed in the background (`figures_api`), so they move as cases
close. Logs carry ids only.
"""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

import figures_api
from activities.errors import refused_data_is_permanent
from activities.letters import LetterActivities
from db.measurement_models import ClosedCase
from domain import calendar
from domain.survey import survey_url
from mail.channel import LetterChannel
from schemas.letters import LetterFacts, LetterKind, LetterRequest, LetterResult
from schemas.survey import ClosedCaseFacts, SurveyRecord, SurveyReminder, SurveySetup
from settings import Settings

REMINDER_KEY = "survey-reminder"


def row_of(facts: ClosedCaseFacts) -> dict:
    return {
        "case_id": facts.case_id,
        "reference": facts.reference,
        "case_type": facts.case_type.value,
        "departments": [d.value for d in facts.departments],
        "industry_code": facts.industry_code,
        "closing_reason": facts.closing_reason.value,
        "received_at": facts.received_at,
        "complete_at": facts.complete_at,
        "decided_at": facts.decided_at,
        "closed_at": facts.closed_at,
        "agreed_date": facts.agreed_date,
        "contacted_within_deadline": facts.contacted_within_deadline,
        "decided_on_or_before_agreed_date": facts.decided_on_or_before_agreed_date,
        "net_processing_days": facts.net_processing_days,
        "gross_days": facts.gross_days,
        "gross_working_days": facts.gross_working_days,
        "kl_target_days": facts.kl_target_days,
        "pre_dialogue_held": facts.pre_dialogue_held,
        "breach_causes": facts.breach_causes,
    }


class SurveyActivities:
    def __init__(self, sessions: async_sessionmaker, channel: LetterChannel, settings: Settings):
        self.sessions = sessions
        self.settings = settings
        self.letters = LetterActivities(sessions, channel, settings)

    @activity.defn(name="load_survey_setup")
    async def load_survey_setup(self) -> SurveySetup:
        return SurveySetup(
            reminder_working_days=self.settings.survey_reminder_working_days,
            open_days=self.settings.survey_open_days,
        )

    @activity.defn(name="record_survey")
    async def record_survey(self, record: SurveyRecord) -> None:
        """The case's facts, once; the survey's known instants, each set once."""
        case_id = record.facts.case_id
        with refused_data_is_permanent(f"closed case {case_id}"):
            async with self.sessions.begin() as session:
                inserted = (
                    await session.execute(
                        insert(ClosedCase)
                        .values(**row_of(record.facts))
                        .on_conflict_do_nothing(index_elements=[ClosedCase.case_id])
                        .returning(ClosedCase.case_id)
                    )
                ).first() is not None
                instants = {
                    name: func.coalesce(getattr(ClosedCase, name), value)
                    for name, value in (
                        ("survey_sent_at", record.survey_sent_at),
                        ("survey_reminded_at", record.survey_reminded_at),
                        ("survey_closes_at", record.survey_closes_at),
                    )
                    if value is not None
                }
                if instants:
                    await session.execute(
                        update(ClosedCase).where(ClosedCase.case_id == case_id).values(**instants)
                    )
                if inserted:  # the figures miss this case: marked with it, in one transaction
                    await figures_api.mark_stale(session)
        activity.logger.info(
            "closed case recorded" if inserted else "survey recorded", extra={"case_id": case_id}
        )
        if inserted:  # recomputed in the background: the case does not wait for it
            figures_api.catch_up_later(self.sessions)

    @activity.defn(name="send_survey_reminder")
    async def send_survey_reminder(self, reminder: SurveyReminder) -> LetterResult:
        """The one reminder, with the same signed link as the survey letter (made here: the
        secret never enters history). The outbox key makes it go out once."""
        f = reminder.facts
        secret = self.settings.survey_secret.get_secret_value().encode()
        facts = LetterFacts(
            reference=f.reference,
            case_type=f.case_type,
            departments=f.departments,
            company_name="",
            contact_name="",
            project_description="",
            received_at=f.received_at,
            contact_deadline=f.contact_deadline,
            municipality_name=reminder.municipality_name,
            closing_reason=f.closing_reason,
            caseworker=reminder.caseworker,
            decision_date=calendar.local_date(f.decided_at) if f.decided_at else None,
            survey_url=survey_url(self.settings.survey_base_url, f.case_id, secret),
        )
        request = LetterRequest(
            case_id=f.case_id,
            letter_key=REMINDER_KEY,
            kind=LetterKind.survey_reminder,
            to=reminder.to,
            facts=facts,
        )
        return await self.letters.send_letter(request)
