"""Inbound validation, attribute parsing and the run-id codec: pure, no I/O."""

import json

import pytest

from shared import errors
from shared.models.requests import ChatRunRequest, parse_json_object, validate_deployment_name
from shared.registry.entity import ChatAttributes, JobDefinition
from shared.runs.chat import chat_request_body
from shared.runs.ids import BatchRun, SyncRun, parse_run_id


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


def _definition(attributes):
    return JobDefinition.from_entity(
        {"PartitionKey": "acct", "RowKey": "gpt-4o", "Attributes": json.dumps(attributes)}
    )


def test_attributes_as_strings_are_read():
    attrs = _definition(
        {
            "OpenAI Max Tokens": "256",
            "OpenAI Temperature": "0.2",
            "OpenAI System Prompt": "Be brief",
        }
    ).attributes_as(ChatAttributes)
    assert (attrs.max_tokens, attrs.temperature, attrs.system_prompt) == (256, 0.2, "Be brief")


def test_blank_attributes_count_as_absent():
    attrs = _definition({"OpenAI Max Tokens": "", "Deployment Name": ""}).attributes_as(
        ChatAttributes
    )
    assert (attrs.max_tokens, attrs.deployment_name) == (None, None)


def test_invalid_attribute_is_a_definition_error_naming_it():
    with pytest.raises(errors.InvalidJobDefinition, match="OpenAI Max Tokens"):
        _definition({"OpenAI Max Tokens": "lots"}).attributes_as(ChatAttributes)


def test_attributes_that_are_not_json_are_a_definition_error():
    with pytest.raises(errors.InvalidJobDefinition):
        JobDefinition.from_entity({"RowKey": "x", "Attributes": "{not json"})


def test_definition_tolerates_missing_properties():
    definition = JobDefinition.from_entity({"PartitionKey": "acct", "RowKey": "hand-made"})
    assert definition.external_id == "hand-made"
    assert definition.attributes == {}
    assert definition.job_type is None


def test_upstream_body_precedence_body_over_attribute_over_omitted():
    attrs = _definition(
        {"OpenAI Max Tokens": "100", "OpenAI Temperature": "0.1", "OpenAI System Prompt": "attr"}
    ).attributes_as(ChatAttributes)
    from_body = ChatRunRequest.parse(
        {"user_prompt": "u", "system_prompt": "body", "max_tokens": 5, "temperature": 1.5}
    )
    assert chat_request_body(from_body, attrs) == {
        "messages": [{"role": "system", "content": "body"}, {"role": "user", "content": "u"}],
        "max_tokens": 5,
        "temperature": 1.5,
    }
    bare = ChatRunRequest.parse({"user_prompt": "u"})
    assert chat_request_body(bare, attrs) == {
        "messages": [{"role": "system", "content": "attr"}, {"role": "user", "content": "u"}],
        "max_tokens": 100,
        "temperature": 0.1,
    }
    assert chat_request_body(bare, _definition({}).attributes_as(ChatAttributes)) == {
        "messages": [{"role": "user", "content": "u"}]
    }


def test_zero_temperature_from_the_body_beats_the_attribute():
    attrs = _definition({"OpenAI Temperature": "0.9"}).attributes_as(ChatAttributes)
    body = chat_request_body(ChatRunRequest.parse({"user_prompt": "u", "temperature": 0}), attrs)
    assert body["temperature"] == 0


@pytest.mark.parametrize(
    ("run_id", "deployment", "outcome"),
    [("gpt-4o#sync#Success", "gpt-4o", "Success"), ("a.b_c-d#sync#Failed", "a.b_c-d", "Failed")],
)
def test_sync_run_ids_decode(run_id, deployment, outcome):
    run = parse_run_id(run_id)
    assert isinstance(run, SyncRun)
    assert (run.deployment, run.outcome, run.run_id) == (deployment, outcome, run_id)


@pytest.mark.parametrize(
    "run_id", ["batch_6caaf24d-54a5-46be-b1b7-518884fcbdde", "batch_abc", "batch_A_1-2"]
)
def test_batch_ids_are_batch_runs(run_id):
    assert parse_run_id(run_id) == BatchRun(run_id)


@pytest.mark.parametrize(
    "run_id",
    [
        "",
        "gpt-4o",
        "gpt-4o#sync#Running",
        "gpt-4o#sync#success",
        "../x#sync#Success",
        "#sync#Success",
        "x" * 65 + "#sync#Success",
        "gpt-4o#async#Success",
        "gpt-4o#sync#Success#",
        "..#sync#Success",
        ".#sync#Failed",
        "batch_",
        "batch_../x",
        "batch_a/b",
        "batch_a b",
        "batch_" + "a" * 129,
        "Batch_abc",
        "batch_abc\n",
    ],
)
def test_other_run_ids_are_invalid(run_id):
    with pytest.raises(errors.InvalidRunId):
        parse_run_id(run_id)


def test_every_error_class_has_a_documented_status():
    expected = {
        "InvalidRequest": 400,
        "InvalidDeploymentName": 400,
        "InvalidRunId": 400,
        "PayloadTooLarge": 413,
        "InvalidInputModel": 422,
        "RunFailed": 422,
        "BatchFailed": 422,
        "BatchExpired": 422,
        "BatchCancelled": 422,
        "NotConfigured": 500,
        "InvalidJobDefinition": 500,
        "InternalError": 500,
        "RegistryUnavailable": 503,
        "DeploymentNotFound": 404,
        "BatchNotFound": 404,
        "UpstreamRejected": 422,
        "UpstreamAuthFailed": 502,
        "UpstreamUnavailable": 502,
        "UpstreamBadResponse": 502,
        "RateLimited": 503,
        "UpstreamTimeout": 504,
        "UpstreamNotFound": 502,
    }
    assert {cls.code: status for cls, status in errors.HTTP_STATUS.items()} == expected
