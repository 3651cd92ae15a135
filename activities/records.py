"""Activities that read configuration and write the case projection and audit trail.

Every write is safe to repeat: the projection is an upsert that only moves forward in
`version`, audit events are insert-or-ignore on (case_id, seq), and both happen in one
transaction so a record is never half-written.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

from activities.errors import refused_data_is_permanent
from db.models import Case, CaseworkerRow
from db.models import CaseEvent as CaseEventRow
from schemas.case import CaseEvent, CaseProjection, CaseSetup, Caseworker
from schemas.intake import CaseType, Department
from settings import Settings

JSON_COLUMNS = ("clock", "pre_dialogues", "reviews")


class CaseRecord(BaseModel):
    """One projection write together with the audit events that led to it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    projection: CaseProjection
    events: list[CaseEvent]


class HistoryQuery(BaseModel):
    """Closed, decided cases like this one: same case type and the same departments."""

    model_config = ConfigDict(strict=True, extra="forbid")

    case_type: CaseType
    departments: list[Department]


class RecordActivities:
    def __init__(self, sessions: async_sessionmaker, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name="load_case_setup")
    async def load_case_setup(self) -> CaseSetup:
        """The caseworker directory and calendar configuration, as of the case's start."""
        async with self.sessions() as session:
            rows = (
                await session.scalars(
                    select(CaseworkerRow).where(CaseworkerRow.active).order_by(CaseworkerRow.id)
                )
            ).all()
        s = self.settings
        return CaseSetup(
            caseworkers=[
                Caseworker.model_validate(
                    {c: getattr(row, c) for c in Caseworker.model_fields}, strict=False
                )
                for row in rows
            ],
            closing_days=list(s.closing_days),
            caseworker_team_email=s.caseworker_team_email,
            team_lead_email=s.team_lead_email,
            municipality_name=s.municipality_name,
            review_working_days_before=s.review_working_days_before,
            dismissal_warning_working_days=s.dismissal_warning_working_days,
            dismissal_after_warning_working_days=s.dismissal_after_warning_working_days,
            reopen_working_days=s.reopen_working_days,
        )

    @activity.defn(name="processing_history")
    async def processing_history(self, query: HistoryQuery) -> list[float]:
        """Net processing days (KL clock) of the most recent comparable decided cases."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Case.net_processing_days)
                .where(
                    Case.case_type == query.case_type.value,
                    Case.departments == [d.value for d in query.departments],
                    Case.closing_reason == "decided",
                    Case.net_processing_days.is_not(None),
                )
                .order_by(Case.closed_at.desc())
                .limit(self.settings.history_window)
            )
            return [float(days) for days in rows]

    @activity.defn(name="record_case")
    async def record_case(self, record: CaseRecord) -> None:
        row = record.projection.model_dump(mode="json")
        row = {**record.projection.model_dump(), **{k: row[k] for k in JSON_COLUMNS}}
        with refused_data_is_permanent("the case record"):
            await self._write(row, record)
        activity.logger.info(
            "case recorded",
            extra={
                "case_id": record.projection.case_id,
                "version": record.projection.version,
                "events": [e.kind for e in record.events],
            },
        )

    async def _write(self, row: dict, record: CaseRecord) -> None:
        async with self.sessions.begin() as session:
            connection = await session.connection()  # Core: the statements are built once
            await connection.execute(UPSERT_CASE, row)
            if record.events:
                await connection.execute(INSERT_EVENTS, [e.model_dump() for e in record.events])


def _upsert_case():
    """The projection's upsert, built once: a row moves only forward in `version`; every
    projected column is set from the newer row."""
    stmt = insert(Case.__table__)
    return stmt.on_conflict_do_update(
        index_elements=[Case.case_id],
        set_={k: stmt.excluded[k] for k in CaseProjection.model_fields if k != "case_id"},
        where=Case.__table__.c.version < stmt.excluded.version,
    )


UPSERT_CASE = _upsert_case()
INSERT_EVENTS = insert(CaseEventRow.__table__).on_conflict_do_nothing(
    index_elements=["case_id", "seq"]
)
