"""The data converter every process uses: pydantic JSON, with invalid input as a clean failure.

Temporal decodes a workflow's input, an update's argument and an activity's input with the
payload converter. Pydantic's default error text repeats the rejected value (an e-mail
address, a name), and a plain `ValidationError` makes the SDK fail the *task* and retry it
for ever. Here a payload that does not fit its type raises a non-retryable `ApplicationError`
of type ``InvalidInput`` naming the fields and the reasons, never the values: a case started
with bad input fails at once, an update with a bad argument is rejected, an activity fails
without retrying, and no log line holds the value.

`data_converter(settings)` is what every process uses (client, worker, web, CLI, tests): the
checked payload converter, the payload encryption codec (schemas/codec.py, the settings'
keyring) and a failure converter that moves failure messages and stack traces into an
encoded payload, so history holds no clear text. Payloads written before encryption still
decode (the codec passes them through). `DATA_CONVERTER` alone is the unencrypted base.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, get_args

from pydantic import ValidationError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

from schemas.errors import describe

if TYPE_CHECKING:
    from settings import Settings

INVALID_INPUT = "InvalidInput"
MAX_MESSAGE = 300  # bytes: a failure message an operator can read in one line


def invalid_input_error(error: ValidationError, what: str) -> ApplicationError:
    """A non-retryable failure naming the fields of *error* (no values), at most ~300 bytes."""
    fields = describe(error).replace("\n", "; ")
    message = f"Invalid {what}: {fields}"
    if len(message.encode()) > MAX_MESSAGE:
        message = message.encode()[: MAX_MESSAGE - 3].decode(errors="ignore") + "..."
    return ApplicationError(message, type=INVALID_INPUT, non_retryable=True)


class _CheckedJSONConverter(PydanticJSONPlainPayloadConverter):
    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as err:
            raise invalid_input_error(err, _name_of(type_hint)) from None


def _name_of(type_hint: Any) -> str:
    """The model's name, also for an optional argument (``AssignCaseworker | None``)."""
    names = [t.__name__ for t in get_args(type_hint) if t is not type(None)]
    if len(names) == 1:
        return names[0]
    return getattr(type_hint, "__name__", None) or "input"


# One JSON converter for the process: the SDK makes a new payload converter for nearly every
# payload it (de)serialises in a workflow task, and each pydantic converter caches its
# TypeAdapters; shared, they are built once per type instead of once per payload (replaying a
# case: about 1 % less CPU). Stateless apart from that cache (functools.lru_cache: safe across
# the worker's threads).
_CONVERTERS = tuple(
    _CheckedJSONConverter() if isinstance(c, JSONPlainPayloadConverter) else c
    for c in DefaultPayloadConverter.default_encoding_payload_converters
)


class CheckedPayloadConverter(CompositePayloadConverter):
    """The SDK's default converters, with JSON through pydantic (checked as above)."""

    def __init__(self) -> None:
        super().__init__(*_CONVERTERS)


DATA_CONVERTER = DataConverter(payload_converter_class=CheckedPayloadConverter)


def data_converter(settings: Settings | None = None) -> DataConverter:
    """`DATA_CONVERTER` with payload encryption (*settings*' keyring, default: the process's
    settings) and encoded failure messages and stack traces."""
    from schemas.codec import codec_from_settings
    from settings import get_settings

    return dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=codec_from_settings(settings or get_settings()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
