"""The OpenAPI 3.1 document: the operations table (`shared.openapi.operations`) with the models'
schemas (`shared.openapi.schemas`), the keys as the Functions host checks them, and every error
status with its body and codes (`shared.errors`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, get_args

from pydantic import BaseModel

from shared import constants as c
from shared.errors import HTTP_STATUS, AppError, UpstreamRejected
from shared.models.answers import ErrorAnswer
from shared.openapi.operations import OPERATIONS, Body, Operation, Parameter
from shared.openapi.schemas import component_schemas, ref

VERSION = "0.1.0"  # pyproject.toml's version (a test compares them)
OPENAPI = "3.1.0"
JSON = "application/json"
RUN_STATES = frozenset({"Success", "Running", "Failed"})
INFO = {
    "title": "Polysync Azure OpenAI Function App",
    "version": VERSION,
    "summary": "Polysync's Azure OpenAI jobs, run by an Azure Functions app with its managed "
    "identity.",
    "description": "Polysync calls these functions as webhooks: flat JSON parameters in, "
    "top-level JSON outputs back, the HTTP status as the run state (200 Success, 202 Running "
    "with a `statusQueryUrl` to poll, 4xx/5xx Failed). Unknown request fields are ignored; "
    "numbers may be sent as numeric strings. The contract in prose is docs/contract.md.",
}
TAGS = [
    {"name": "runs", "description": "Polysync's jobs: chat, embedding, batch, and status polls."},
    {"name": "registry", "description": "Discovery and the job registry (master key)."},
    {"name": "health", "description": "Health checks and this document."},
]
# The keys, as the Functions host checks them before the app sees a request: a function key
# (or the master key) as the `x-functions-key` header or the `code` query parameter; the
# admin level takes the master key only.
SECURITY_SCHEMES = {
    "functionKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-functions-key",
        "description": "A function key of the app (the master key is accepted too).",
    },
    "functionKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "code",
        "description": "A function key as the `code` query parameter.",
    },
    "masterKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-functions-key",
        "description": "The host's master key (auth level admin): a function key is refused.",
    },
    "masterKeyQuery": {
        "type": "apiKey",
        "in": "query",
        "name": "code",
        "description": "The host's master key as the `code` query parameter.",
    },
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "function": [{"functionKey": []}, {"functionKeyQuery": []}],
    "admin": [{"masterKey": []}, {"masterKeyQuery": []}],
    "anonymous": [],
}
# Why each error status (docs/design.md §3).
STATUS_REASONS = {
    400: "The request is wrong; nothing was sent to Azure.",
    401: "The status link is not this app's valid signature for the run; nothing was sent to "
    "Azure.",
    404: "What the request names does not exist in Azure, or in the registry.",
    413: "The body is over MAX_REQUEST_BYTES.",
    422: "The request was well formed, but the job cannot succeed as asked.",
    500: "The app's own configuration, registry or code is at fault.",
    502: "Azure refused the app or failed.",
    503: "Try again later.",
    504: "The run's deadline passed.",
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying: always with RateLimited, and when Azure "
    "asked for a wait.",
    "schema": {"type": "integer", "minimum": 1},
}
AZURES_OWN_CODE = "Azure's own code (content_filter, …)"
HOST_REFUSAL = (
    "No valid key: the Functions host refuses the request before the app sees it, with an "
    "empty body."
)


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for operation in OPERATIONS:
        paths[f"/{operation.route}"][operation.method] = _operation(operation)
    return {
        "openapi": OPENAPI,
        "info": INFO,
        "servers": [{"url": f"/{c.ROUTE_PREFIX}", "description": "The app's HTTP functions."}],
        "tags": TAGS,
        "paths": dict(paths),
        "components": {"schemas": component_schemas(), "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": operation.function,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "security": SECURITY[operation.auth],
    }
    if operation.parameters:
        described["parameters"] = [_parameter(p) for p in operation.parameters]
    if operation.request is not None:
        media = {"schema": ref(operation.request.__name__), "example": operation.request_example}
        described["requestBody"] = {
            "required": True,
            "description": "One JSON object of parameters (UTF-8, at most MAX_REQUEST_BYTES and "
            "10,000 JSON elements); unknown fields are ignored.",
            "content": {JSON: media},
        }
    described["responses"] = _responses(operation)
    return described


def _parameter(parameter: Parameter) -> dict[str, Any]:
    described = {
        "name": parameter.name,
        "in": parameter.where,
        "required": parameter.where == "path",
        "description": parameter.description,
        "schema": parameter.schema,
    }
    if parameter.example is not None:
        described["example"] = parameter.example
    return described


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[int, dict[str, Any]] = {}
    for status, bodies in operation.answers.items():
        state = "Running" if status == 202 else "Success"
        schemas = [in_state(body, state) for body in bodies]
        responses[status] = _response(_description(bodies, state), schemas)
    failures: dict[int, list[type[AppError]]] = defaultdict(list)
    for error in operation.errors:
        failures[HTTP_STATUS[error]].append(error)
    for status, errors in failures.items():
        responses[status] = _failure(operation, status, errors)
    if operation.auth != "anonymous":
        responses[401] = {"description": HOST_REFUSAL}
    return {str(status): responses[status] for status in sorted(responses)}


def _failure(operation: Operation, status: int, errors: list[type[AppError]]) -> dict[str, Any]:
    by_body: dict[Body, list[type[AppError]]] = defaultdict(list)
    for error in errors:
        for body in operation.error_bodies.get(error, (ErrorAnswer,)):
            by_body[body].append(error)
    schemas = [in_state(body, "Failed", codes) for body, codes in by_body.items()]
    codes = ", ".join(sorted({_code(error) for error in errors}))
    response = _response(f"Failed: {codes}. {STATUS_REASONS[status]}", schemas)
    if status in (502, 503, 504):
        response["headers"] = {"Retry-After": RETRY_AFTER}
    return response


def _response(description: str, schemas: list[dict[str, Any]]) -> dict[str, Any]:
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _description(bodies: tuple[Body, ...], state: str) -> str:
    names = " or ".join(_name(body) for body in bodies)
    return f"{state}: {names}." if state in run_states(bodies[0]) else f"{names}."


def _code(error: type[AppError]) -> str:
    return AZURES_OWN_CODE if error is UpstreamRejected else error.code


def in_state(body: Body, state: str, errors: list[type[AppError]] | None = None) -> dict[str, Any]:
    """The body's schema, held to the run state it answers: `status` is that state; a batch has
    `statusQueryUrl` only while Running; an `error` only when Failed, with the codes it may
    carry there."""
    if state not in run_states(body):
        return ref(_name(body))
    fields = _fields(body)
    refinement: dict[str, Any] = {"properties": {"status": {"const": state}}}
    required: list[str] = []
    absent: list[str] = []
    if "status_query_url" in fields:
        (required if state == "Running" else absent).append("statusQueryUrl")
    if "error" in fields:
        always = "error" not in getattr(body, "OMIT_IF_NONE", frozenset())
        if state == "Failed":
            error = _error_codes(errors or [])
            refinement["properties"]["error"] = error
            required.append("error")
        elif always:
            refinement["properties"]["error"] = {"type": "null"}
        else:
            absent.append("error")
    if required:
        refinement["required"] = required
    if absent:
        forbidden = [{"required": [name]} for name in absent]
        refinement["not"] = forbidden[0] if len(forbidden) == 1 else {"anyOf": forbidden}
    return {"allOf": [ref(_name(body)), refinement]}


def _error_codes(errors: list[type[AppError]]) -> dict[str, Any]:
    """The `error` object's `code`: one of the errors' codes, or any string where Azure's own
    400 codes pass through (`UpstreamRejected`)."""
    code: dict[str, Any] = {"enum": sorted({error.code for error in errors})}
    if UpstreamRejected in errors:
        code = {"type": "string", "description": ", ".join(sorted(map(_code, errors))) + "."}
    return {"type": "object", "properties": {"code": code}, "required": ["code"]}


def run_states(body: Body) -> set[str]:
    """The run states a body's `status` can say (none for a body that is not a run's)."""
    status = _fields(body).get("status")
    return set(get_args(status.annotation)) & RUN_STATES if status is not None else set()


def _name(body: Body) -> str:
    return body if isinstance(body, str) else body.__name__


def _fields(body: Body) -> dict[str, Any]:
    return body.model_fields if isinstance(body, type) and issubclass(body, BaseModel) else {}
