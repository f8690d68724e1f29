"""The one place that talks `requests`: sends a call to Azure under the retry policy
(`shared.clients.retry`, docs/design.md §8) and turns transport failures and error statuses into
the errors of `shared.errors`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter

from shared import constants as c
from shared.clients.azure_errors import parse_error_body
from shared.clients.retry import (
    RetryPolicy,
    is_read_timeout,
    retry_after_s,
    retry_delay_s,
    should_retry_exception,
    should_retry_status,
)
from shared.errors import (
    AppError,
    RateLimited,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from shared.models.requests import not_a_json_constant
from shared.telemetry.recorder import OFF, Telemetry

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
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    attempts: int

    @property
    def request_id(self) -> str | None:
        return self.headers.get("apim-request-id") or self.headers.get("x-ms-request-id")

    def error_context(self, code: str | None = None) -> dict[str, Any]:
        """What every error built from this answer carries: its status, request id, code."""
        return {
            "upstream_status": self.status,
            "request_id": self.request_id,
            "upstream_code": code,
        }

    def json(self) -> Any:
        """The body as JSON (RFC 8259: `NaN` and `Infinity` are not JSON, and the app could not
        answer them as JSON either)."""
        try:
            return json.loads(self.body, parse_constant=not_a_json_constant)
        except ValueError as exc:
            raise UpstreamBadResponse(
                "Azure answered with a body that is not JSON.", **self.error_context()
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
    telemetry: Telemetry = OFF,
) -> UpstreamResponse:
    """Send one logical call, retrying as docs/design.md §8 says. Returns the final response
    whatever its status when it is not retryable; raises our errors for everything else."""
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
        try:
            with telemetry.attempt(method, url, attempt) as span:
                try:
                    response = _attempt(
                        session, method, url, headers, data, policy, remaining, attempt
                    )
                except requests.RequestException as exc:
                    span.failed(type(exc).__name__)
                    raise
                span.answered(response.status, response.request_id)
        except requests.RequestException as exc:
            if should_retry_exception(exc, method) and attempt < policy.max_attempts:
                _wait_or_stop(attempt, {}, deadline, policy, last=None, target=target)
                continue
            raise _transport_error(exc, method, target) from exc
        if not should_retry_status(response.status):
            return response
        if attempt >= policy.max_attempts:
            raise _exhausted_error(response, retry_after_s(response.headers))
        _wait_or_stop(attempt, response.headers, deadline, policy, last=response, target=target)


def _attempt(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    data: bytes | None,
    policy: RetryPolicy,
    remaining: float,
    attempt: int,
) -> UpstreamResponse:
    """One attempt within the time left, logged with its outcome (never the query or body)."""
    target, started = _loggable(url), time.monotonic()
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
        logger.warning(
            "%s %s attempt %d/%d failed after %.0f ms: %s",
            method,
            target,
            attempt,
            policy.max_attempts,
            (time.monotonic() - started) * 1000,
            type(exc).__name__,
        )
        raise
    logger.info(
        "%s %s -> %d in %.0f ms (attempt %d, request id %s)",
        method,
        target,
        response.status,
        (time.monotonic() - started) * 1000,
        attempt,
        response.request_id,
    )
    return response


@dataclass(frozen=True)
class AzureClient:
    """What every client of an Azure API holds: the session, the credentials, the policy."""

    session: requests.Session
    auth_headers: HeaderFactory
    policy: RetryPolicy
    telemetry: Telemetry = OFF

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
            telemetry=self.telemetry,
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
    code = parse_error_body(response.body).code
    kwargs = response.error_context(code)
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
    if is_read_timeout(exc):
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
            **response.error_context(),
        ) from None
