"""The one place that talks `requests`: sends a call to Azure under the retry policy of design §8
and turns transport failures and error statuses into our errors.

The retry decision and the delay are small pure functions (`should_retry`, `retry_delay_s`,
`retry_after_s`) so the policy is tested with tables of cases, without sockets.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from shared import constants as c
from shared.errors import (
    AppError,
    RateLimited,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)

logger = logging.getLogger(__name__)

HeaderFactory = Callable[[], dict[str, str]]


def new_session() -> requests.Session:
    """The process's one session: a connection pool sized for concurrent invocations."""
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=c.POOL_CONNECTIONS, pool_maxsize=c.POOL_MAXSIZE, max_retries=0
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class Deadline:
    """The total time budget of a run, counted from its start."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return self._end - self._clock() - c.DEADLINE_MARGIN_S


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = c.DEFAULT_MAX_ATTEMPTS
    read_timeout_s: float = c.DEFAULT_READ_TIMEOUT_S
    connect_timeout_s: float = c.CONNECT_TIMEOUT_S
    backoff_initial_s: float = c.BACKOFF_INITIAL_S
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)


# --- the pure part of the policy -----------------------------------------------------------


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait the server asked for: `retry-after-ms` (Azure OpenAI), else `retry-after` in
    seconds or as an HTTP date (ARM and proxies). None when absent or unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        value = float(email.utils.mktime_tz(parsed)) - (time.time() if now is None else now)
        return max(value, 0.0)
    return value if math.isfinite(value) and value >= 0 else None


def backoff_s(attempt: int, rand: float, initial_s: float = c.BACKOFF_INITIAL_S) -> float:
    """Capped exponential backoff with jitter, for the wait after failed attempt `attempt`
    (1-based), when the server gave no hint."""
    base: float = min(initial_s * 2.0 ** (attempt - 1), c.BACKOFF_MAX_S)
    return base * (1 - c.BACKOFF_JITTER * rand)


def retry_delay_s(
    attempt: int, headers: Mapping[str, str], rand: float, initial_s: float = c.BACKOFF_INITIAL_S
) -> float:
    hinted = retry_after_s(headers)
    return hinted if hinted is not None else backoff_s(attempt, rand, initial_s)


def should_retry_status(status: int) -> bool:
    return status in c.RETRYABLE_STATUSES


def should_retry_exception(exc: requests.RequestException, method: str) -> bool:
    """Connection failures are retried. A read timeout or an answer cut short after the request
    was sent is retried only for GET: a POST may already have been processed (and billed)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if _timed_out_reading(exc) or isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return method == "GET"
    return isinstance(exc, requests.ConnectionError)


def _timed_out_reading(exc: requests.RequestException) -> bool:
    """A read timeout, before the answer's headers (ReadTimeout) or in its body (requests wraps
    urllib3's ReadTimeoutError in a plain ConnectionError there)."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(cause, ReadTimeoutError)


# --- the call ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    attempts: int

    @property
    def request_id(self) -> str | None:
        return self.headers.get("apim-request-id") or self.headers.get("x-ms-request-id")

    def error_fields(self, code: str | None = None) -> dict[str, Any]:
        """What every error built from this answer carries: its status, request id, code."""
        return {
            "upstream_status": self.status,
            "request_id": self.request_id,
            "upstream_code": code,
        }

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise UpstreamBadResponse(
                "Azure answered with a body that is not JSON.", **self.error_fields()
            ) from exc


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    auth_headers: HeaderFactory,
    deadline: Deadline,
    policy: RetryPolicy,
    json_body: Any = None,
) -> UpstreamResponse:
    """Send one logical call, retrying as design §8 says. Returns the final response whatever
    its status when it is not retryable; raises our errors for everything else."""
    target = _loggable(url)
    data = None if json_body is None else json.dumps(json_body).encode()
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline.remaining()
        if remaining <= 0:
            raise UpstreamTimeout(f"The run's deadline passed before {target} answered.")
        headers = auth_headers()  # each attempt: the token provider renews when it must
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            raw = session.request(
                method,
                url,
                headers=headers,
                data=data,
                timeout=(
                    min(policy.connect_timeout_s, remaining),
                    min(policy.read_timeout_s, remaining),
                ),
                allow_redirects=False,
            )
            response = UpstreamResponse(raw.status_code, raw.headers, raw.content, attempt)
        except requests.RequestException as exc:
            elapsed = time.monotonic() - started
            logger.warning(
                "%s %s attempt %d/%d failed after %.0f ms: %s",
                method,
                target,
                attempt,
                policy.max_attempts,
                elapsed * 1000,
                type(exc).__name__,
            )
            if should_retry_exception(exc, method) and attempt < policy.max_attempts:
                _wait_or_stop(attempt, {}, deadline, policy, last=None, target=target)
                continue
            raise _transport_error(exc, method, target) from exc
        elapsed = time.monotonic() - started
        logger.info(
            "%s %s -> %d in %.0f ms (attempt %d, request id %s)",
            method,
            target,
            response.status,
            elapsed * 1000,
            attempt,
            response.request_id,
        )
        if not should_retry_status(response.status):
            return response
        if attempt >= policy.max_attempts:
            raise _exhausted_error(response, retry_after_s(response.headers))
        _wait_or_stop(attempt, response.headers, deadline, policy, last=response, target=target)


@dataclass(frozen=True)
class AzureCaller:
    """What every client of an Azure API holds: the session, the credentials, the policy."""

    session: requests.Session
    auth_headers: HeaderFactory
    policy: RetryPolicy

    def call(
        self, method: str, url: str, deadline: Deadline, json_body: Any = None
    ) -> UpstreamResponse:
        return send(
            self.session,
            method,
            url,
            auth_headers=self.auth_headers,
            deadline=deadline,
            policy=self.policy,
            json_body=json_body,
        )


def _wait_or_stop(
    attempt: int,
    headers: Mapping[str, str],
    deadline: Deadline,
    policy: RetryPolicy,
    *,
    last: UpstreamResponse | None,
    target: str,
) -> None:
    delay = retry_delay_s(attempt, headers, policy.random(), policy.backoff_initial_s)
    if delay > c.MAX_RETRY_WAIT_S or delay >= deadline.remaining():
        # The wait would pass the run's deadline: tell the caller when to come back instead.
        if last is not None:
            raise _exhausted_error(last, delay, deadline_hit=True)
        raise UpstreamTimeout(f"The run's deadline passed while retrying {target}.")
    logger.info(
        "retrying %s in %.2f s (attempt %d of %d)", target, delay, attempt + 1, policy.max_attempts
    )
    policy.sleep(delay)


def _exhausted_error(
    response: UpstreamResponse, wait_s: float | None, *, deadline_hit: bool = False
) -> UpstreamError:
    code, _, _ = parse_error_body(response.body)
    kwargs = response.error_fields(code)
    error: UpstreamError
    if response.status == 429 or deadline_hit:
        error = RateLimited(
            "Azure is throttling this deployment; retry after the time in the Retry-After header."
            if response.status == 429
            else f"Azure answered {response.status} and asked to wait longer than the run allows.",
            **kwargs,
        )
    elif response.status == 408:
        error = UpstreamTimeout("Azure timed out the request after every retry.", **kwargs)
    else:
        error = UpstreamUnavailable(
            f"Azure answered {response.status} after {response.attempts} attempt(s).", **kwargs
        )
    if wait_s is not None:
        error.retry_after_s = max(1, math.ceil(wait_s))
    elif isinstance(error, RateLimited):
        error.retry_after_s = max(1, math.ceil(c.BACKOFF_MAX_S))
    return error


def _transport_error(exc: requests.RequestException, method: str, target: str) -> AppError:
    if _timed_out_reading(exc):
        return UpstreamTimeout(f"{target} did not answer within the read timeout.")
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return UpstreamBadResponse(f"{target} closed the connection in the middle of its answer.")
    if isinstance(exc, requests.ConnectionError):
        return UpstreamUnavailable(f"Could not reach {target} ({type(exc).__name__}).")
    return UpstreamUnavailable(f"{method} {target} failed ({type(exc).__name__}).")


def _loggable(url: str) -> str:
    """Host and path of a URL, without the query (which may one day carry a SAS)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"


Answer = TypeVar("Answer", bound=BaseModel)


def parse_answer(model: type[Answer], response: UpstreamResponse) -> Answer:
    """Azure's JSON answer as a model, or UpstreamBadResponse naming what is missing."""
    data = response.json()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        missing = sorted({".".join(map(str, e["loc"])) or "body" for e in exc.errors()})
        raise UpstreamBadResponse(
            "Azure's answer lacks the fields the app reads: " + ", ".join(missing),
            **response.error_fields(),
        ) from None


# --- error bodies --------------------------------------------------------------------------


def parse_error_body(body: bytes) -> tuple[str | None, str | None, dict[str, Any]]:
    """Code, message and inner error of an Azure error body.

    Azure has two shapes: `{"error": {"code", "message", ...}}` (data plane and ARM) and, for a
    bad bearer token on the data plane, `{"statusCode": 401, "message": ...}`. The live data
    plane spells the inner error `innererror`, the spec `inner_error`: both are read.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None, None, {}
    if not isinstance(data, dict):
        return None, None, {}
    error = data.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innererror") or error.get("inner_error") or {}
        return (
            str(code) if code is not None else None,
            str(message) if isinstance(message, str) else None,
            inner if isinstance(inner, dict) else {},
        )
    message = data.get("message")
    status = data.get("statusCode")
    return (
        str(status) if status is not None else None,
        message if isinstance(message, str) else None,
        {},
    )


def error_for_status(
    response: UpstreamResponse,
    *,
    auth_hint: str,
    not_found: Callable[[UpstreamResponse, str | None, str | None], UpstreamError],
) -> UpstreamError:
    """Our error for a final non-2xx answer that is not retryable."""
    code, message, inner = parse_error_body(response.body)
    kwargs = response.error_fields(code)
    if response.status in (401, 403):
        answered = f"HTTP {response.status}" + (f", {code}" if code else "")
        return UpstreamAuthFailed(
            f"Azure refused the app's credentials ({answered}). {auth_hint}", **kwargs
        )
    if response.status == 404:
        return not_found(response, code, message)
    if 400 <= response.status < 500:
        extra: dict[str, Any] = {}
        results = inner.get("content_filter_result") or inner.get("content_filter_results")
        if isinstance(results, dict):
            extra["content_filter_results"] = results
            extra["filtered_categories"] = sorted(
                name for name, r in results.items() if isinstance(r, dict) and r.get("filtered")
            )
        return UpstreamRejected(
            message or f"Azure rejected the request ({response.status}).",
            extra=extra,
            **kwargs,
        )
    return UpstreamUnavailable(f"Azure answered {response.status}.", **kwargs)
