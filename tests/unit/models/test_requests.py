"""What Polysync sends: deployment names, run parameters, the JSON body; pure, no I/O."""

import json

import pytest

from shared import errors
from shared.models.requests import (
    BatchRunRequest,
    ChatRunRequest,
    EmbeddingRunRequest,
    parse_json_object,
    validate_deployment_name,
)


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


@pytest.mark.parametrize("value", ["", "   ", 7, None, ["a"], {"a": 1}, True])
def test_embedding_input_must_be_a_non_blank_string(value):
    with pytest.raises(errors.InvalidRequest) as caught:
        EmbeddingRunRequest.parse({"input": value})
    assert caught.value.details and caught.value.details[0]["field"] == "input"


@pytest.mark.parametrize("name", ["gpt-4o", "a", "Model_1.2-x", "x" * 64])
def test_valid_deployment_names(name):
    assert validate_deployment_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "../x", "..", ".", "a?b", "a#b", "a/b", "a b", "x" * 65, "é", "a\x00b", "a::batch"]
)
def test_invalid_deployment_names(name):
    with pytest.raises(errors.InvalidDeploymentName):
        validate_deployment_name(name)


def test_batch_suffix_is_stripped_only_where_allowed():
    assert validate_deployment_name("gpt-4o::batch", allow_batch_suffix=True) == "gpt-4o"
    with pytest.raises(errors.InvalidDeploymentName):
        validate_deployment_name("::batch", allow_batch_suffix=True)


def test_numeric_strings_are_accepted():
    params = ChatRunRequest.parse({"user_prompt": "hi", "max_tokens": "256", "temperature": "0.5"})
    assert (params.max_tokens, params.temperature) == (256, 0.5)


def test_the_bounds_of_max_tokens_and_temperature_are_in_the_json_schema():
    # schemathesis sent `temperature: -6.4e16` as valid data: the bounds came out as `ge`/`le`,
    # which are no JSON Schema keywords (pydantic's spelling when a BeforeValidator precedes
    # them), so the schema bounded nothing
    properties = ChatRunRequest.model_json_schema()["properties"]
    max_tokens, temperature = properties["max_tokens"]["anyOf"][0], properties["temperature"]
    assert max_tokens == {"type": "integer", "minimum": 1, "maximum": 1_000_000}
    assert temperature["anyOf"][0] == {"type": "number", "minimum": 0, "maximum": 2}


def test_empty_system_prompt_counts_as_absent():
    assert ChatRunRequest.parse({"user_prompt": "hi", "system_prompt": "  "}).system_prompt is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user_prompt"),
        ({"user_prompt": ""}, "user_prompt"),
        ({"user_prompt": "   "}, "user_prompt"),
        ({"user_prompt": 5}, "user_prompt"),
        ({"user_prompt": ["a"]}, "user_prompt"),
        ({"user_prompt": "x", "system_prompt": 1}, "system_prompt"),
        ({"user_prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"user_prompt": "x", "max_tokens": 2.5}, "max_tokens"),
        ({"user_prompt": "x", "max_tokens": "many"}, "max_tokens"),
        ({"user_prompt": "x", "max_tokens": True}, "max_tokens"),
        ({"user_prompt": "x", "temperature": 2.01}, "temperature"),
        ({"user_prompt": "x", "temperature": -0.1}, "temperature"),
        ({"user_prompt": "x", "temperature": "nan"}, "temperature"),
        ({"user_prompt": "x", "temperature": False}, "temperature"),
    ],
)
def test_bad_parameters_name_the_field(body, field):
    with pytest.raises(errors.InvalidRequest) as caught:
        ChatRunRequest.parse(body)
    assert [d["field"] for d in caught.value.details or []] == [field]


def test_validation_details_never_echo_the_value():
    with pytest.raises(errors.InvalidRequest) as caught:
        ChatRunRequest.parse({"user_prompt": ["a secret prompt"]})
    assert "secret" not in json.dumps(caught.value.error_object())


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1]", b'"text"', b"null", b"42"])
def test_body_must_be_a_json_object(body):
    with pytest.raises(errors.InvalidRequest):
        parse_json_object(body)
