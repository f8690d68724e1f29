"""What runs and calls tell telemetry, as recorders whose base classes record nothing: with
telemetry off, every call below is a no-op and no OpenTelemetry module is imported
(`shared.telemetry.live` holds the recorders that make spans and metric points).

The run in progress is a context variable: `shared.web.handle` opens the run's scope, and the
code inside it (a use-case, the transport, the registry) finds its recorder with `current_run()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TraceParent:
    """The invocation's W3C trace context: the host's (`context.trace_context`) in Azure, else
    the caller's `traceparent` and `tracestate` headers. Empty for a root span (a timer)."""

    traceparent: str | None = None
    tracestate: str | None = None


class RunRecorder:
    """What one run tells its span; this base records nothing (telemetry off)."""

    def describe(self, operation: str, deployment: str | None, job_type: str | None = None) -> None:
        """What the run is: its operation (`shared.telemetry.names`), the deployment it calls,
        its Polysync job type."""

    def answered(
        self,
        *,
        model: str | None = None,
        response_id: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        finish_reasons: Sequence[str] = (),
    ) -> None:
        """What Azure answered: the model that answered, the response's id, token usage and
        finish reasons (never the content)."""

    def identify(self, run_id: str | None, request_id: str | None = None) -> None:
        """The run id Polysync sees, and Azure's request id of the run's final call."""

    def facts(self, **facts: object) -> None:
        """Counts and states that are never content (`polysync.{name}`): a batch's status, a
        discovery's counts. None leaves a fact out; a value of another type is its str()."""

    def attempted(self) -> None:
        """One more HTTP attempt to Azure in this run (the transport calls it)."""

    def finish(self, http_status: int, error_code: str | None) -> None:
        """The answer: its HTTP status and, when the run failed, its error code."""

    @property
    def deployment(self) -> str | None:
        return None

    @property
    def operation(self) -> str | None:
        return None


class AttemptRecorder:
    """What one HTTP attempt tells its span; this base records nothing."""

    def answered(self, status: int, request_id: str | None) -> None:
        """Azure answered with this status (any status: a 429 too)."""

    def failed(self, error_type: str) -> None:
        """No answer: the transport error's class name (never its message)."""


class Telemetry:
    """The process's telemetry; this base is telemetry off."""

    enabled = False

    def run(self, function: str, trace: TraceParent) -> AbstractContextManager[RunRecorder]:
        """The scope of one run of `function`: its span, current while the run runs."""
        return nullcontext(NO_RUN)

    def attempt(
        self, method: str, url: str, attempt: int
    ) -> AbstractContextManager[AttemptRecorder]:
        """The span of one HTTP attempt to Azure (a child of the run's span)."""
        return nullcontext(NO_ATTEMPT)

    def table_policies(self) -> list[Any]:
        """azure-core pipeline policies that give each Table storage call its span."""
        return []


NO_RUN = RunRecorder()
NO_ATTEMPT = AttemptRecorder()
OFF = Telemetry()

_current: ContextVar[RunRecorder] = ContextVar("polysync_run", default=NO_RUN)


def current_run() -> RunRecorder:
    """The recorder of the run in progress in this context (the no-op one outside a run)."""
    return _current.get()


@contextmanager
def running(recorder: RunRecorder) -> Iterator[RunRecorder]:
    """Make `recorder` the current run's for the block."""
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)
