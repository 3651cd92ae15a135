"""The retention rule's activity: erase the personal data of every case whose time is up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio import activity

from erasure_api import erase_expired
from schemas.retention import RetentionRun
from settings import Settings


class RetentionActivities:
    def __init__(self, sessions: async_sessionmaker, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name="erase_expired_cases")
    async def erase_expired_cases(self, at: datetime) -> RetentionRun:
        """Erase the cases due at *at* (the run's time, so a retry decides the same)."""
        erased = await erase_expired(self.sessions, self.settings, at)
        activity.logger.info("retention run", extra={"erased": len(erased)})
        return RetentionRun(erased=len(erased), retention_months=self.settings.retention_months)
