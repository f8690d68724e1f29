"""What Azure's error answers mean: their two body shapes, and the error of `shared.errors` a
final non-2xx answer becomes (docs/design.md §3, §8)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.errors import UpstreamAuthFailed, UpstreamError, UpstreamRejected, UpstreamUnavailable

if TYPE_CHECKING:
    from shared.clients.transport import UpstreamResponse


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
        rejected = UpstreamRejected(
            message or f"Azure rejected the request ({response.status}).",
            extra=extra,
            **kwargs,
        )
        rejected.upstream_param = error_param(response.body)
        return rejected
    return UpstreamUnavailable(f"Azure answered {response.status}.", **kwargs)


def error_param(body: bytes) -> str | None:
    """The request parameter Azure's error names (`error.param`), when it names one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    return param if isinstance(param, str) else None
