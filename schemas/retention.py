"""The retention run's contract: how many cases' personal data it erased (no ids, no data)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RetentionRun(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    erased: int
    retention_months: int
