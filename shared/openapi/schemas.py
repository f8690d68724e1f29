"""The contract's JSON schemas (the OpenAPI components), generated from the app's pydantic models:
requests in validation mode (what the app accepts), answers in serialization mode (what it
sends), then refined where a model's own schema says less than the app does:

- a request's numbers may be numeric strings (`"256"`), a blank optional string counts as
  absent, a required text must not be blank (docs/design.md §3);
- an answer always carries every key but those in its `OMIT_IF_NONE`, which are there only with
  a value; `ErrorObject` and `Adjustment` leave out their keys that have none;
- a job of `GET /api/jobs` is a view of the registry entity, `JobEntity` (docs/design.md §7).
"""

from __future__ import annotations

import copy
from typing import Any, get_args

from pydantic import BaseModel, BeforeValidator
from pydantic.json_schema import models_json_schema

from shared import constants as c
from shared.models import answers as a
from shared.models.requests import (
    BatchRunRequest,
    ChatRunRequest,
    EmbeddingRunRequest,
    RequiredText,
    blank_to_none,
)
from shared.registry.entity import JobEntity

REF = "#/components/schemas/{model}"
REQUEST_MODELS: tuple[type[BaseModel], ...] = (ChatRunRequest, EmbeddingRunRequest, BatchRunRequest)
ANSWER_MODELS: tuple[type[a.Answer], ...] = (
    a.ChatAnswer,
    a.BackgroundAnswer,
    a.EmbeddingAnswer,
    a.BatchAnswer,
    a.SyncStatusAnswer,
    a.ErrorAnswer,
    a.DiscoveryOutcome,
    a.JobsAnswer,
    a.HealthAnswer,
    a.HealthDetailsAnswer,
    a.HealthProblemAnswer,
)
# Models whose serializer leaves out the keys that have no value.
PRESENT_ONLY: tuple[type[BaseModel], ...] = (a.ErrorObject, a.Adjustment)


def positive_integers_up_to(ceiling: int) -> str:
    """The decimal integers 1..ceiling, for a ceiling that is a power of ten."""
    digits = len(str(ceiling)) - 1
    if ceiling != 10**digits:
        raise ValueError(f"{ceiling} is not a power of ten")
    return rf"^(?:[1-9][0-9]{{0,{digits - 1}}}|{ceiling})$"


# The numeric strings a request's number may be sent as, within the number's bounds. A numeric
# request field missing here fails the document's generation.
NUMERIC_STRINGS = {
    "max_tokens": positive_integers_up_to(c.MAX_TOKENS_CEILING),
    "temperature": r"^(?:[01](?:\.[0-9]+)?|2(?:\.0+)?)$",
}
# What each request field is, and the job attribute it falls back on (docs/contract.md). A
# request field missing here fails the document's generation.
REQUEST_FIELDS = {
    "user_prompt": "The user message; not blank.",
    "system_prompt": f"The system message, else the job's `{c.ATTR_SYSTEM_PROMPT}`; refused (400) "
    f"when the job's `{c.ATTR_SYSTEM_PROMPT_LOCKED}` is true.",
    "max_tokens": f"Else the job's `{c.ATTR_MAX_TOKENS}`; lowered to the job's "
    f"`{c.ATTR_MAX_TOKENS_LIMIT}` (the answer's `adjustments` says so).",
    "temperature": f"Else the job's `{c.ATTR_TEMPERATURE}`.",
    "reasoning_effort": f"Else the job's `{c.ATTR_REASONING_EFFORT}`; sent to a reasoning model "
    "that takes the value, dropped otherwise (`adjustments` says so).",
    "background": "true: run in the Responses API's background mode (202 Running, a signed "
    f"`statusQueryUrl` to poll); else the job's `{c.ATTR_BACKGROUND}`; the -pro models default "
    "to true.",
    "input": "The text to embed: one string, not blank.",
    "input_file_id": "A file uploaded with purpose=batch, else the job's "
    f"`{c.ATTR_INPUT_FILE_ID}`; without either, 400 InvalidRequest.",
    "endpoint": f"Else the job's `{c.ATTR_BATCH_ENDPOINT}`, else `{c.DEFAULT_BATCH_ENDPOINT}`.",
    "completion_window": f"Else the job's `{c.ATTR_COMPLETION_WINDOW}`, else "
    f"`{c.DEFAULT_COMPLETION_WINDOW}`.",
}
NUMERIC = "The same number as a numeric string."
NOT_BLANK = r"\S"
BLANK = {"type": "string", "pattern": r"^\s*$", "description": "Blank: counts as absent."}


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def component_schemas() -> dict[str, Any]:
    """Every schema the document names, by name."""
    _, requests = models_json_schema(
        [(model, "validation") for model in REQUEST_MODELS], ref_template=REF, by_alias=True
    )
    _, answers = models_json_schema(
        [(model, "serialization") for model in ANSWER_MODELS], ref_template=REF, by_alias=True
    )
    schemas: dict[str, Any] = requests["$defs"] | answers["$defs"]
    for request in REQUEST_MODELS:
        _accepted_inputs(request, schemas[request.__name__])
    for answer in ANSWER_MODELS:
        _always_present(answer, schemas[answer.__name__])
    for model in PRESENT_ONLY:
        schemas[model.__name__] = _present_only(model)
    _refine(schemas)
    return dict(sorted(schemas.items()))


def _accepted_inputs(model: type[BaseModel], schema: dict[str, Any]) -> None:
    required_text = get_args(RequiredText)[1:]
    for name, field in model.model_fields.items():
        prop = schema["properties"][name]
        prop.pop("title", None)
        prop["description"] = REQUEST_FIELDS[name]
        if any(marker in field.metadata for marker in required_text):
            prop["pattern"] = NOT_BLANK
        blank_is_absent = any(
            isinstance(m, BeforeValidator) and m.func is blank_to_none for m in field.metadata
        )
        branches = prop.get("anyOf", [prop])
        widened: list[dict[str, Any]] = []
        for branch in branches:
            widened.append(branch)
            if branch.get("type") in ("integer", "number"):
                pattern = NUMERIC_STRINGS[name]
                widened.append({"type": "string", "pattern": pattern, "description": NUMERIC})
            if blank_is_absent and branch.get("type") == "string" and "pattern" in branch:
                widened.append(BLANK)
        if len(widened) > len(branches):
            prop["anyOf"] = widened
            for key in ("type", "minimum", "maximum", "pattern"):
                prop.pop(key, None)


def _always_present(model: type[a.Answer], schema: dict[str, Any]) -> None:
    """Every key is required but those in OMIT_IF_NONE, which are never null."""
    properties = schema["properties"]
    for name in model.OMIT_IF_NONE:
        properties[name] = not_null(properties[name])
    schema["required"] = [name for name in properties if name not in model.OMIT_IF_NONE]


def _present_only(model: type[BaseModel]) -> dict[str, Any]:
    """A model whose serializer leaves out what has no value: its validation schema, with the
    optional keys never null."""
    schema: dict[str, Any] = model.model_json_schema(ref_template=REF, mode="validation")
    required = set(schema.get("required", []))
    for name, prop in schema["properties"].items():
        if name not in required:
            schema["properties"][name] = not_null(prop)
    return schema


def not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its `null` alternative (and its null default)."""
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    branches: list[dict[str, Any]] = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        return rest | branches[0]
    return rest | ({"anyOf": branches} if branches else {})


def _refine(schemas: dict[str, Any]) -> None:
    """What the models leave open but the app fixes: the shape of a job view, of an error's
    `details`, of a discovery's `error`, of the settings `problem`."""
    schemas["JobView"] = job_view()
    jobs = schemas["JobsAnswer"]["properties"]["jobs"]
    jobs["items"] = ref("JobView")
    detail = {
        "type": "object",
        "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
        "required": ["field", "problem"],
    }
    schemas["ErrorObject"]["properties"]["details"]["items"] = detail
    nullable_error = {"anyOf": [ref("ErrorObject"), {"type": "null"}]}
    schemas["DiscoveryOutcome"]["properties"]["error"] = copy.deepcopy(nullable_error)
    schemas["HealthProblemAnswer"]["properties"]["problem"] = copy.deepcopy(nullable_error)
    schemas["HealthDetailsAnswer"]["properties"]["last_discovery"]["description"] = (
        "The last discovery's stored outcome (its error with codes only, no message), or null "
        "before the first."
    )
    schemas["OpenApiDocument"] = {
        "type": "object",
        "description": "This document: OpenAPI 3.1, generated from the app's code.",
        "properties": {"openapi": {"const": "3.1.0"}},
        "required": ["openapi", "info", "paths", "components"],
    }


JOB_VIEW = (
    "A registry entity as `JobEntity.view()` shows it: every property by its field name, valued "
    "as stored (administrators may edit entities by hand), `parameters` and `attributes` decoded "
    "from their JSON text, times in ISO 8601, `retired` a boolean."
)


def job_view() -> dict[str, Any]:
    """The schema of a job of `GET /api/jobs`, from the entity's fields."""
    properties: dict[str, Any] = {}
    for name, field in JobEntity.model_fields.items():
        owned = ", rewritten by each discovery" if field.json_schema_extra else ""
        properties[name] = {"description": f"The table property `{field.alias}`{owned}."}
    properties["external_id"] |= {"type": "string"}
    properties["retired"] |= {"type": "boolean"}
    return {
        "type": "object",
        "description": JOB_VIEW,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
