"""The chat run's upstream body: the run body over the job attributes over nothing."""

import json

from shared.models.requests import ChatRunRequest
from shared.registry.entity import ChatAttributes, JobDefinition
from shared.runs.chat_plan import chat_request_body


def _definition(attributes):
    return JobDefinition.from_entity(
        {"PartitionKey": "acct", "RowKey": "gpt-4o", "Attributes": json.dumps(attributes)}
    )


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
