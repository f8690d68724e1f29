"""The retry policy of docs/design.md §8 as small pure functions, tested with tables of cases:
whether a failed attempt is worth another (`should_retry_status`, `should_retry_exception`), and
how long to wait first (`retry_delay_s`: the server's hint, else capped backoff with jitter).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import ReadTimeoutError

from shared import constants as c


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = c.DEFAULT_MAX_ATTEMPTS
    read_timeout_s: float = c.DEFAULT_READ_TIMEOUT_S
    connect_timeout_s: float = c.CONNECT_TIMEOUT_S
    backoff_initial_s: float = c.BACKOFF_INITIAL_S
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)


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
    if is_read_timeout(exc) or isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return method == "GET"
    return isinstance(exc, requests.ConnectionError)


def is_read_timeout(exc: requests.RequestException) -> bool:
    """A read timeout, before the answer's headers (ReadTimeout) or in its body (requests wraps
    urllib3's ReadTimeoutError in a plain ConnectionError there)."""
    if isinstance(exc, requests.ReadTimeout):
        return True
    cause = exc.args[0] if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(cause, ReadTimeoutError)
