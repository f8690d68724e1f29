"""`chat_run` called as the host calls it, against the simulator and Azurite (real sockets, the
real azure-identity credential)."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.simulator import Fault
from tests.functions.helpers import chat, only_call
from tests.helpers import ACCOUNT, RESOURCE_GROUP, SUBSCRIPTION, seed_definition

pytestmark = pytest.mark.usefixtures("app_env")

CHAT_PATH = "/openai/deployments/gpt-4o/chat/completions"
MONITOR_URL = (
    f"https://portal.azure.com/#@/resource/subscriptions/{SUBSCRIPTION}/resourceGroups/"
    f"{RESOURCE_GROUP}/providers/Microsoft.CognitiveServices/accounts/{ACCOUNT}/overview"
)


def test_success_sends_the_exact_upstream_request_and_maps_the_outputs(sim):
    reply = chat("gpt-4o", {"user_prompt": "What is the capital of France?"})

    call = only_call(sim)
    assert call.method == "POST"
    assert call.raw_path == CHAT_PATH
    assert call.query == {"api-version": "2024-10-21"}
    token = call.headers["authorization"].removeprefix("Bearer ")
    assert sim.issued_tokens()[token] == "https://cognitiveservices.azure.com"
    assert "api-key" not in call.headers
    assert call.headers["content-type"] == "application/json"
    assert call.json() == {
        "messages": [{"role": "user", "content": "What is the capital of France?"}]
    }

    (token_request,) = sim.token_requests()
    assert token_request.query["resource"] == "https://cognitiveservices.azure.com"
    assert token_request.headers["x-identity-header"] == "test-identity-header"

    assert reply.status == 200
    body = reply.body
    assert body["run_id"] == "gpt-4o#sync#Success"
    assert body["status"] == "Success"
    assert body["response"].startswith("Simulated reply from gpt-4o")
    assert body["finish_reason"] == "stop"
    assert body["prompt_tokens"] > 0 and body["completion_tokens"] > 0
    assert body["total_tokens"] == body["prompt_tokens"] + body["completion_tokens"]
    assert body["deployment"] == "gpt-4o"
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["request_id"] and len(body["request_id"]) == 36
    assert body["monitor_url"] == MONITOR_URL


def test_body_parameters_reach_azure_and_numeric_strings_are_numbers(sim):
    chat(
        "gpt-4o",
        {
            "user_prompt": "u",
            "system_prompt": "Be terse.",
            "max_tokens": "64",
            "temperature": "0.3",
            "unknown_field": "ignored",
        },
    )
    assert only_call(sim).json() == {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "u"},
        ],
        "max_tokens": 64,
        "temperature": 0.3,
    }


def test_job_attributes_fill_what_the_body_leaves_out(sim, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o",
        JobType="Azure OpenAI Chat Completion",
        Attributes={
            "OpenAI System Prompt": "You are a pirate.",
            "OpenAI Max Tokens": "128",
            "OpenAI Temperature": "0.7",
            "Deployment Name": "gpt-4o",
        },
    )
    chat("gpt-4o", {"user_prompt": "u"})
    assert only_call(sim).json() == {
        "messages": [
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "u"},
        ],
        "max_tokens": 128,
        "temperature": 0.7,
    }


def test_body_beats_attributes_and_empty_system_prompt_falls_back(sim, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o",
        Attributes={
            "OpenAI System Prompt": "attr",
            "OpenAI Max Tokens": 128,
            "OpenAI Temperature": 1,
        },
    )
    chat("gpt-4o", {"user_prompt": "u", "system_prompt": "", "max_tokens": 5, "temperature": 0})
    assert only_call(sim).json() == {
        "messages": [{"role": "system", "content": "attr"}, {"role": "user", "content": "u"}],
        "max_tokens": 5,
        "temperature": 0,
    }


def test_deployment_name_attribute_overrides_the_deployment_called(sim, registry_table):
    seed_definition(registry_table, "prod-chat", Attributes={"Deployment Name": "gpt-4o-mini"})
    reply = chat("prod-chat", {"user_prompt": "u"})
    assert only_call(sim).raw_path == "/openai/deployments/gpt-4o-mini/chat/completions"
    assert reply.status == 200
    assert reply.body["run_id"] == "gpt-4o-mini#sync#Success"
    assert reply.body["deployment"] == "gpt-4o-mini"


def test_api_key_mode_sends_the_key_and_asks_for_no_token(sim, app_settings):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "sim-api-key")
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert reply.status == 200
    call = only_call(sim)
    assert call.headers["api-key"] == "sim-api-key"
    assert "authorization" not in call.headers
    assert sim.token_requests() == []


def test_filtered_completion_is_a_success_with_an_empty_response():
    reply = chat("gpt-4o", {"user_prompt": "tell me [[filter-completion]]"})
    assert reply.status == 200
    assert reply.body["status"] == "Success"
    assert reply.body["finish_reason"] == "content_filter"
    assert reply.body["response"] == ""


def test_32_concurrent_first_runs_and_the_runs_after_share_one_token_request(sim):
    with ThreadPoolExecutor(32) as pool:  # a cold start: no token yet
        replies = list(pool.map(lambda _: chat("gpt-4o", {"user_prompt": "u"}), range(32)))
    replies += [chat("gpt-4o", {"user_prompt": "u"}) for _ in range(5)]
    assert [r.status for r in replies] == [200] * 37
    assert len(sim.requests()) == 37
    assert len(sim.token_requests()) == 1


def test_logs_carry_the_run_facts_and_never_the_prompt_completion_or_token(sim, caplog):
    caplog.set_level(logging.DEBUG)
    prompt = "my-very-private-prompt-4711"
    system = "my-secret-persona-0815"
    reply = chat("gpt-4o", {"user_prompt": prompt, "system_prompt": system})
    failed = chat("gpt-4o", {"user_prompt": prompt + " [[filter-prompt]]"})
    assert failed.status == 422
    text = "\n".join(record.getMessage() for record in caplog.records)
    token = only_upstream_token(sim)
    for secret in (prompt, system, reply.body["response"], token):
        assert secret not in text
    success = [r.getMessage() for r in caplog.records if "chat run succeeded" in r.getMessage()]
    assert len(success) == 1
    assert "deployment=gpt-4o" in success[0]
    assert f"request_id={reply.body['request_id']}" in success[0]
    assert "upstream_status=200" in success[0] and "duration_ms=" in success[0]
    failure = [r.getMessage() for r in caplog.records if "chat run failed" in r.getMessage()]
    assert len(failure) == 1
    assert "run_id=gpt-4o#sync#Failed" in failure[0] and "code=UpstreamRejected" in failure[0]
    assert f"request_id={failed.body['request_id']}" in failure[0]


def test_logs_never_carry_the_api_key(app_settings, caplog):
    caplog.set_level(logging.DEBUG)
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "sim-api-key")
    chat("gpt-4o", {"user_prompt": "u"})
    app_settings.set("AZURE_OPENAI_API_KEY", "wrong-key-123")
    assert chat("gpt-4o", {"user_prompt": "u"}).status == 502
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "sim-api-key" not in text and "wrong-key-123" not in text


def only_upstream_token(sim):
    tokens = {c.headers["authorization"].removeprefix("Bearer ") for c in sim.requests()}
    assert len(tokens) == 1
    return tokens.pop()


def test_upstream_body_is_json_of_exactly_the_resolved_fields(sim):
    chat("gpt-4o", {"user_prompt": "ünïcödé ✓", "temperature": 2})
    call = only_call(sim)
    assert json.loads(call.body) == {
        "messages": [{"role": "user", "content": "ünïcödé ✓"}],
        "temperature": 2,
    }


def test_retries_429_with_retry_after_ms_then_succeeds(sim):
    sim.add_fault(
        Fault(
            method="POST",
            path="chat/completions",
            status=429,
            headers={"retry-after-ms": "50"},
            times=1,
        )
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert reply.status == 200
    assert len(sim.requests()) == 2
