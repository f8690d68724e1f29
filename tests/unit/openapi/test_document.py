"""The OpenAPI document: valid OpenAPI 3.1, every schema plain JSON Schema, the keys as the
Functions host checks them, every error status with its codes, the run states held to their
statuses, and route parameters that agree with the app's own checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis

from shared import errors
from shared.models.requests import validate_deployment_name
from shared.openapi import document
from shared.openapi.operations import BATCH_DEPLOYMENT, DEPLOYMENT, OPERATIONS, RUN_ID
from shared.runs.ids import parse_run_id

DOCUMENT = document()
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# What a schema object may say: JSON Schema 2020-12's keywords and OpenAPI's own.
KEYWORDS = {
    *("$ref", "$defs", "type", "enum", "const", "anyOf", "allOf", "oneOf", "not"),
    *("properties", "additionalProperties", "required", "items", "prefixItems"),
    *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
    *("minLength", "maxLength", "pattern", "format", "minItems", "maxItems", "uniqueItems"),
    *("title", "description", "default", "examples", "example", "readOnly", "writeOnly"),
}


def subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(schema, dict):
        return
    yield schema
    for name in ("properties", "$defs"):
        for sub in schema.get(name, {}).values():
            yield from subschemas(sub)
    for name in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for sub in schema.get(name, []):
            yield from subschemas(sub)
    for name in ("not", "items", "additionalProperties"):
        yield from subschemas(schema.get(name))


def every_schema() -> Iterator[dict[str, Any]]:
    yield from DOCUMENT["components"]["schemas"].values()
    for path in DOCUMENT["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                yield parameter["schema"]
            for part in (operation.get("requestBody", {}), *operation["responses"].values()):
                for media in part.get("content", {}).values():
                    yield media["schema"]


def response_schema(path: str, method: str, status: int) -> jsonschema_rs.Validator:
    response = DOCUMENT["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    root = {"allOf": [schema], "components": DOCUMENT["components"]}
    return jsonschema_rs.Draft202012Validator(root)


def test_the_document_is_valid_openapi_3_1_and_its_schemas_json_schema_2020_12():
    schemathesis.openapi.from_dict(DOCUMENT).validate()  # OpenAPI 3.1's own JSON schema
    for schema in DOCUMENT["components"]["schemas"].values():
        jsonschema_rs.meta.validate({"$schema": DIALECT} | schema)


def test_no_schema_says_what_json_schema_does_not_know():
    # schemathesis sent `temperature: -6.4e16` as valid data: the models' bounds came out as
    # pydantic's `ge`/`le`, which JSON Schema ignores
    unknown = {
        key for schema in every_schema() for sub in subschemas(schema) for key in sub
    } - KEYWORDS
    assert unknown == set()


def test_keys_are_as_the_functions_host_checks_them():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert {(s["in"], s["name"]) for s in schemes.values()} == {
        ("header", "x-functions-key"),
        ("query", "code"),
    }
    for op in OPERATIONS:
        described = DOCUMENT["paths"][f"/{op.route}"][op.method]
        security = {name for alternative in described["security"] for name in alternative}
        responses = described["responses"]
        if op.auth == "anonymous":
            assert described["security"] == [], op.function
        else:
            keys = {"function": "functionKey", "admin": "masterKey"}[op.auth]
            assert security == {keys, f"{keys}Query"}, op.function
            assert "content" not in responses["401"], op.function


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.function)
def test_every_error_an_operation_can_answer_is_under_its_status(op):
    responses = DOCUMENT["paths"][f"/{op.route}"][op.method]["responses"]
    for error in op.errors:
        described = responses[str(errors.HTTP_STATUS[error])]
        code = "Azure's own code" if error is errors.UpstreamRejected else error.code
        assert code in described["description"], (op.function, error)
    for status in (502, 503, 504):
        if str(status) in responses:
            assert "Retry-After" in responses[str(status)]["headers"]
    assert errors.InternalError in op.errors  # the boundary's answer to a bug, everywhere


BATCH = {
    "run_id": "batch_1",
    "status": "Running",
    "batch_status": "in_progress",
    **dict.fromkeys(("output_file_id", "error_file_id", "start_time", "end_time"), None),
    **dict.fromkeys(("input_file_id", "endpoint", "completion_window", "request_id"), None),
    **dict.fromkeys(("request_counts_total", "request_counts_completed"), None),
    **dict.fromkeys(("request_counts_failed", "monitor_url"), None),
    "deployment": "gpt-4o",
    "mode": "batch",
    "api": "2024-10-21",
}
LINK = {"statusQueryUrl": "https://app.example/api/status/batch_1?expires=1&sig=s"}
ENDED = {"status": "Failed", "error": {"code": "BatchExpired", "message": "m", "errors": []}}


def test_a_batch_has_a_status_link_only_while_running_and_an_error_only_when_ended():
    running = response_schema("/status/{run_id}", "get", 202)
    assert running.is_valid(BATCH | LINK)
    assert not running.is_valid(BATCH)
    assert not running.is_valid(BATCH | LINK | {"status": "Success"})
    done = response_schema("/status/{run_id}", "get", 200)
    assert done.is_valid(BATCH | {"status": "Success"})
    assert not done.is_valid(BATCH | LINK | {"status": "Success"})
    ended = response_schema("/status/{run_id}", "get", 422)
    assert ended.is_valid(BATCH | ENDED)
    assert not ended.is_valid(BATCH | ENDED | LINK)
    assert not ended.is_valid(BATCH | {"status": "Failed"})
    other = {"code": "RateLimited", "message": "m"}
    assert not ended.is_valid(BATCH | ENDED | {"error": other})


def test_an_error_status_says_which_codes_it_carries():
    not_found = response_schema("/chat/{deployment}", "post", 404)
    found = {"code": "DeploymentNotFound", "message": "m"}
    error: dict[str, Any] = {"run_id": None, "status": "Failed", "error": found}
    assert not_found.is_valid(error)
    assert not not_found.is_valid(error | {"error": {"code": "BatchNotFound", "message": "m"}})
    assert not not_found.is_valid(error | {"status": "Success"})
    # Azure's own 400 codes pass through as 422s: that code is open
    rejected = response_schema("/chat/{deployment}", "post", 422)
    assert rejected.is_valid(error | {"error": {"code": "content_filter", "message": "m"}})


def matches(pattern: str, value: str) -> bool:
    """As JSON Schema reads a pattern (ECMA-262: `$` ends the string; Python's `re` would take a
    trailing newline), with the validator schemathesis uses."""
    return bool(jsonschema_rs.validator_for({"pattern": pattern}).is_valid(value))


def _app_takes(check: Any, value: str) -> bool:
    try:
        check(value)
    except errors.AppError:
        return False
    return True


NAMES = ["gpt-4o", "a", "x" * 64, "x" * 65, ".", "..", "...", "a/b", "a b", "", "gpt-4o\n"]
NAMES += ["gpt-4o::batch", "::batch", ".::batch", "..::batch", "a::batch::batch", "a:batch"]
RUN_IDS = ["gpt-4o#sync#Success", "x#sync#Failed", "..#sync#Success", "#sync#Success"]
RUN_IDS += ["batch_abc-1", "batch_", "batch_a/b", "batch_" + "a" * 129, "gpt-4o#sync#success"]


@pytest.mark.parametrize("name", NAMES)
def test_the_route_patterns_take_what_the_app_takes(name):
    assert matches(DEPLOYMENT, name) == _app_takes(validate_deployment_name, name)
    batch = matches(BATCH_DEPLOYMENT, name)
    assert batch == _app_takes(lambda n: validate_deployment_name(n, allow_batch_suffix=True), name)


@pytest.mark.parametrize("run_id", RUN_IDS)
def test_the_run_id_pattern_takes_what_the_app_takes(run_id):
    assert matches(RUN_ID, run_id) == _app_takes(parse_run_id, run_id)
