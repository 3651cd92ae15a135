"""Sending a letter from workflow code: one activity call, exactly once per letter key."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.letters import LetterActivities
    from schemas.letters import LetterFacts, LetterKind, LetterRequest

MAIL_TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))


async def send_letter(
    case_id: str, kind: LetterKind, key: str, to: list[str], facts: LetterFacts
) -> str | None:
    """Send one letter; returns None when sent, or the reason it was permanently refused.

    Transient failures (SMTP down) are retried with back-off, without limit: the letter goes
    out when the mail server is back. A permanent refusal is returned for the caller to record.
    """
    request = LetterRequest(case_id=case_id, letter_key=key, kind=kind, to=to, facts=facts)
    try:
        await workflow.execute_activity_method(
            LetterActivities.send_letter,
            request,
            start_to_close_timeout=MAIL_TIMEOUT,
            retry_policy=RETRY,
        )
    except ActivityError as err:
        workflow.logger.error("letter not delivered", extra={"case_id": case_id, "letter_key": key})
        return str(err.cause or err)
    return None
