"""The retry policy of docs/design.md §8 as pure functions: decision and delay."""

import email.utils

import pytest
import requests
from urllib3 import HTTPConnectionPool
from urllib3.exceptions import ReadTimeoutError

from shared import constants as c
from shared.clients.retry import (
    backoff_s,
    retry_after_s,
    retry_delay_s,
    should_retry_exception,
    should_retry_status,
)

NOW = 1_700_000_000.0


STALLED_IN_BODY = requests.ConnectionError(ReadTimeoutError(HTTPConnectionPool("h"), "/x", "slow"))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "0"}, 0.0),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        # retry-after-ms wins over retry-after (Azure OpenAI sends both)
        ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
        # unreadable retry-after-ms falls back to retry-after
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-5", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "nan", "retry-after": "3"}, 3.0),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "garbage"}, None),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
    ],
)
def test_retry_after_header_cases(headers, expected):
    assert retry_after_s(headers, now=NOW) == expected


def test_retry_after_reads_headers_case_insensitively_through_requests_mapping():
    headers = requests.structures.CaseInsensitiveDict({"Retry-After-Ms": "40"})
    assert retry_after_s(headers) == 0.04


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 0.0, 0.5),
        (2, 0.0, 1.0),
        (3, 0.0, 2.0),
        (5, 0.0, 8.0),
        (9, 0.0, c.BACKOFF_MAX_S),  # capped
        (1, 1.0, 0.5 * (1 - c.BACKOFF_JITTER)),  # jitter only shortens
        (9, 1.0, c.BACKOFF_MAX_S * (1 - c.BACKOFF_JITTER)),
    ],
)
def test_backoff_is_capped_exponential_with_jitter(attempt, rand, expected):
    assert backoff_s(attempt, rand) == pytest.approx(expected)


def test_delay_prefers_the_server_hint_over_backoff():
    assert retry_delay_s(1, {"retry-after-ms": "20"}, 0.0) == pytest.approx(0.02)
    assert retry_delay_s(2, {}, 0.0) == pytest.approx(1.0)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status):
    assert should_retry_status(status)


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 409, 413, 422, 501])
def test_not_retryable_statuses(status):
    # 400s are never retried: the same request would be rejected again.
    assert not should_retry_status(status)


@pytest.mark.parametrize(
    ("exc", "method", "expected"),
    [
        (requests.ConnectionError("refused"), "POST", True),
        (requests.ConnectTimeout("slow connect"), "POST", True),
        # the request went out: a POST may have been processed and billed
        (requests.ReadTimeout("slow answer"), "POST", False),
        (requests.ReadTimeout("slow answer"), "GET", True),
        (requests.exceptions.ChunkedEncodingError("cut"), "POST", False),
        (requests.exceptions.ChunkedEncodingError("cut"), "GET", True),
        (requests.exceptions.InvalidURL("bad"), "GET", False),
        (STALLED_IN_BODY, "POST", False),
        (STALLED_IN_BODY, "GET", True),
    ],
)
def test_exception_retry_decision(exc, method, expected):
    assert should_retry_exception(exc, method) is expected
