"""The recorders that make spans and metric points, through the OpenTelemetry API and the
providers `shared.telemetry.pipeline` installed. Imported only when telemetry is on.

A run's span is a GenAI client span (`chat gpt-4o`, `embeddings text-embedding-3-small`,
`create_batch gpt-4o`, ...; discovery is an internal span), the child of the invocation's trace
context. Each HTTP attempt to Azure and each Table storage call is a client span under it. The
metrics are recorded when the run ends, with the attributes the run ended with.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from shared import constants as c
from shared.telemetry import names as n
from shared.telemetry.calls import (
    TableSpans,
    call_attributes,
    record_answer,
    set_attribute,
    url_template,
)
from shared.telemetry.recorder import (
    AttemptRecorder,
    RunRecorder,
    Telemetry,
    TraceParent,
    current_run,
    running,
)

_PROPAGATOR = TraceContextTextMapPropagator()
JOB_TYPES = {
    n.CHAT: c.JOB_TYPE_CHAT,
    n.POLL_RESPONSE: c.JOB_TYPE_CHAT,
    n.EMBEDDINGS: c.JOB_TYPE_EMBEDDING,
    n.CREATE_BATCH: c.JOB_TYPE_BATCH,
    n.POLL_BATCH: c.JOB_TYPE_BATCH,
}


class LiveRun(RunRecorder):
    def __init__(self, telemetry: LiveTelemetry, span: Span, operation: str) -> None:
        self._telemetry, self._span = telemetry, span
        self._operation = operation
        self._deployment: str | None = None
        self._job_type = JOB_TYPES.get(operation)
        self._started = time.monotonic()
        self._attempts = 0
        self._response_model: str | None = None
        self.tokens: dict[str, int] = {}
        self._facts: dict[str, AttributeValue] = {}

    @property
    def deployment(self) -> str | None:
        return self._deployment

    @property
    def operation(self) -> str | None:
        return self._operation

    def describe(self, operation: str, deployment: str | None, job_type: str | None = None) -> None:
        self._operation, self._deployment = operation, deployment
        self._job_type = job_type or JOB_TYPES.get(operation)
        self._span.update_name(f"{operation} {deployment}" if deployment else operation)

    def answered(
        self,
        *,
        model: str | None = None,
        response_id: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reasons: Sequence[str] = (),
    ) -> None:
        self._response_model = model or self._response_model
        if input_tokens is not None:
            self.tokens["input"] = input_tokens
        if output_tokens is not None:
            self.tokens["output"] = output_tokens
        set_attribute(self._span, n.RESPONSE_ID, response_id)
        if finish_reasons:
            self._span.set_attribute(n.FINISH_REASONS, list(finish_reasons))

    def identify(self, run_id: str | None, request_id: str | None = None) -> None:
        set_attribute(self._span, n.RUN_ID, run_id)
        set_attribute(self._span, n.AZURE_REQUEST_ID, request_id)

    def facts(self, **facts: object) -> None:
        for name, value in facts.items():
            if value is not None:
                fact = value if isinstance(value, str | bool | int | float) else str(value)
                self._facts[f"polysync.{name}"] = fact

    def attempted(self) -> None:
        self._attempts += 1

    def finish(self, http_status: int, error_code: str | None) -> None:
        outcome = "Failed" if http_status >= 400 else "Running" if http_status == 202 else "Success"
        dims = self.dimensions()
        span = self._span
        span.set_attributes(dims | self._facts)
        span.set_attribute(n.OUTCOME, outcome)
        span.set_attribute(n.ANSWER_STATUS, http_status)
        span.set_attribute(n.ATTEMPTS, self._attempts)
        if "input" in self.tokens:
            span.set_attribute(n.INPUT_TOKENS, self.tokens["input"])
        if "output" in self.tokens:
            span.set_attribute(n.OUTPUT_TOKENS, self.tokens["output"])
        if error_code is not None:
            span.set_attribute(n.ERROR_TYPE, error_code)
            span.set_attribute(n.ERROR_CODE, error_code)
            span.set_status(Status(StatusCode.ERROR, error_code))
        self._telemetry.record_run(self, dims, outcome, error_code)

    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    def dimensions(self) -> dict[str, AttributeValue]:
        """The attributes the run's span and metric points share."""
        dims: dict[str, AttributeValue] = {n.POLYSYNC_OPERATION: self._operation}
        if self._operation in n.GENAI_OPERATIONS:
            dims[n.OPERATION] = self._operation
            dims[n.PROVIDER_NAME] = n.PROVIDER
            dims |= self._telemetry.server
        for name, value in (
            (n.DEPLOYMENT, self._deployment),
            (n.REQUEST_MODEL, self._deployment if self._operation in n.GENAI_OPERATIONS else None),
            (n.RESPONSE_MODEL, self._response_model),
            (n.JOB_TYPE, self._job_type),
        ):
            if value is not None:
                dims[name] = value
        return dims


class LiveAttempt(AttemptRecorder):
    def __init__(self, telemetry: LiveTelemetry, span: Span) -> None:
        self._telemetry, self._span = telemetry, span

    def answered(self, status: int, request_id: str | None) -> None:
        record_answer(self._span, status, request_id, expected=False)
        if status == 429:
            self._telemetry.record_throttled()

    def failed(self, error_type: str) -> None:
        self._span.set_attribute(n.ERROR_TYPE, error_type)
        self._span.set_status(Status(StatusCode.ERROR, error_type))


class LiveTelemetry(Telemetry):
    """Spans and metric points through the global providers (`shared.telemetry.pipeline`)."""

    enabled = True

    def __init__(self, openai_endpoint: str) -> None:
        parts = urlsplit(openai_endpoint)
        self.server: dict[str, AttributeValue] = {n.SERVER_ADDRESS: parts.hostname or ""}
        if parts.port is not None:
            self.server[n.SERVER_PORT] = parts.port
        self._tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE)
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE)
        self._token_usage = meter.create_histogram(
            n.TOKEN_USAGE,
            unit="{token}",
            description="Tokens used by a run, by token type (input, output).",
            explicit_bucket_boundaries_advisory=list(n.TOKEN_BUCKETS),
        )
        self._duration = meter.create_histogram(
            n.OPERATION_DURATION,
            unit="s",
            description="How long a GenAI run took, from the request to the answer.",
            explicit_bucket_boundaries_advisory=list(n.DURATION_BUCKETS),
        )
        self._runs = meter.create_counter(
            n.RUNS, unit="{run}", description="Runs, by outcome and error code."
        )
        self._throttled = meter.create_counter(
            n.THROTTLED,
            unit="{attempt}",
            description="Attempts Azure answered 429 (throttled), by deployment.",
        )

    @contextmanager
    def run(self, function: str, trace_parent: TraceParent) -> Iterator[RunRecorder]:
        operation = n.FUNCTION_OPERATIONS.get(function, function)
        parent = None
        if trace_parent.traceparent:
            carrier = {"traceparent": trace_parent.traceparent}
            if trace_parent.tracestate:
                carrier["tracestate"] = trace_parent.tracestate
            parent = _PROPAGATOR.extract(carrier)
        kind = SpanKind.INTERNAL if operation == n.DISCOVERY else SpanKind.CLIENT
        span = self._tracer.start_span(operation, context=parent, kind=kind)
        recorder = LiveRun(self, span, operation)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            with running(recorder):
                yield recorder
        finally:
            otel_context.detach(token)
            span.end()

    @contextmanager
    def attempt(self, method: str, url: str, attempt: int) -> Iterator[AttemptRecorder]:
        current_run().attempted()
        parts = urlsplit(url)
        template = url_template(parts.path)
        with self._tracer.start_as_current_span(
            f"{method} {template}",
            kind=SpanKind.CLIENT,
            attributes=call_attributes(method, parts, template, attempt),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield LiveAttempt(self, span)

    def table_policies(self) -> list[Any]:
        return [TableSpans(self._tracer)]

    def record_run(
        self, run: LiveRun, dims: dict[str, AttributeValue], outcome: str, error_code: str | None
    ) -> None:
        """The run's metric points, with the attributes it ended with (`dims`)."""
        failed = {n.ERROR_TYPE: error_code} if error_code is not None else {}
        self._runs.add(1, dims | {n.OUTCOME: outcome} | failed)
        if n.OPERATION not in dims:
            return
        self._duration.record(run.elapsed_s(), dims | failed)
        for token_type, count in run.tokens.items():
            self._token_usage.record(count, dims | {n.TOKEN_TYPE: token_type})

    def record_throttled(self) -> None:
        run = current_run()
        dims: dict[str, AttributeValue] = dict(self.server)
        if run.deployment is not None:
            dims[n.DEPLOYMENT] = run.deployment
        if run.operation is not None:
            dims[n.POLYSYNC_OPERATION] = run.operation
        self._throttled.add(1, dims)
