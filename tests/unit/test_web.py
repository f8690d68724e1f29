"""The one boundary that turns outcomes and errors into HTTP responses, and the request origin."""

import json
import logging

import pytest

from shared.errors import RateLimited
from shared.web import Outcome, RequestOrigin, handle


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
