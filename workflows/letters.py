"""Sending a letter from workflow code: one activity call, exactly once per letter key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.letters import LetterActivities
    from schemas.letters import LetterFacts, LetterKind, LetterRequest

MAIL_TIMEOUT = timedelta(seconds=60)
# A letter is retried at most 30 s apart: when the mail server is back, it goes out soon.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# The first tries before a letter counts as pending (about 15 s of back-off).
FIRST_TRIES = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=8), maximum_attempts=4
)


def refusal(err: ActivityError | ApplicationError) -> str | None:
    """The one-line reason if *err* is a permanent refusal (non-retryable), else None. A
    local activity's failure comes as its ApplicationError itself; an activity's, wrapped."""
    cause = err if isinstance(err, ApplicationError) else err.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return f"{cause.type or 'refused'}: {cause.message}"[:300]
    return None


async def send_letter(
    case_id: str,
    kind: LetterKind,
    key: str,
    to: list[str],
    facts: LetterFacts,
    on_pending: Callable[[], Awaitable[None]] | None = None,
) -> str | None:
    """Send one letter; returns None when sent, or the reason it was permanently refused.

    Transient failures (SMTP down) are retried without limit, at most 30 s apart: the letter
    goes out when the mail server is back. With *on_pending*, the first few tries run on their
    own; if they fail, *on_pending* is awaited (the case shows the letter as pending) before
    the unlimited retries. A permanent refusal is returned for the caller to record.
    """
    request = LetterRequest(case_id=case_id, letter_key=key, kind=kind, to=to, facts=facts)
    policies = [FIRST_TRIES, RETRY] if on_pending is not None else [RETRY]
    for policy in policies:
        try:
            await workflow.execute_activity_method(
                LetterActivities.send_letter,
                request,
                start_to_close_timeout=MAIL_TIMEOUT,
                retry_policy=policy,
            )
            return None
        except ActivityError as err:
            refused = refusal(err)
            if refused is not None or policy is RETRY:
                workflow.logger.error(
                    "letter not delivered", extra={"case_id": case_id, "letter_key": key}
                )
                return refused or str(err.cause or err)[:300]
            assert on_pending is not None
            await on_pending()
    raise AssertionError("unreachable")
