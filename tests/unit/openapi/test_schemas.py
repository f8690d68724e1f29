"""The document's schemas say what the models accept and answer: a request the schema calls valid
is one the app reads, and every answer the app builds validates against its schema."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, ValidationError

from shared import errors
from shared.models import answers as a
from shared.models.requests import BatchRunRequest, ChatRunRequest, EmbeddingRunRequest
from shared.openapi.schemas import (
    NUMERIC_STRINGS,
    component_schemas,
    positive_integers_up_to,
)
from shared.registry.entity import JobEntity
from shared.web import error_body
from tests.unit.models.test_answers import ERROR_CLASSES, _raise

SCHEMAS = component_schemas()


def valid(name: str, value: Any) -> bool:
    """As schemathesis' validator reads the schema (JSON Schema 2020-12, ECMA-262 patterns)."""
    root = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": SCHEMAS}}
    return jsonschema_rs.Draft202012Validator(root).is_valid(value)


def read(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


NUMBERS: list[Any] = [1, 1_000_000, 0, 1_000_001, 2.5, 256.0, "1", "256", "1000000", "0"]
NUMBERS += ["1000001", True, None, "x", [], ""]
TEMPERATURES: list[Any] = [0, 2, 0.7, -0.1, 2.01, True, None, "0", "2", "2.0", "1.25", "2.5"]
CHAT_BODIES: list[dict[str, Any]] = [
    {"user_prompt": "Say hello"},
    {"user_prompt": " x "},
    {"user_prompt": ""},
    {"user_prompt": " \t\n\u3000"},
    {"user_prompt": 5},
    {},
    {"user_prompt": "x", "system_prompt": ""},
    {"user_prompt": "x", "system_prompt": None},
    {"user_prompt": "x", "unknown": [1, {"a": None}]},
    *({"user_prompt": "x", "max_tokens": number} for number in NUMBERS),
    *({"user_prompt": "x", "temperature": number} for number in TEMPERATURES),
]
BATCH_BODIES: list[dict[str, Any]] = [
    {},
    {"input_file_id": "file-abc_1", "endpoint": "/chat/completions", "completion_window": "24h"},
    *({"input_file_id": v} for v in ("", "  ", None, "file-", "abc", 12, "file-a/b")),
    *({"endpoint": v} for v in ("", "/embeddings", "chat/completions", "/CHAT")),
    *({"completion_window": v} for v in ("\t", "7d", "0h", "24", 24)),
]
EMBEDDING_BODIES: list[dict[str, Any]] = [{"input": "text"}, {"input": " "}, {"input": ["a"]}, {}]


@pytest.mark.parametrize(
    ("model", "body"),
    [(ChatRunRequest, b) for b in CHAT_BODIES]
    + [(BatchRunRequest, b) for b in BATCH_BODIES]
    + [(EmbeddingRunRequest, b) for b in EMBEDDING_BODIES],
    ids=repr,
)
def test_the_schema_accepts_a_body_exactly_when_the_app_reads_it(model, body):
    assert valid(model.__name__, body) == read(model, body)


def test_numbers_may_be_numeric_strings_within_their_bounds():
    assert re.fullmatch(positive_integers_up_to(1000), "1000")
    for text in ("1", "7", "999"):
        assert re.fullmatch(positive_integers_up_to(1000), text)
    for text in ("0", "01", "1001", "-1", "1e3"):
        assert not re.fullmatch(positive_integers_up_to(1000), text)
    with pytest.raises(ValueError):
        positive_integers_up_to(1500)
    assert set(NUMERIC_STRINGS) == {"max_tokens", "temperature"}


HEAD = {"run_id": "gpt-4o#sync#Success", "status": "Success"}
CALLED = {
    "deployment": "gpt-4o",
    "model": "gpt-4o",
    "api": "2024-10-21",
    "request_id": "r",
    "monitor_url": None,
}
BATCH = {
    "run_id": "batch_1",
    "status": "Running",
    "batch_status": "validating",
    **dict.fromkeys(("output_file_id", "error_file_id", "start_time", "end_time"), None),
    **dict.fromkeys(("input_file_id", "endpoint", "completion_window"), None),
    **dict.fromkeys(("request_counts_total", "request_counts_completed"), None),
    "request_counts_failed": None,
    "deployment": "gpt-4o",
    "request_id": None,
    "monitor_url": None,
}
ANSWERS: list[a.Answer] = [
    a.ChatAnswer(
        **HEAD,
        **CALLED,
        response="hi",
        prompt_tokens=1,
        completion_tokens=2,
        total_tokens=3,
        finish_reason="stop",
        reasoning_tokens=None,
        cached_tokens=0,
        adjustments=[a.Adjustment(parameter="max_tokens", action="capped", to=5, reason="r")],
    ),
    a.BackgroundAnswer(
        run_id="resp_1",
        status="Running",
        response_status="queued",
        deployment="gpt-5-pro",
        model="gpt-5-pro",
        request_id="r",
        monitor_url=None,
        status_query_url="https://app/api/status/resp_1?sig=s",
    ),
    a.EmbeddingAnswer(**HEAD, **CALLED, embedding=[0.5], prompt_tokens=1, total_tokens=1),
    a.BatchAnswer(**BATCH),
    a.BatchAnswer(**BATCH | {"statusQueryUrl": "https://app/api/status/batch_1?sig=s"}),
    a.BatchAnswer(**BATCH | {"status": "Failed", "error": a.ErrorObject(code="x", message="m")}),
    a.SyncStatusAnswer(**HEAD, deployment="gpt-4o"),
    a.DiscoveryOutcome(trigger="http", started_at="2026-01-01T00:00:00+00:00", definitions={}),
    a.DiscoveryOutcome(
        status="Failed",
        trigger="http",
        started_at="t",
        definitions={"Azure OpenAI Embedding": 0},
        error={"code": "UpstreamAuthFailed", "message": "m", "upstream_status": 403},
    ),
    a.HealthAnswer(status="ok"),
    a.HealthProblemAnswer(problem={"code": "NotConfigured", "message": "m"}),
    *(
        a.HealthDetailsAnswer(
            status="ok",
            account=None,
            auth="aad",
            api_version="v",
            job_definitions_table="T",
            missing_settings=[],
            last_discovery=None,
            registry=registry,
        )
        for registry in (None, "unavailable (ServiceRequestError)")
    ),
]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: type(answer).__name__)
def test_every_answer_validates_against_its_schema(answer):
    assert valid(type(answer).__name__, answer.to_json()), answer.to_json()


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_body_validates_against_the_error_answer(cls):
    error = _raise(cls)
    error.run_id = None
    assert valid("ErrorAnswer", error_body(error))


def test_an_answer_carries_every_key_and_null_only_where_it_may():
    chat = ANSWERS[0].to_json()
    assert not valid("ChatAnswer", {k: v for k, v in chat.items() if k != "adjustments"})
    running = ANSWERS[3].to_json()
    assert not valid("BatchAnswer", running | {"statusQueryUrl": None})
    assert not valid("ErrorAnswer", {"run_id": None, "status": "Failed", "error": None})
    assert not valid("ErrorObject", {"code": "x", "message": "m", "hint": None})


def test_a_job_view_has_every_field_of_the_registry_entity():
    assert set(SCHEMAS["JobView"]["properties"]) == set(JobEntity.model_fields)
    entity = {"RowKey": "gpt-4o", "JobType": "Azure OpenAI Chat Completion", "SkuCapacity": 50}
    view = JobEntity.from_table(entity | {"Attributes": '{"a": 1}', "Retired": True}).view()
    answer = a.JobsAnswer(count=1, jobs=[view])
    assert valid("JobsAnswer", answer.to_json())
    assert not valid("JobsAnswer", {"count": 1, "jobs": [view | {"extra": 1}]})


def test_error_details_name_a_field_and_a_problem():
    error = errors.InvalidRequest("bad", details=[{"field": "f", "problem": "p"}])
    assert valid("ErrorObject", error.error_object())
    assert not valid("ErrorObject", {"code": "x", "message": "m", "details": [{"field": "f"}]})
