"""The codec server for operators: the Temporal UI decodes encrypted payloads here.

`POST /codec/decode` and `POST /codec/encode` speak Temporal's remote codec contract
(`{"payloads": [{"metadata": {key: base64}, "data": base64}, ...]}` in and out, the UI sends
`X-Namespace` and may add `?preserveStorageRefs=true`), with the payload codec of every other
process (`schemas.codec.codec_from_settings`). Only an operator (`ERHVERV_OPERATORS`) with a
staff session gets an answer: no session is a 401 problem, other staff a 403 problem, so
anyone else sees ciphertext in the UI. Each use is an audit log line without personal data:
who (the caseworker id), what (encode/decode), how many payloads, which namespace.

CORS: the Temporal UI's origin (`ERHVERV_TEMPORAL_UI_ORIGIN`, default
`http://127.0.0.1:<ERHVERV_TEMPORAL_UI_PORT>`) and no other. The UI must fetch with
credentials (its codec setting "Include cross-origin credentials"), so that the browser sends
the staff cookie; the answers allow credentials for that origin only. See docs/codec-server.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from temporalio.api.common.v1 import Payload

from schemas.codec import PayloadKeyError, codec_from_settings
from settings import Settings
from web.problems import Problem, field_errors, problem_response
from web.staff import staff

log = structlog.get_logger("web.codec")
router = APIRouter(prefix="/codec", tags=["codec server (operators)"])

# One call carries one event's payloads; Temporal's own limit is 2 MB per payload.
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_PAYLOADS = 10_000
ALLOWED_HEADERS = ("content-type", "x-namespace", "authorization")
NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,255}")

Base64 = Annotated[
    str, StringConstraints(max_length=MAX_BODY_BYTES, pattern=r"^[A-Za-z0-9+/_=-]*$")
]


class JsonPayload(BaseModel):
    """One payload in protobuf JSON: bytes as base64 (empty fields may be left out)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    metadata: dict[Annotated[str, StringConstraints(min_length=1, max_length=255)], Base64] = Field(
        default_factory=dict, max_length=64
    )
    data: Base64 = ""
    # Payloads stored outside the history (the UI's preserveStorageRefs): carried unchanged.
    externalPayloads: list[dict[str, str | int]] | None = Field(None, max_length=64)


class JsonPayloads(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    payloads: list[JsonPayload] = Field(default_factory=list, max_length=MAX_PAYLOADS)


def ui_origin(settings: Settings) -> str:
    """The one origin allowed to call the codec server from a browser."""
    return (
        settings.temporal_ui_origin.rstrip("/") or f"http://127.0.0.1:{settings.temporal_ui_port}"
    )


def _cors(request: Request) -> dict[str, str]:
    """CORS headers for an allowed origin; none for a request from anywhere else."""
    origin = request.headers.get("origin")
    if origin is None or origin != ui_origin(request.app.state.services.settings):
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _to_protos(body: JsonPayloads) -> list[Payload]:
    try:
        return [
            json_format.ParseDict(p.model_dump(exclude_none=True), Payload()) for p in body.payloads
        ]
    except json_format.ParseError:  # its text names fields, but say nothing of the input
        raise Problem(
            422, "InvalidInput", "The request has errors", "A payload is not a Temporal payload."
        ) from None


def _to_json(payloads: list[Payload]) -> dict:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


async def _read(request: Request) -> JsonPayloads:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(
            413, "TooLarge", "The request is too large", f"At most {MAX_BODY_BYTES} bytes."
        )
    try:
        return JsonPayloads.model_validate_json(raw or b"{}")
    except ValidationError as error:
        errors = field_errors(error.errors(include_url=False, include_input=False))
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise Problem(
            422, "InvalidInput", "The request has errors", detail, errors=errors
        ) from None


def _namespace(request: Request) -> str:
    value = request.headers.get("x-namespace", "")
    return value if NAMESPACE.fullmatch(value) else "(none)" if not value else "(invalid)"


async def _convert(request: Request, action: Literal["encode", "decode"]) -> Response:
    cors = _cors(request)
    origin = request.headers.get("origin")
    try:
        if origin is not None and "Access-Control-Allow-Origin" not in cors:
            log.info("refused", path=request.url.path, status=403, reason="foreign origin")
            raise Problem(
                403, "Forbidden", "Not allowed from this origin", "Only the Temporal UI may call."
            )
        who = await staff(request)
        if not who.operator:
            log.info("refused", path=request.url.path, status=403, reason="not an operator")
            raise Problem(
                403,
                "Forbidden",
                "Not allowed for your role",
                "Only operators may decode the case data in Temporal.",
            )
        body = await _read(request)
        payloads = _to_protos(body)
        codec = codec_from_settings(request.app.state.services.settings)
        try:
            converted = await getattr(codec, action)(payloads)
        except PayloadKeyError as error:  # names the key id, never data or keys
            raise Problem(
                422, "UndecodablePayload", "A payload could not be converted", str(error)
            ) from None
    except Problem as problem:
        problem.headers = {**problem.headers, **cors}
        return problem_response(problem, request.url.path)
    log.info(
        "codec",
        action=action,
        caseworker=who.id,
        namespace=_namespace(request),
        payloads=len(payloads),
    )
    return JSONResponse(_to_json(converted), headers={**cors, "Cache-Control": "no-store"})


def _preflight(request: Request) -> Response:
    """Answer the browser's CORS preflight: only the UI's origin, POST, the UI's headers."""
    cors = _cors(request)
    method = request.headers.get("access-control-request-method", "")
    asked = request.headers.get("access-control-request-headers", "")
    headers = {h.strip().lower() for h in asked.split(",") if h.strip()}
    if (
        "Access-Control-Allow-Origin" not in cors
        or method != "POST"
        or headers - set(ALLOWED_HEADERS)
    ):
        log.info("refused", path=request.url.path, status=403, reason="CORS preflight")
        problem = Problem(
            403, "Forbidden", "Not allowed from this origin", "Only the Temporal UI may call."
        )
        return problem_response(problem, request.url.path)
    cors |= {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
        "Access-Control-Max-Age": "600",
    }
    if request.headers.get("access-control-request-private-network") == "true":
        cors["Access-Control-Allow-Private-Network"] = "true"
    return Response(status_code=204, headers=cors)


# Temporal's contract rather than the product's API: left out of /openapi.json (documented in
# docs/codec-server.md).


@router.post("/decode", include_in_schema=False)
async def decode(request: Request) -> Response:
    """Operators: decrypt payloads (the Temporal UI's codec endpoint)."""
    return await _convert(request, "decode")


@router.post("/encode", include_in_schema=False)
async def encode(request: Request) -> Response:
    """Operators: encrypt payloads (the Temporal UI's codec endpoint)."""
    return await _convert(request, "encode")


@router.options("/decode", include_in_schema=False)
async def decode_preflight(request: Request) -> Response:
    return _preflight(request)


@router.options("/encode", include_in_schema=False)
async def encode_preflight(request: Request) -> Response:
    return _preflight(request)
