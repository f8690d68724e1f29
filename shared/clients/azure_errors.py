"""What Azure's error answers mean: their two body shapes, and the error of `shared.errors` a
final non-2xx answer becomes (docs/design.md §3, §8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.errors import UpstreamAuthFailed, UpstreamError, UpstreamRejected, UpstreamUnavailable

if TYPE_CHECKING:
    from shared.clients.transport import UpstreamResponse


class ErrorBody(NamedTuple):
    code: str | None
    message: str | None
    inner: dict[str, Any]
    param: str | None = None  # the request parameter the error names (`error.param`)


NO_ERROR_BODY = ErrorBody(None, None, {})


def parse_error_body(body: bytes) -> ErrorBody:
    """Code, message, inner error and parameter of an Azure error body.

    Azure has two shapes: `{"error": {"code", "message", ...}}` (data plane and ARM) and, for a
    bad bearer token on the data plane, `{"statusCode": 401, "message": ...}`. The live data
    plane spells the inner error `innererror`, the spec `inner_error`: both are read.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return NO_ERROR_BODY
    if not isinstance(data, dict):
        return NO_ERROR_BODY
    error = data.get("error")
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innererror") or error.get("inner_error") or {}
        param = error.get("param")
        return ErrorBody(
            str(code) if code is not None else None,
            str(message) if isinstance(message, str) else None,
            inner if isinstance(inner, dict) else {},
            param if isinstance(param, str) else None,
        )
    message = data.get("message")
    status = data.get("statusCode")
    return ErrorBody(
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
    code, message, inner, param = parse_error_body(response.body)
    kwargs = response.error_context(code)
    if response.status in (401, 403):
        answered = f"HTTP {response.status}" + (f", {code}" if code else "")
        return UpstreamAuthFailed(
            f"Azure refused the app's credentials ({answered}). {auth_hint}".rstrip(), **kwargs
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
            upstream_param=param,
            **kwargs,
        )
    return UpstreamUnavailable(f"Azure answered {response.status}.", **kwargs)
