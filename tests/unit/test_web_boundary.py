"""The one boundary that turns outcomes and errors into HTTP responses."""

import json
import logging

import pytest

from shared import logsafety
from shared.clients.openai import AzureOpenAI
from shared.clients.retry import RetryPolicy
from shared.clients.transport import AzureClient, new_session
from shared.errors import RateLimited, UpstreamRejected
from shared.web import Outcome, handle


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
    assert error.error_object() == {"code": "content_filter", "message": "bad"}


def test_deployment_is_percent_encoded_in_the_upstream_url():
    client = AzureOpenAI(
        AzureClient(new_session(), dict, RetryPolicy()),
        endpoint="https://acct.openai.azure.com",
        api_version="2024-10-21",
    )
    assert client.deployment_url("a b/c?d#e", "chat/completions") == (
        "https://acct.openai.azure.com/openai/deployments/a%20b%2Fc%3Fd%23e/chat/completions"
        "?api-version=2024-10-21"
    )


@pytest.mark.parametrize(
    ("line", "safe"),
    [
        (
            'http://h:1 "GET /acct/T()?se=2026&sp=r&sig=AbC%3D&sv=1 HTTP/1.1" 200 0',
            'http://h:1 "GET /acct/T()?se=2026&sp=r&sig=REDACTED&sv=1 HTTP/1.1" 200 0',
        ),
        (
            '"GET /api/status/batch_1?code=k3y HTTP/1.1"',
            '"GET /api/status/batch_1?code=REDACTED HTTP/1.1"',
        ),
        ("GET /x?SIG=abc", "GET /x?SIG=REDACTED"),
        ("SharedAccessSignature=sv=1&sig=abc;X=1", "SharedAccessSignature=sv=1&sig=REDACTED;X=1"),
        (
            "TableEndpoint=http://h;SharedAccessSignature=sv=1&sig=abc",
            "TableEndpoint=http://h;SharedAccessSignature=sv=1&sig=REDACTED",
        ),
        ("GET /x?design=1&signal=2", "GET /x?design=1&signal=2"),
    ],
)
def test_secrets_in_urls_are_redacted(line, safe):
    assert logsafety.redact(line) == safe


def test_the_filter_rewrites_urllib3_records_before_any_handler(caplog):
    logsafety.install()
    logsafety.install()  # idempotent
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug('"%s %s"', "GET", "/t?sig=secret&code=k")
    assert caplog.records[-1].getMessage() == '"GET /t?sig=REDACTED&code=REDACTED"'
    assert logging.getLogger("urllib3.connectionpool").filters.count(logsafety._FILTER) == 1
