"""Every row of the docs/design.md §3 error table that applies to a chat run: status, code, the
run id, and no call to Azure for bad input."""

from __future__ import annotations

import pytest

from local.azurite import free_port
from local.simulator import Fault
from tests.functions.helpers import assert_failed, assert_no_call_to_azure, chat
from tests.helpers import seed_definition

pytestmark = pytest.mark.usefixtures("app_env")

FAILED = "gpt-4o#sync#Failed"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["user_prompt"]),
        ({"user_prompt": ""}, ["user_prompt"]),
        ({"user_prompt": " \n\t"}, ["user_prompt"]),
        ({"user_prompt": 42}, ["user_prompt"]),
        ({"user_prompt": None}, ["user_prompt"]),
        ({"user_prompt": "u", "system_prompt": ["x"]}, ["system_prompt"]),
        ({"user_prompt": "u", "max_tokens": 0}, ["max_tokens"]),
        ({"user_prompt": "u", "max_tokens": "ten"}, ["max_tokens"]),
        ({"user_prompt": "u", "temperature": 3}, ["temperature"]),
        ({"user_prompt": "u", "temperature": "hot"}, ["temperature"]),
        ({"max_tokens": -1, "temperature": 9}, ["max_tokens", "temperature", "user_prompt"]),
    ],
)
def test_bad_parameters_are_400_naming_each_field(sim, body, fields):
    reply = chat("gpt-4o", body)
    assert_failed(reply, 400, "InvalidRequest", run_id=FAILED)
    assert sorted(d["field"] for d in reply.body["error"]["details"]) == fields
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize("raw", [b"not json", b"{", b"[]", b'"a string"', b"null", b"", b"\xff"])
def test_body_not_a_json_object_is_400(sim, raw):
    assert_failed(chat("gpt-4o", raw), 400, "InvalidRequest", run_id=FAILED)
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"user_prompt": "u", "extra": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_a_body_nested_too_deeply_is_400_not_a_crash(sim, raw):
    reply = chat("gpt-4o", raw)
    assert_failed(reply, 400, "InvalidRequest", run_id=FAILED)
    assert reply.body["error"]["details"] == [{"field": "body", "problem": "nested too deeply"}]
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize("name", ["../x", "a?b", "a#b", "a/b", "x" * 65, "", "..", "gpt 4o"])
def test_bad_deployment_names_are_400_before_anything_else(sim, name):
    reply = chat(name, {"user_prompt": "u"})
    assert_failed(reply, 400, "InvalidDeploymentName", run_id=None)
    assert_no_call_to_azure(sim)


def test_bad_deployment_name_wins_even_without_settings(app_settings):
    app_settings.unset("AZURE_OPENAI_ACCOUNT")
    assert_failed(chat("a?b", {"user_prompt": "u"}), 400, "InvalidDeploymentName", run_id=None)


def test_oversized_body_is_413(sim, app_settings):
    app_settings.set("MAX_REQUEST_BYTES", "1000")
    body = b'{"user_prompt": "' + b"x" * 1000 + b'"}'
    reply = chat("gpt-4o", body)
    assert_failed(reply, 413, "PayloadTooLarge", run_id=FAILED)
    assert "1000" in reply.body["error"]["message"]
    assert_no_call_to_azure(sim)


def test_default_body_limit_is_8_mib(sim):
    body = b'{"user_prompt": "' + b"x" * (8 * 1024 * 1024) + b'"}'
    assert_failed(chat("gpt-4o", body), 413, "PayloadTooLarge", run_id=FAILED)
    assert_no_call_to_azure(sim)


def test_unknown_deployment_is_404_with_advice(sim):
    reply = chat("no-such-deployment", {"user_prompt": "u"})
    assert_failed(reply, 404, "DeploymentNotFound", run_id="no-such-deployment#sync#Failed")
    assert "discovery" in reply.body["error"]["message"]
    assert "Deployment Name" in reply.body["error"]["message"]
    assert reply.body["upstream_status"] == 404
    assert reply.body["request_id"] == sim.requests()[0].response_headers["apim-request-id"]


def test_embedding_deployment_per_registry_is_422_invalid_input_model(sim, registry_table):
    seed_definition(
        registry_table,
        "text-embedding-3-small",
        JobType="Azure OpenAI Embedding",
        ModelName="text-embedding-3-small",
    )
    reply = chat("text-embedding-3-small", {"user_prompt": "u"})
    assert_failed(reply, 422, "InvalidInputModel", run_id="text-embedding-3-small#sync#Failed")
    assert_no_call_to_azure(sim)


def test_content_filter_rejection_is_422_with_azure_code_and_categories(sim):
    reply = chat("gpt-4o", {"user_prompt": "[[filter-prompt]]"})
    assert_failed(reply, 422, "content_filter", run_id=FAILED)
    assert reply.body["error"]["filtered_categories"] == ["hate"]
    assert reply.body["error"]["content_filter_results"]["hate"] == {
        "filtered": True,
        "severity": "high",
    }
    assert reply.body["upstream_status"] == 400
    assert len(sim.requests()) == 1  # a 400 is never retried


def test_unsupported_parameter_is_learned_once_then_422_with_azure_code(sim):
    sim.add_fault(
        Fault(
            path="chat/completions",
            status=400,
            times=None,
            body={
                "error": {
                    "message": "Unsupported parameter: 'max_tokens' is not supported.",
                    "type": "invalid_request_error",
                    "param": "max_tokens",
                    "code": "unsupported_parameter",
                }
            },
        )
    )
    reply = chat("gpt-4o", {"user_prompt": "u", "max_tokens": 5})
    assert_failed(reply, 422, "unsupported_parameter", run_id=FAILED)
    assert "max_tokens" in reply.body["error"]["message"]
    # the refusal says "a reasoning model": one more call, as one, then Azure's answer stands
    first, second = sim.requests()
    assert first.json()["max_tokens"] == 5
    assert second.raw_path == "/openai/v1/chat/completions"
    assert second.json() == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "u"}],
        "max_completion_tokens": 5,
    }


def test_wrong_api_key_is_502_upstream_auth_failed_naming_the_role(sim, app_settings):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", "wrong")
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamAuthFailed", run_id=FAILED)
    assert "Cognitive Services OpenAI User" in reply.body["error"]["message"]
    assert reply.body["upstream_status"] == 401
    assert len(sim.requests()) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_bearer_refused_is_502_upstream_auth_failed(sim, status):
    sim.add_fault(
        Fault(
            path="chat/completions",
            status=status,
            times=None,
            body={
                "error": {
                    "code": "PermissionDenied",
                    "message": "The principal lacks the data action",
                }
            },
        )
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamAuthFailed", run_id=FAILED)
    assert reply.body["error"]["upstream_code"] == "PermissionDenied"
    assert len(sim.requests()) == 1


def test_missing_account_setting_is_500_not_configured(sim, app_settings, caplog):
    app_settings.unset("AZURE_OPENAI_ACCOUNT")
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 500, "NotConfigured", run_id=FAILED)
    assert "AZURE_OPENAI_ACCOUNT" in reply.body["error"]["message"]
    assert_no_call_to_azure(sim)
    assert "chat run failed: run_id=gpt-4o#sync#Failed deployment=gpt-4o code=NotConfigured" in (
        caplog.text
    )


def test_api_key_mode_without_key_is_500_not_configured(app_settings):
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 500, "NotConfigured", run_id=FAILED)
    assert "AZURE_OPENAI_API_KEY" in reply.body["error"]["message"]


def test_unreachable_storage_without_known_definition_is_503(sim, app_settings):
    dead = free_port()
    app_settings.set(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"TableEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;",
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 503, "RegistryUnavailable", run_id=FAILED)
    assert_no_call_to_azure(sim)


# --- faults from Azure and the retry policy -------------------------------------------------


def test_persistent_5xx_ends_in_502_after_bounded_attempts(sim):
    sim.add_fault(
        Fault(path="chat/completions", status=500, times=None, headers={"retry-after-ms": "10"})
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamUnavailable", run_id=FAILED)
    assert reply.body["upstream_status"] == 500
    assert len(sim.requests()) == 3


def test_throttling_that_outlasts_the_attempts_is_503_rate_limited(sim):
    sim.add_fault(
        Fault(
            path="chat/completions",
            status=429,
            times=None,
            headers={"retry-after-ms": "20", "retry-after": "1"},
        )
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 503, "RateLimited", run_id=FAILED)
    assert reply.headers["Retry-After"] == "1"
    assert len(sim.requests()) == 3


def test_retry_after_beyond_the_deadline_is_not_waited_for(sim):
    sim.add_fault(
        Fault(path="chat/completions", status=429, times=None, headers={"retry-after": "45"})
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})  # RUN_DEADLINE_S is 20 in the tests
    assert_failed(reply, 503, "RateLimited", run_id=FAILED)
    assert reply.headers["Retry-After"] == "45"
    assert len(sim.requests()) == 1


def test_dropped_connection_is_retried(sim):
    sim.add_fault(Fault(path="chat/completions", drop=True, times=1))
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert reply.status == 200
    assert len(sim.requests()) == 2


def test_connection_refused_is_502_upstream_unavailable(app_settings):
    app_settings.set("AZURE_OPENAI_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamUnavailable", run_id=FAILED)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(
            path="chat/completions",
            status=200,
            body="<html>oops</html>",
            content_type="text/html",
        ),
        Fault(path="chat/completions", status=200, body={"id": "x", "choices": []}),
        Fault(path="chat/completions", status=200, body=[1, 2]),
        Fault(path="chat/completions", cut=True),
    ],
)
def test_unreadable_answers_are_502(sim, fault):
    sim.add_fault(fault)
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamBadResponse", run_id=FAILED)
    assert len(sim.requests()) == 1  # a POST that was answered is not sent again


def test_read_timeout_on_post_is_504_and_not_retried(sim, app_settings):
    app_settings.set("AOAI_TIMEOUT_S", "0.3")
    sim.add_fault(Fault(path="chat/completions", delay_s=2, times=None))
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 504, "UpstreamTimeout", run_id=FAILED)
    assert len(sim.requests()) == 1


def test_html_error_page_from_a_proxy_is_retried_then_502(sim):
    sim.add_fault(
        Fault(
            path="chat/completions",
            status=502,
            body="<html>Bad Gateway</html>",
            content_type="text/html",
            times=None,
            headers={"retry-after-ms": "1"},
        )
    )
    reply = chat("gpt-4o", {"user_prompt": "u"})
    assert_failed(reply, 502, "UpstreamUnavailable", run_id=FAILED)
    assert "html" not in str(reply.body["error"]).lower()
    assert len(sim.requests()) == 3
