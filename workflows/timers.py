"""The one timer helper of the workflows: a deadline that something can overtake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def until(instant: datetime, interrupted: Callable[[], bool]) -> bool:
    """Wait until *instant* unless *interrupted()* becomes true first.

    Returns True if it was interrupted (checked once more at the end), False if the time came.
    An instant already past returns at once, without a timer.
    """
    remaining = instant - workflow.now()
    if remaining > timedelta(0):
        try:
            await workflow.wait_condition(interrupted, timeout=remaining)
        except TimeoutError:
            return False
    return interrupted()
