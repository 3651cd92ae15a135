"""Telling a permanent data error from a passing fault, in one place for every activity.

A passing fault (Postgres restarting, the network) is retried by Temporal. A record that
Postgres refuses for what it *is* (a value it cannot store, a broken constraint) fails the same
way on every retry: it becomes a non-retryable `ApplicationError` of type
``PermanentDataError`` with a one-line message that names the error class, never a value, so
the case can show it instead of retrying for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError, StatementError
from temporalio.exceptions import ApplicationError

PERMANENT_DATA_ERROR = "PermanentDataError"
_PERMANENT = (DataError, IntegrityError, ProgrammingError)


def permanent_data_error(what: str, err: BaseException) -> ApplicationError:
    original = getattr(err, "orig", None) or err
    kind = type(original).__name__
    return ApplicationError(
        f"Postgres refused {what} ({kind}); retrying cannot help: the data must be corrected.",
        type=PERMANENT_DATA_ERROR,
        non_retryable=True,
    )


@contextmanager
def refused_data_is_permanent(what: str) -> Iterator[None]:
    """Turn a data error raised inside the block into a non-retryable failure (no values)."""
    try:
        yield
    except _PERMANENT as err:
        raise permanent_data_error(what, err) from None
    except StatementError as err:  # e.g. a value the driver cannot encode
        if isinstance(err.orig, (ValueError, TypeError, UnicodeError)):
            raise permanent_data_error(what, err) from None
        raise
