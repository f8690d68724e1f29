"""The batches and the states they go through.

A batch advances lazily, ``step_s`` seconds per state (validating -> in_progress -> finalizing
-> completed); leaving validating checks the input file's lines, reaching finalizing answers each
line with the chat or embeddings logic (``body.model`` is the deployment). ``outcome`` makes new
batches fail or expire instead, ``set_status()`` pins one, ``format="azure"`` answers PascalCase
statuses and ISO 8601 timestamps.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

from local.simulator.batch_lines import (
    BATCH_TASK_API_VERSION,
    BatchResult,
    BatchTask,
    batch_error,
    expired_line,
    jsonl,
    parse_batch_input,
)
from local.simulator.errors import Reject, azure_error
from local.simulator.files import PURPOSE_BATCH, PURPOSE_BATCH_OUTPUT, Files
from local.simulator.models import check_type
from local.simulator.state import State

BATCH_ID_PREFIX = "batch_"
BATCH_COMPLETION_WINDOW = "24h"
BATCH_WINDOW_S = 86_400  # expires_at = created_at + this
DEFAULT_BATCH_STEP_S = 2.0
ISO_UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
SIMULATED_BATCH_FAILURE = "Simulated batch failure."

BatchStatus = Literal[
    "validating",
    "in_progress",
    "finalizing",
    "completed",
    "failed",
    "expired",
    "cancelling",
    "cancelled",
]
BatchOutcome = Literal["completed", "failed", "expired"]  # how new batches end
BatchFormat = Literal["openai", "azure"]  # lowercase + Unix ints, or PascalCase + ISO 8601
BATCH_STATUSES: tuple[BatchStatus, ...] = get_args(BatchStatus)
BATCH_OUTCOMES: tuple[BatchOutcome, ...] = get_args(BatchOutcome)
BATCH_FORMATS: tuple[BatchFormat, ...] = get_args(BatchFormat)
TERMINAL_BATCH_STATUSES: frozenset[BatchStatus] = frozenset(
    ("completed", "failed", "expired", "cancelled")
)
AZURE_BATCH_STATUSES: dict[BatchStatus, str] = {
    status: "".join(word.capitalize() for word in status.split("_")) for status in BATCH_STATUSES
}
BATCH_TIMESTAMPS = (
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)
# The timestamps (besides created_at and expires_at) a batch pinned to a status shows.
PINNED_TIMESTAMPS: dict[BatchStatus, tuple[str, ...]] = {
    "validating": (),
    "in_progress": ("in_progress_at",),
    "finalizing": ("in_progress_at", "finalizing_at"),
    "completed": ("in_progress_at", "finalizing_at", "completed_at"),
    "failed": ("failed_at",),
    "expired": ("in_progress_at", "expired_at"),
    "cancelling": ("in_progress_at", "cancelling_at"),
    "cancelled": ("in_progress_at", "cancelling_at", "cancelled_at"),
}

TaskAnswerer = Callable[[str, BatchTask, str], BatchResult]  # (endpoint, task, api-version)


@dataclass
class Batch:
    """A batch and the states it has reached so far (see BatchStore._advance_locked)."""

    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    content: bytes  # the input file as it was when the batch was created
    outcome: BatchOutcome
    step_s: float  # the schedule's step, as set when the batch was created
    started: float  # clock reading at creation; state k is reached at started + k * step_s
    status: BatchStatus = "validating"
    timestamps: dict[str, int] = field(default_factory=dict)  # "<state>_at" -> Unix seconds
    errors: list[dict[str, Any]] | None = None  # errors.data once failed
    request_counts: dict[str, int] | None = None
    validation_errors: list[dict[str, Any]] | None = None  # None until validated
    tasks: list[BatchTask] = field(default_factory=list)  # the valid lines, once validated
    results: list[BatchResult] = field(default_factory=list)  # answers to tasks[:len(...)]
    output_file_id: str | None = None
    error_file_id: str | None = None
    cancel_started: float | None = None  # clock reading of the cancel request
    pinned: bool = False  # set_status() froze it
    api_version: str = BATCH_TASK_API_VERSION  # the create call's: what each line runs with


class BatchStore:
    """The batches (oldest first) and the settings new ones get; guarded by the state's lock."""

    def __init__(self, state: State, files: Files, answer: TaskAnswerer, step_s: float) -> None:
        self._state = state
        self._files = files
        self._answer = answer
        self._batches: dict[str, Batch] = {}
        self.step_s = step_s
        self._initial_step_s = self.step_s
        self.outcome = "completed"
        self.format = "openai"

    @property
    def step_s(self) -> float:
        return self._step_s

    @step_s.setter
    def step_s(self, value: float) -> None:
        self._step_s = checked_step_s(value)

    @property
    def outcome(self) -> BatchOutcome:
        return self._outcome

    @outcome.setter
    def outcome(self, value: BatchOutcome) -> None:
        self._outcome = cast(BatchOutcome, one_of("batch_outcome", value, BATCH_OUTCOMES))

    @property
    def format(self) -> BatchFormat:
        return self._format

    @format.setter
    def format(self, value: BatchFormat) -> None:
        self._format = cast(BatchFormat, one_of("batch_format", value, BATCH_FORMATS))

    def reset(self) -> None:
        """Forget every batch; restore the constructor's step and the default outcome and
        format."""
        with self._state.lock:
            self._batches.clear()
        self.step_s = self._initial_step_s
        self.outcome = "completed"
        self.format = "openai"

    # -- what the routes and the Simulator ask for ---------------------------------------

    def listing(self) -> list[dict[str, Any]]:
        """The batch objects as they would be answered now, oldest first."""
        with self._state.lock:
            now = self._state.clock()
            return [self._json_locked(batch, now) for batch in self._batches.values()]

    def get(self, batch_id: str) -> dict[str, Any] | None:
        with self._state.lock:
            batch = self._batches.get(batch_id)
            return None if batch is None else self._json_locked(batch, self._state.clock())

    def set_status(self, batch_id: str, status: str) -> None:
        """Pin a batch to a status; KeyError for an unknown batch, ValueError for an unknown
        status."""
        checked = parse_status(status)
        with self._state.lock:
            if batch_id not in self._batches:
                raise KeyError(batch_id)
            self._pin_locked(self._batches[batch_id], checked, self._state.clock())

    def create(
        self,
        input_file_id: str,
        endpoint: str,
        metadata: dict[str, str] | None,
        api_version: str = BATCH_TASK_API_VERSION,
    ) -> dict[str, Any]:
        """Create a batch (the caller validated the fields); raise Reject for a bad file."""
        with self._state.lock:
            stored = self._files.get(input_file_id)
            if stored is None:
                message = f"'input_file_id' {input_file_id!r} does not name an uploaded file."
                raise Reject(azure_error(400, "invalid_request", message))
            if stored.purpose != PURPOSE_BATCH:
                message = (
                    f"'input_file_id' {input_file_id!r} names a file with purpose "
                    f"{stored.purpose!r}; a batch needs a file uploaded with purpose 'batch'."
                )
                raise Reject(azure_error(400, "invalid_request", message))
            now = self._state.clock()
            batch = Batch(
                id=BATCH_ID_PREFIX + str(uuid.uuid4()),
                endpoint=endpoint,
                input_file_id=input_file_id,
                completion_window=BATCH_COMPLETION_WINDOW,
                metadata=metadata,
                content=stored.content,
                outcome=self._outcome,
                step_s=self._step_s,
                started=now,
                api_version=api_version,
            )
            batch.timestamps["created_at"] = int(now)
            batch.timestamps["expires_at"] = int(now) + BATCH_WINDOW_S
            self._batches[batch.id] = batch
            return self._json_locked(batch, now, advance=False)

    def cancel(self, batch_id: str) -> dict[str, Any] | None:
        """Ask a batch to cancel (None for an unknown one); Reject when it has ended."""
        with self._state.lock:
            batch = self._batches.get(batch_id)
            if batch is None:
                return None
            now = self._state.clock()
            self._advance_locked(batch, now)
            if batch.status in TERMINAL_BATCH_STATUSES:
                message = f"Batch {batch_id} is {batch.status} and can no longer be cancelled."
                raise Reject(azure_error(400, "invalid_request", message))
            if batch.status != "cancelling":
                # An explicit cancel outranks a pin: the batch is cancelled one step later.
                batch.pinned = False
                batch.cancel_started = now
                if batch.request_counts is None:
                    batch.request_counts = request_counts(len(batch.tasks))
                self._enter_locked(batch, "cancelling", now)
            return self._json_locked(batch, now, advance=False)

    # -- the state machine ---------------------------------------------------------------

    def _json_locked(self, batch: Batch, now: float, *, advance: bool = True) -> dict[str, Any]:
        if advance:
            self._advance_locked(batch, now)
        azure = self._format == "azure"
        timestamps: dict[str, Any] = {name: batch.timestamps.get(name) for name in BATCH_TIMESTAMPS}
        if azure:
            timestamps = {name: iso_utc(value) for name, value in timestamps.items()}
        errors = None
        if batch.errors is not None:
            errors = {"object": "list", "data": [dict(error) for error in batch.errors]}
        counts = batch.request_counts
        return {
            "id": batch.id,
            "object": "batch",
            "endpoint": batch.endpoint,
            "errors": errors,
            "input_file_id": batch.input_file_id,
            "completion_window": batch.completion_window,
            "status": AZURE_BATCH_STATUSES[batch.status] if azure else batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            **timestamps,
            "request_counts": None if counts is None else dict(counts),
            "metadata": None if batch.metadata is None else dict(batch.metadata),
        }

    def _advance_locked(self, batch: Batch, now: float) -> None:
        """Move a batch through the states it has reached by ``now``, freezing each state's
        timestamp at its scheduled time (started + k * step_s)."""
        while not batch.pinned:
            status = batch.status
            if status == "cancelling":
                due = cast(float, batch.cancel_started) + batch.step_s
                if now < due:
                    return
                self._end_locked(batch, "cancelled", due)
                continue
            step = {"validating": 1, "in_progress": 2, "finalizing": 3}.get(status)
            if step is None:  # terminal
                return
            due = batch.started + step * batch.step_s
            if now < due:
                return
            if status == "validating":
                errors = self._validate_locked(batch)
                if errors or batch.outcome == "failed":
                    self._fail_locked(batch, errors or [_simulated_failure()], due)
                else:
                    batch.request_counts = request_counts(len(batch.tasks))
                    self._enter_locked(batch, "in_progress", due)
            elif status == "in_progress":
                if batch.outcome == "expired":
                    self._end_locked(batch, "expired", due)
                else:
                    self._finalize_locked(batch, due)
            else:
                self._end_locked(batch, "completed", due)

    def _enter_locked(self, batch: Batch, status: BatchStatus, at: float) -> None:
        batch.status = status
        if status != "validating":  # created_at stands for it
            batch.timestamps.setdefault(f"{status}_at", int(at))

    def _validate_locked(self, batch: Batch) -> list[dict[str, Any]]:
        """Check the input file's lines once; keep the valid ones as the batch's tasks."""
        if batch.validation_errors is None:
            deployments = {deployment.name for deployment in self._state.deployments}
            batch.tasks, batch.validation_errors = parse_batch_input(
                batch.content, batch.endpoint, deployments
            )
        return batch.validation_errors

    def _fail_locked(self, batch: Batch, errors: list[dict[str, Any]], at: float) -> None:
        batch.errors = errors
        batch.request_counts = request_counts(0)  # nothing was accepted
        self._enter_locked(batch, "failed", at)

    def _run_locked(self, batch: Batch, count: int) -> list[BatchResult]:
        """Answer the first ``count`` tasks (those not answered yet); return their results."""
        for task in batch.tasks[len(batch.results) : count]:
            batch.results.append(self._answer(batch.endpoint, task, batch.api_version))
        return batch.results[:count]

    def _finalize_locked(self, batch: Batch, at: float) -> None:
        # By finalizing every request has been answered; the files are written at the end.
        results = self._run_locked(batch, len(batch.tasks))
        batch.request_counts = request_counts(len(batch.tasks), results)
        self._enter_locked(batch, "finalizing", at)

    def _end_locked(self, batch: Batch, status: BatchStatus, at: float) -> None:
        """Enter completed, expired or cancelled, writing the output and error files.

        An expired batch answered the first half of its requests; the rest go to the error
        file as ``batch_expired``. A cancelled batch returns the work it had done (answers
        exist from finalizing on) and has no files when it never got past validating.
        """
        total = len(batch.tasks)
        done = {"completed": total, "expired": total // 2}.get(status, len(batch.results))
        results = self._run_locked(batch, done)
        batch.request_counts = request_counts(total, results)
        output = [line for ok, line in results if ok]
        failed = [line for ok, line in results if not ok]
        if status == "expired":
            failed += [expired_line(task) for task in batch.tasks[done:]]
        if batch.validation_errors is not None:
            stamp, store = int(at), self._files.store_locked
            name = f"{batch.id}_output.jsonl"
            output_file = store(jsonl(output), name, PURPOSE_BATCH_OUTPUT, stamp)
            name = f"{batch.id}_error.jsonl"
            error_file = store(jsonl(failed), name, PURPOSE_BATCH_OUTPUT, stamp)
            batch.output_file_id, batch.error_file_id = output_file.id, error_file.id
        self._enter_locked(batch, status, at)

    def _pin_locked(self, batch: Batch, status: BatchStatus, now: float) -> None:
        self._advance_locked(batch, now)
        batch.pinned = True
        if batch.status == status:
            return
        batch.cancel_started = None
        kept = {"created_at", "expires_at", *PINNED_TIMESTAMPS[status]}
        batch.timestamps = {k: v for k, v in batch.timestamps.items() if k in kept}
        batch.errors = batch.output_file_id = batch.error_file_id = None
        batch.request_counts = None
        if "finalizing_at" not in kept:  # pinned to before any request was answered
            batch.results.clear()
        errors = [] if status == "validating" else self._validate_locked(batch)
        if status != "validating":
            batch.request_counts = request_counts(len(batch.tasks))
        for name in PINNED_TIMESTAMPS[status][:-1]:  # the states it went through
            batch.timestamps.setdefault(name, int(now))
        if status == "failed":
            self._fail_locked(batch, errors or [_simulated_failure()], now)
        elif status == "finalizing":
            self._finalize_locked(batch, now)
        elif status in ("completed", "expired", "cancelled"):
            self._end_locked(batch, status, now)
        else:
            self._enter_locked(batch, status, now)


def checked_step_s(value: float, name: str = "batch_step_s") -> float:
    """A batch step (seconds per state) as a float; TypeError/ValueError when invalid."""
    check_type(name, value, int, float)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")
    return float(value)


def one_of(name: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def parse_status(value: str) -> BatchStatus:
    """A status in either format (``in_progress`` or ``InProgress``), as the lowercase one."""
    pascal = {name: status for status, name in AZURE_BATCH_STATUSES.items()}
    if isinstance(value, str) and value in pascal:
        return pascal[value]
    return cast(BatchStatus, one_of("status", value, BATCH_STATUSES))


def iso_utc(timestamp: int | None) -> str | None:
    return None if timestamp is None else time.strftime(ISO_UTC_FORMAT, time.gmtime(timestamp))


def request_counts(total: int, results: list[BatchResult] | None = None) -> dict[str, int]:
    completed = sum(1 for ok, _ in results or [] if ok)
    return {"total": total, "completed": completed, "failed": len(results or []) - completed}


def _simulated_failure() -> dict[str, Any]:
    return batch_error("invalid_request", SIMULATED_BATCH_FAILURE)
