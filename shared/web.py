"""The boundary with the Functions host: an `Outcome` or an error becomes an `HttpResponse`.

This is the one place that catches everything: errors of `shared.errors` become their documented
status and JSON body; anything else is a bug, answered 500 `InternalError` with no stack trace
and no upstream text, and logged with its traceback but without its message (an exception's
message may quote a prompt).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared.errors import AppError, InternalError, UpstreamError, http_status
from shared.runs import Outcome
from shared.status import Caller

logger = logging.getLogger(__name__)


def handle(function: str, call: Callable[[], Outcome]) -> func.HttpResponse:
    try:
        outcome = call()
    except AppError as error:
        return error_response(error)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, see the docstring
        logger.error(
            "%s failed with an unexpected %s:\n%s",
            function,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_response(InternalError("The app failed unexpectedly; see its logs."))
    return json_response(outcome.status, outcome.body, outcome.headers)


def error_response(error: AppError) -> func.HttpResponse:
    body: dict[str, Any] = {
        "run_id": error.run_id,
        "status": "Failed",
        "error": error.body_fields(),
    }
    if isinstance(error, UpstreamError):
        body.update(error.answered())
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s else {}
    return json_response(http_status(error), body, headers)


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=headers or {},
        mimetype="application/json",
        charset="utf-8",
    )


def caller(req: func.HttpRequest) -> Caller:
    """Where the caller reached this app, and its function key (for statusQueryUrl)."""
    return Caller.from_request(req.url, req.params, req.headers)
