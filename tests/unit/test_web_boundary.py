"""The one boundary that turns outcomes and errors into HTTP responses."""

import json
import logging

from shared.aoai import AzureOpenAI
from shared.errors import RateLimited, UpstreamRejected
from shared.http import AzureCaller, RetryPolicy, new_session
from shared.runs import Outcome
from shared.web import handle


def test_an_unexpected_exception_is_500_internal_error_without_details(caplog):
    prompt = "my secret prompt"

    def bug() -> Outcome:
        raise KeyError(prompt)

    response = handle("chat_run", bug)
    body = json.loads(response.get_body())
    assert response.status_code == 500
    assert body == {
        "run_id": None,
        "status": "Failed",
        "error": {"code": "InternalError", "message": "The app failed unexpectedly; see its logs."},
    }
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "KeyError" in logged and "bug" in logged  # type and traceback frames
    assert "secret prompt" not in logged


def test_upstream_error_carries_status_request_id_and_retry_after():
    def throttled() -> Outcome:
        error = RateLimited("slow down", upstream_status=429, request_id="req-1")
        error.run_id = "gpt-4o#sync#Failed"
        error.retry_after_s = 7
        raise error

    response = handle("chat_run", throttled)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert json.loads(response.get_body()) == {
        "run_id": "gpt-4o#sync#Failed",
        "status": "Failed",
        "error": {"code": "RateLimited", "message": "slow down"},
        "upstream_status": 429,
        "request_id": "req-1",
    }


def test_rejected_carries_azure_code_not_ours():
    error = UpstreamRejected("bad", upstream_status=400, upstream_code="content_filter")
    assert error.body_fields() == {"code": "content_filter", "message": "bad"}


def test_deployment_is_percent_encoded_in_the_upstream_url():
    client = AzureOpenAI(
        AzureCaller(new_session(), dict, RetryPolicy()),
        endpoint="https://acct.openai.azure.com",
        api_version="2024-10-21",
    )
    assert client.deployment_url("a b/c?d#e", "chat/completions") == (
        "https://acct.openai.azure.com/openai/deployments/a%20b%2Fc%3Fd%23e/chat/completions"
        "?api-version=2024-10-21"
    )
