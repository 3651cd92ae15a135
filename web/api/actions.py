"""`/api/v1/cases/{reference}/...`: the company's actions, sent by the case system that started
the case (material, project changes, pre-dialogue requests, sustainability level, the NBE
answer, withdrawal). Each runs the case's update through the seam with an update id taken
from the `Idempotency-Key`, so a retry returns the first result; a rejection is a problem.
Officers' actions come with staff sign-in (OpenID Connect), not with a case system's key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

import case_api
from schemas import life
from schemas.case import CaseState
from schemas.errors import describe
from web.api.cases import PROBLEM, Caller, IdempotencyKey, RefPath, problem_of
from web.auth import may_read
from web.problems import Problem, unavailable
from workflows.case import CaseWorkflow

router = APIRouter(tags=["company actions"])


@dataclass(frozen=True)
class Action:
    path: str
    summary: str
    model: type[BaseModel]
    update: Any
    result: type
    what: str
    personal: tuple[str, ...] = ()  # the company's own words: sealed before the case sees them


ACTIONS = (
    Action(
        "material",
        "Material received (checklist codes); says what is still missing",
        life.ReportMaterial,
        CaseWorkflow.report_material,
        life.MaterialStatus,
        "Material",
    ),
    Action(
        "project-changes",
        "The company changed the project (may ask for material again, re-open reviews)",
        life.ProjectChange,
        CaseWorkflow.report_project_change,
        CaseState,
        "Project change",
        ("description",),
    ),
    Action(
        "pre-dialogue-requests",
        "The company asks for a pre-dialogue",
        life.RequestPreDialogue,
        CaseWorkflow.request_pre_dialogue,
        life.PreDialogue,
        "Pre-dialogue request",
        ("note",),
    ),
    Action(
        "sustainability-level",
        "The company chooses a sustainability level (1-3)",
        life.ChangeSustainabilityLevel,
        CaseWorkflow.change_sustainability_level,
        CaseState,
        "Level change",
    ),
    Action(
        "nbe-answer",
        "The company answers the offer of NBE membership",
        life.AnswerNbeOffer,
        CaseWorkflow.answer_nbe_offer,
        CaseState,
        "NBE answer",
    ),
    Action(
        "withdrawal",
        "The company withdraws the case (it closes; the survey goes out)",
        life.Withdraw,
        CaseWorkflow.withdraw,
        CaseState,
        "Withdrawal",
        ("reason",),
    ),
)


def parse(model: type[BaseModel], raw: bytes) -> BaseModel:
    """The body as *model* (strict JSON, as the workflow reads it); a 422 naming each field."""
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as err:
        lines = describe(err).splitlines()
        raise Problem(
            422,
            "InvalidInput",
            "The request has errors",
            "; ".join(lines),
            errors=[
                {"field": ln.split(": ", 1)[0], "reason": ln.split(": ", 1)[-1]} for ln in lines
            ],
        ) from None


def update_id(caller: str, key: str | None) -> str | None:
    """The update id from the caller's Idempotency-Key (namespaced by caller)."""
    if key is None:
        return None
    return "http-" + hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()[:40]


def endpoint_for(action: Action):
    async def run_action(
        request: Request, reference: RefPath, caller: Caller, key: IdempotencyKey = None
    ):
        await may_read(request, caller, reference)
        body = parse(action.model, await request.body())
        services = request.app.state.services
        client = await services.temporal()
        vault = case_api.vault(services.sessions, services.settings)
        try:
            body = await case_api.seal_input(vault, reference, body, *action.personal)
            result = await case_api.update_case(
                client, reference, action.update, body, action.what, update_id(caller, key)
            )
            return await case_api.open_result(vault, reference, result)
        except case_api.CaseError as err:
            raise problem_of(err) from None
        except RPCError:
            raise unavailable("Temporal") from None

    run_action.__name__ = "case_" + action.path.replace("-", "_")
    return run_action


for _action in ACTIONS:
    router.add_api_route(
        f"/cases/{{reference}}/{_action.path}",
        endpoint_for(_action),
        methods=["POST"],
        summary=_action.summary,
        response_model=_action.result,
        responses={401: PROBLEM, 403: PROBLEM, 409: PROBLEM, 422: PROBLEM, 503: PROBLEM},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{_action.model.__name__}"}
                    }
                },
            }
        },
    )


def body_schemas() -> dict[str, dict]:
    """The request bodies' JSON schemas, for the OpenAPI document."""
    out: dict[str, dict] = {}
    for action in ACTIONS:
        schema = action.model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[action.model.__name__] = schema
    return out
