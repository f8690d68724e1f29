"""The spans of calls: templated URLs for span names, and the azure-core policy that gives each
Table storage attempt its span (`shared.telemetry.live` makes the Azure OpenAI and ARM ones).
Imported only when telemetry is on."""

from __future__ import annotations

import re
import sys
from typing import Any
from urllib.parse import SplitResult, urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from shared.telemetry import names as n

# A path segment after one of these names is an id: `{deployment}` in a span name, not the id.
_ID_AFTER = {
    "deployments": "{deployment}",
    "batches": "{batch_id}",
    "responses": "{response_id}",
    "subscriptions": "{subscription_id}",
    "resourceGroups": "{resource_group}",
    "resourcegroups": "{resource_group}",
    "accounts": "{account}",
}
_ID_SEGMENT = re.compile(r"(?<=/)(" + "|".join(_ID_AFTER) + r")/[^/]+")
_TABLE_KEYS = re.compile(r"\(.*\)$")


def url_template(path: str) -> str:
    """`/openai/deployments/{deployment}/chat/completions`: the path with its ids replaced."""
    return _ID_SEGMENT.sub(lambda m: f"{m[1]}/{_ID_AFTER[m[1]]}", path)


def table_template(path: str) -> str:
    """`/JobDefinitions()`: a Table storage path without the entity's keys."""
    return _TABLE_KEYS.sub("()", path)


class TableSpans(SansIOHTTPPolicy[Any, Any]):
    """A span per HTTP attempt to Table storage, under the current span only (a registry call
    outside a run makes none). Placed after azure-core's retry policy: retries are attempts."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def on_request(self, request: PipelineRequest[Any]) -> None:
        if not trace.get_current_span().is_recording():
            return
        http = request.http_request
        parts = urlsplit(http.url)
        attempt = int(request.context.get("polysync_attempt", 0)) + 1
        request.context["polysync_attempt"] = attempt
        template = table_template(parts.path)
        attributes = call_attributes(http.method, parts, template, attempt)
        attributes[n.AZURE_NAMESPACE] = "Microsoft.Storage"
        request.context["polysync_span"] = self._tracer.start_span(
            f"{http.method} {template}", kind=SpanKind.CLIENT, attributes=attributes
        )
        request.context["polysync_template"] = template

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        span: Span | None = request.context.get("polysync_span")
        if span is None:
            return
        status, method = response.http_response.status_code, request.http_request.method
        expected = expected_answer(method, request.context["polysync_template"], status)
        record_answer(span, status, response.http_response.headers.get("x-ms-request-id"), expected)
        span.end()
        request.context["polysync_span"] = None

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        span: Span | None = request.context.get("polysync_span")
        if span is None:
            return
        error = sys.exc_info()[0]
        name = error.__name__ if error is not None else "Exception"
        span.set_attribute(n.ERROR_TYPE, name)
        span.set_status(Status(StatusCode.ERROR, name))
        span.end()
        request.context["polysync_span"] = None


def call_attributes(
    method: str, parts: SplitResult, template: str, attempt: int
) -> dict[str, AttributeValue]:
    """What every call span says of its HTTP attempt (Azure OpenAI, ARM, Table storage)."""
    attributes: dict[str, AttributeValue] = {
        n.HTTP_METHOD: method,
        n.URL_TEMPLATE: template,
        n.URL_FULL: without_query(parts),
        n.SERVER_ADDRESS: parts.hostname or "",
        n.ATTEMPT: attempt,
    }
    if parts.port is not None:
        attributes[n.SERVER_PORT] = parts.port
    if attempt > 1:
        attributes[n.HTTP_RESEND_COUNT] = attempt - 1
    return attributes


def record_answer(span: Span, status: int, request_id: str | None, expected: bool) -> None:
    """The answer's status and request id; a 4xx or 5xx that is not `expected` is an error."""
    span.set_attribute(n.HTTP_STATUS, status)
    set_attribute(span, n.AZURE_REQUEST_ID, request_id)
    if status >= 400 and not expected:
        span.set_attribute(n.ERROR_TYPE, str(status))
        span.set_status(Status(StatusCode.ERROR, str(status)))


def expected_answer(method: str, template: str, status: int) -> bool:
    """Table storage answers that are answers, not faults: a point read's 404 (the registry's
    "no such definition") and creating the table when it exists (409 TableAlreadyExists)."""
    return (method, status) == ("GET", 404) or (
        (method, status) == ("POST", 409) and template.endswith("/Tables")
    )


def without_query(parts: SplitResult) -> str:
    """The URL without its query or fragment: a query may one day carry a SAS or a key."""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def set_attribute(span: Span, name: str, value: AttributeValue | None) -> None:
    if value is not None:
        span.set_attribute(name, value)
