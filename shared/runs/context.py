"""A run's context: what it is, the deployment it calls, when it started, and the one log line
every run gets (docs/design.md §3): a success line, or a failure line with the error's code and
Azure's status and request id. Never a prompt, a completion or a key."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from shared.errors import AppError
from shared.runs.ids import SyncOutcome, sync_run_id
from shared.telemetry import names as n
from shared.telemetry.recorder import RunRecorder, current_run

logger = logging.getLogger("shared.runs")

# The operation each kind of run is, in its telemetry span (shared.telemetry.names).
OPERATIONS = {
    "chat": n.CHAT,
    "embedding": n.EMBEDDINGS,
    "batch": n.CREATE_BATCH,
    "batch status": n.POLL_BATCH,
    "chat status": n.POLL_RESPONSE,
}


@dataclass
class RunContext:
    """One run, from the route to the answer.

    `deployment` is the External Id the route named until the job's definition is read, then the
    deployment the run calls (the definition's `Deployment Name`, when it has one)."""

    kind: str  # "chat", "embedding", "batch", "batch status"
    deployment: str | None
    run_id: str | None = None  # an asynchronous run's id (a batch id) once Azure gave one
    sync: bool = True
    started: float = field(default_factory=time.monotonic)
    # the run's span, when telemetry is on (the scope `shared.web.handle` opened)
    telemetry: RunRecorder = field(default_factory=current_run, repr=False)

    def __post_init__(self) -> None:
        self.describe()

    def describe(self) -> None:
        """Tell the run's span what it is; again once the deployment it calls is known."""
        self.telemetry.describe(OPERATIONS[self.kind], self.deployment)

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Give an error raised inside the run its run id, and log the run's failure line."""
        try:
            yield
        except AppError as error:
            if error.run_id is None:
                error.run_id = self.outcome_run_id("Failed")
            upstream = error.upstream_fields()
            self.log_failure(
                error.code, upstream.get("upstream_status"), upstream.get("request_id")
            )
            raise

    def outcome_run_id(self, outcome: SyncOutcome) -> str | None:
        """The run id an answer carries: `{deployment}#sync#{outcome}` for a synchronous run."""
        if self.sync and self.deployment is not None:
            return sync_run_id(self.deployment, outcome)
        return self.run_id

    def log_failure(
        self,
        code: str,
        upstream_status: int | None,
        request_id: str | None,
        kind: str | None = None,
        **facts: object,
    ) -> None:
        """The one warning line every failed run gets: its ids, the code, Azure's status and
        request id, and facts that are never content (a batch status). `kind` overrides the
        run's own (a poll that finds its batch ended logs the batch as failed)."""
        self.telemetry.identify(self.outcome_run_id("Failed"), request_id)
        self.telemetry.facts(upstream_status=upstream_status, **facts)
        logger.warning(
            "%s run failed: run_id=%s deployment=%s code=%s%s upstream_status=%s request_id=%s "
            "duration_ms=%.0f",
            kind or self.kind,
            self.outcome_run_id("Failed"),
            self.deployment,
            code,
            _facts(facts),
            upstream_status,
            request_id,
            self.elapsed_ms(),
        )

    def log_success(
        self, upstream_status: int, request_id: str | None, attempts: int, **facts: object
    ) -> None:
        """One line per successful run: ids, Azure's answer, timing, and a few facts that are
        never content (a finish reason, a token count, a vector length, a batch status)."""
        self.telemetry.identify(self.outcome_run_id("Success"), request_id)
        self.telemetry.facts(upstream_status=upstream_status, **facts)
        logger.info(
            "%s run succeeded: run_id=%s deployment=%s upstream_status=%d request_id=%s "
            "attempts=%d%s duration_ms=%.0f",
            self.kind,
            self.outcome_run_id("Success"),
            self.deployment,
            upstream_status,
            request_id,
            attempts,
            _facts(facts),
            self.elapsed_ms(),
        )

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000


def _facts(facts: dict[str, object]) -> str:
    return "".join(f" {name}={value}" for name, value in facts.items())
