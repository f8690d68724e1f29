"""The boundary with the Functions host: an `Outcome` or an error becomes an `HttpResponse`.

This is the one place that catches everything, and the only place an error becomes an HTTP status
and a body: errors of `shared.errors` get their documented status (`errors.http_status`) and JSON
body; anything else is a bug, answered 500 `InternalError` with no stack trace and no upstream
text, and logged with its traceback but without its message (an exception's message may quote a
prompt).

Kept light on purpose (the standard library and azure-functions): `function_app` imports it when
the host indexes the app, before any function needs pydantic or the Azure SDKs.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import azure.functions as func

from shared.errors import AppError, InternalError, http_status
from shared.telemetry.recorder import NO_RUN, RunRecorder, TraceParent

logger = logging.getLogger(__name__)


class Body(Protocol):
    """An answer body: one of `shared.models.answers`, or the OpenAPI document."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Outcome:
    """A use-case's answer: HTTP status, body, extra headers."""

    status: int
    body: Body
    headers: dict[str, str] = field(default_factory=dict)


def request_origin(req: func.HttpRequest) -> str:
    """Where the caller reached this app (`https://app.azurewebsites.net`), as the host says."""
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def invocation_trace(
    context: func.Context | None, headers: Mapping[str, str] | None = None
) -> TraceParent:
    """The trace context a run's span continues: the host's for this invocation (in Azure, its
    own request span's, itself a child of the caller's `traceparent`), else the caller's
    `traceparent` header; none for a timer run without a host context."""
    trace_context = getattr(context, "trace_context", None)
    parent = getattr(trace_context, "trace_parent", None)
    if parent:
        return TraceParent(parent, getattr(trace_context, "trace_state", None) or None)
    if headers is not None and headers.get("traceparent"):
        return TraceParent(headers.get("traceparent"), headers.get("tracestate"))
    return TraceParent()


def handle(
    function: str, call: Callable[[], Outcome], trace: TraceParent | None = None
) -> func.HttpResponse:
    """The use-case's answer, serialized inside the boundary: a value that is not JSON (a NaN)
    is a bug answered 500 like any other, never invalid JSON on the wire.

    With `trace`, the call is a run: it gets its span (when telemetry is on), ended with the
    answer's status and error code."""
    if trace is None:
        return _answer(function, call, NO_RUN)
    from shared import wiring  # the settings (and telemetry's pipeline), on a run's first call

    with wiring.telemetry().run(function, trace) as run:
        return _answer(function, call, run)


def _answer(function: str, call: Callable[[], Outcome], run: RunRecorder) -> func.HttpResponse:
    try:
        outcome = call()
        response = json_response(outcome.status, outcome.body.to_json(), outcome.headers)
    except AppError as error:
        _finish(run, http_status(error), error.code)
        return error_response(error)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, see the docstring
        logger.error(
            "%s failed with an unexpected %s:\n%s",
            function,
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        internal = InternalError("The app failed unexpectedly; see its logs.")
        _finish(run, http_status(internal), internal.code)
        return error_response(internal)
    _finish(run, outcome.status, None)
    return response


def _finish(run: RunRecorder, status: int, code: str | None) -> None:
    """End the run's span: telemetry that fails never fails the run (OpenTelemetry's API is
    meant not to raise; this is the belt to its braces)."""
    try:
        run.finish(status, code)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        logger.warning("telemetry: the run's span could not be ended (%s)", type(exc).__name__)


def error_body(error: AppError) -> dict[str, Any]:
    """The body of a failed call: the run's own answer when the error carries one, else the
    run id, `Failed`, the error object, and Azure's status and request id when it answered."""
    if error.answer is not None:
        return error.answer
    return {
        "run_id": error.run_id,
        "status": "Failed",
        "error": error.error_object(),
        **error.upstream_fields(),
    }


def error_response(error: AppError) -> func.HttpResponse:
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s else {}
    return json_response(http_status(error), error_body(error), headers)


def json_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False, allow_nan=False),
        status_code=status,
        headers=headers or {},
        mimetype="application/json",
        charset="utf-8",
    )
