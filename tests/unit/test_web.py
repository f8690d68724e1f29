"""The one boundary that turns outcomes and errors into HTTP responses, and the request origin."""

import json
import logging
import math

import azure.functions as func
import pytest

from shared.errors import RateLimited
from shared.models.answers import Answer
from shared.web import Outcome, handle, request_origin


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:7071/api/batches/gpt-4o?code=k", "http://127.0.0.1:7071"),
        ("https://app.azurewebsites.net/api/batches/d", "https://app.azurewebsites.net"),
    ],
)
def test_the_request_origin_is_scheme_and_host_and_never_the_key(url, origin):
    request = func.HttpRequest("POST", url, headers={"x-functions-key": "k"}, body=b"")
    assert request_origin(request) == origin


def test_a_value_that_is_not_json_is_a_500_never_invalid_json():
    class NotANumber(Answer):
        value: float

    response = handle("chat_run", lambda: Outcome(200, NotANumber(value=math.nan)))
    assert response.status_code == 500
    assert json.loads(response.get_body())["error"]["code"] == "InternalError"


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
