"""The batch submission body: the run body over the job attributes over the defaults."""

import json

import pytest

from shared import constants as c
from shared import errors
from shared.models.requests import BatchRunRequest
from shared.registry.entity import BatchAttributes, JobDefinition
from shared.runs.batch import BATCH_ENDED, batch_request_body


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


def test_every_end_state_a_batch_can_reach_has_its_error():
    """`Batch.state` reads Azure's statuses from the constants; the run answers each end state
    other than success with its error: the two lists are one."""
    assert set(BATCH_ENDED) == c.BATCH_FAILED
