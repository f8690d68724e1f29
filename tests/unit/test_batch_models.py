"""Batch and embedding parameters, Azure's batch answer in its documented variants, and the
statusQueryUrl: pure, no I/O."""

import json
from datetime import UTC, datetime

import pytest

from shared import errors
from shared.models.azure import Batch, iso_utc
from shared.models.requests import BatchRunRequest, EmbeddingRunRequest
from shared.registry.entity import BatchAttributes, JobDefinition
from shared.runs.batch import batch_request_body
from shared.runs.ids import status_query_url
from shared.web import RequestOrigin

CREATED = datetime(2026, 11, 26, 0, 9, 55, tzinfo=UTC)


def attributes(**values: str) -> BatchAttributes:
    entity = {"PartitionKey": "acct", "RowKey": "gpt-4o::batch", "Attributes": json.dumps(values)}
    return JobDefinition.from_entity(entity).attributes_as(BatchAttributes)


def test_batch_body_values_override_attributes():
    attrs = attributes(
        **{
            "OpenAI Input File ID": "file-attr",
            "OpenAI Batch Endpoint": "/embeddings",
            "OpenAI Completion Window": "48h",
        }
    )
    params = BatchRunRequest.parse(
        {"input_file_id": "file-body", "endpoint": "/chat/completions", "completion_window": "24h"}
    )
    assert batch_request_body(params, attrs) == {
        "input_file_id": "file-body",
        "endpoint": "/chat/completions",
        "completion_window": "24h",
    }


def test_batch_attributes_apply_when_the_body_is_silent():
    attrs = attributes(
        **{
            "OpenAI Input File ID": "file-attr",
            "OpenAI Batch Endpoint": "/embeddings",
            "OpenAI Completion Window": "48h",
        }
    )
    assert batch_request_body(BatchRunRequest.parse({"input_file_id": " "}), attrs) == {
        "input_file_id": "file-attr",
        "endpoint": "/embeddings",
        "completion_window": "48h",
    }


def test_batch_defaults_fill_endpoint_and_window():
    params = BatchRunRequest.parse({"input_file_id": "file-1"})
    assert batch_request_body(params, BatchAttributes()) == {
        "input_file_id": "file-1",
        "endpoint": "/chat/completions",
        "completion_window": "24h",
    }


def test_a_batch_without_any_input_file_is_invalid():
    with pytest.raises(errors.InvalidRequest) as caught:
        batch_request_body(BatchRunRequest.parse({}), attributes(**{"Deployment Name": "x"}))
    assert caught.value.details == [
        {"field": "input_file_id", "problem": "required (no job attribute either)"}
    ]
    assert "OpenAI Input File ID" in caught.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input_file_id": "report.jsonl"}, "input_file_id"),
        ({"input_file_id": 12}, "input_file_id"),
        ({"input_file_id": ["file-1"]}, "input_file_id"),
        ({"endpoint": "chat/completions"}, "endpoint"),
        ({"endpoint": "/chat/completions?x=1"}, "endpoint"),
        ({"completion_window": "soon"}, "completion_window"),
        ({"completion_window": 24}, "completion_window"),
    ],
)
def test_bad_batch_parameters_name_the_field(body, field):
    with pytest.raises(errors.InvalidRequest) as caught:
        BatchRunRequest.parse(body)
    assert [d["field"] for d in caught.value.details or []] == [field]


def test_a_bad_batch_attribute_is_an_invalid_job_definition():
    with pytest.raises(errors.InvalidJobDefinition) as caught:
        attributes(**{"OpenAI Input File ID": "not-a-file-id"})
    assert "OpenAI Input File ID" in caught.value.message


@pytest.mark.parametrize("value", ["", "   ", 7, None, ["a"], {"a": 1}, True])
def test_embedding_input_must_be_a_non_blank_string(value):
    with pytest.raises(errors.InvalidRequest) as caught:
        EmbeddingRunRequest.parse({"input": value})
    assert caught.value.details and caught.value.details[0]["field"] == "input"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (1795651795, CREATED),
        (1795651795.0, CREATED),
        ("1795651795", CREATED),
        ("1795651795.0", CREATED),
        (" 1795651795 ", CREATED),
        ("2026-11-26T00:09:55Z", CREATED),
        ("2026-11-26T00:09:55+00:00", CREATED),
        ("2026-11-26T00:09:55", CREATED),
        ("2026-11-26T01:09:55+01:00", CREATED),
        (None, None),
        ("", None),
        ("yesterday", None),
        (True, None),
        (10**20, None),
        ({"at": 1}, None),
    ],
)
def test_batch_timestamps_in_every_documented_form(raw, parsed):
    batch = Batch.model_validate({"id": "batch_1", "status": "completed", "created_at": raw})
    assert batch.created_at == parsed


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("validating", "validating"),
        ("Validating", "validating"),
        ("in_progress", "in_progress"),
        ("InProgress", "in_progress"),
        ("IN_PROGRESS", "in_progress"),
        ("Finalizing", "finalizing"),
        ("completed", "completed"),
        ("Completed", "completed"),
        ("Failed", "failed"),
        ("expired", "expired"),
        ("Cancelling", "cancelling"),
        ("cancelled", "cancelled"),
        ("Paused", "paused"),
    ],
)
def test_batch_status_in_any_casing(status, state):
    assert Batch.model_validate({"id": "batch_1", "status": status}).state == state


@pytest.mark.parametrize(
    "raw",
    [1795651795, "2026-11-26T00:09:55Z", "2026-11-26T01:09:55+01:00", "2026-11-25T19:09:55-05:00"],
)
def test_times_are_answered_in_utc(raw):
    batch = Batch.model_validate({"id": "b", "status": "completed", "created_at": raw})
    assert iso_utc(batch.created_at) == "2026-11-26T00:09:55Z"
    assert iso_utc(None) is None


def test_batch_errors_and_counts_in_their_shapes():
    listed = {"object": "list", "data": [{"code": "invalid_json_line", "line": 2}]}
    assert Batch.model_validate({"id": "b", "status": "failed", "errors": listed}).errors == [
        {"code": "invalid_json_line", "line": 2}
    ]
    bare = Batch.model_validate({"id": "b", "status": "failed", "errors": [{"code": "x"}]})
    assert bare.errors == [{"code": "x"}]
    empty = Batch.model_validate({"id": "b", "status": "validating", "errors": None})
    assert empty.errors == [] and empty.request_counts is None
    counted = Batch.model_validate(
        {"id": "b", "status": "completed", "request_counts": {"total": 3, "completed": 2}}
    )
    assert counted.request_counts is not None
    assert (counted.request_counts.total, counted.request_counts.failed) == (3, None)


def test_ended_at_is_the_time_of_the_terminal_state():
    failed = Batch.model_validate({"id": "b", "status": "failed", "failed_at": 1795651795})
    assert failed.ended_at == CREATED
    running = Batch.model_validate({"id": "b", "status": "in_progress"})
    assert running.ended_at is None


@pytest.mark.parametrize(
    ("params", "headers", "key", "in_header"),
    [
        ({"code": "k1"}, {}, "k1", False),
        ({}, {"x-functions-key": "k2"}, "k2", True),
        ({}, {"X-Functions-Key": "k3"}, "k3", True),
        ({"code": "k1"}, {"x-functions-key": "k2"}, "k2", True),
        ({}, {}, None, False),
        ({"code": ""}, {}, None, False),
    ],
)
def test_caller_key_from_header_or_query(params, headers, key, in_header):
    caller = RequestOrigin.from_request(
        "http://127.0.0.1:7071/api/batches/gpt-4o?x=1", params, headers
    )
    assert caller == RequestOrigin("http://127.0.0.1:7071", key, key_in_header=in_header)


def test_status_query_url_carries_key_and_deployment_encoded():
    caller = RequestOrigin("https://app.azurewebsites.net", "a+b/c==")
    assert status_query_url(caller, "batch_1", "gpt-4o", None) == (
        "https://app.azurewebsites.net/api/status/batch_1?deployment=gpt-4o&code=a%2Bb%2Fc%3D%3D"
    )
    assert status_query_url(RequestOrigin("http://h:1"), "batch_1", None, None) == (
        "http://h:1/api/status/batch_1"
    )


def test_public_base_url_replaces_the_origin():
    caller = RequestOrigin("http://internal:80", "k")
    assert status_query_url(caller, "batch_1", None, "https://api.example.com/aoai/") == (
        "https://api.example.com/aoai/api/status/batch_1?code=k"
    )


def test_behind_a_gateway_a_header_key_is_not_copied_into_the_url():
    # API Management typically adds the backend's function key as a header: it must not go
    # back to the gateway's clients.
    injected = RequestOrigin("http://internal:80", "backend-key", key_in_header=True)
    assert status_query_url(injected, "batch_1", "d", "https://api.example.com") == (
        "https://api.example.com/api/status/batch_1?deployment=d"
    )
    assert status_query_url(injected, "batch_1", "d", None) == (
        "http://internal:80/api/status/batch_1?deployment=d&code=backend-key"
    )
