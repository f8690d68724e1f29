"""The Azure OpenAI Batch Job (docs/design.md §6): `POST /api/batches/{deployment}` submits a
batch (202 Running with a `statusQueryUrl`), and `GET /api/status/batch_...` reads it back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shared import constants as c
from shared.clients.transport import Deadline, UpstreamResponse
from shared.errors import (
    BatchCancelled,
    BatchEnded,
    BatchExpired,
    BatchFailed,
    InvalidRequest,
    UpstreamBadResponse,
)
from shared.models.answers import BatchAnswer, ErrorObject
from shared.models.azure import Batch, iso_utc
from shared.models.requests import BatchRunRequest, validate_deployment_name
from shared.registry.entity import BatchAttributes
from shared.runs import links
from shared.runs.context import RunContext
from shared.runs.ids import is_batch_id
from shared.runs.inputs import JobSpec, ready_run
from shared.runs.links import StatusLink
from shared.web import Outcome
from shared.wiring import Services

logger = logging.getLogger("shared.runs")

BATCH_JOB = JobSpec(BatchRunRequest, BatchAttributes, c.JOB_TYPE_BATCH, batch_suffix=True)
# Azure's end states other than `completed`, and the error each is answered with.
BATCH_ENDED: dict[str, type[BatchEnded]] = {
    "failed": BatchFailed,
    "expired": BatchExpired,
    "cancelled": BatchCancelled,
}


def submit_batch(
    external_id: str, body: bytes, origin: str, services: Callable[[], Services]
) -> Outcome:
    """Submit a batch for the deployment the route named (`::batch` suffix allowed). The
    status link's secret and origin are checked before Azure is called: a batch the app could
    not link back to would run unseen."""
    deployment = validate_deployment_name(external_id, allow_batch_suffix=True)
    run = RunContext("batch", deployment, sync=False)
    with run.failures():
        ready = ready_run(run, body, BATCH_JOB, services)
        app, job = ready.app, ready.job
        links.require_linkable(origin, app.settings)
        batch, response = app.openai.create_batch(
            batch_request_body(job.params, job.attributes), ready.deadline
        )
        run.run_id = batch.id
        if not is_batch_id(batch.id):
            raise UpstreamBadResponse(
                "Azure created a batch whose id this app cannot poll; find it in the portal.",
                **response.error_context(),
            )
    return batch_outcome(run, batch, response, origin, app)


def poll_batch(
    batch_id: str,
    deployment: str | None,
    link: StatusLink,
    origin: str,
    services: Callable[[], Services],
) -> Outcome:
    """Read a batch back through its signed link: Running, Success or Failed as Azure's status
    says. A link this app did not sign for this run is refused before Azure is called."""
    run = RunContext("batch status", deployment, run_id=batch_id, sync=False)
    with run.failures():
        app = services()
        links.verify(batch_id, deployment, link.expires, link.sig, app.settings)
        links.link_origin(origin, app.settings)  # the answer's own link: known before Azure
        batch, response = app.openai.get_batch(batch_id, Deadline(app.settings.run_deadline_s))
    return batch_outcome(run, batch, response, origin, app)


def batch_outcome(
    run: RunContext,
    batch: Batch,
    response: UpstreamResponse,
    origin: str,
    app: Services,
) -> Outcome:
    """The answer for a batch as Azure reported it, logged: a failure line for a batch that
    Azure ended without success (even one that failed at submission), else a success line."""
    state = batch.state
    run.telemetry.answered(response_id=batch.id)
    answer = batch_answer(batch, response, run.deployment, app.settings.monitor_url())
    answer.api = app.openai.batch_api_version
    ended = BATCH_ENDED.get(state)
    if ended is not None:
        error = ended(
            f"The batch ended with status {state!r}; Azure's errors are in `errors`.",
            batch.errors[: c.MAX_BATCH_ERRORS],
        )
        error.run_id = batch.id
        answer.status = "Failed"
        answer.error = ErrorObject(**error.error_object())
        error.answer = answer.to_json()
        run.log_failure(
            error.code, response.status, response.request_id, "batch", batch_status=state
        )
        raise error
    run.log_success(response.status, response.request_id, response.attempts, batch_status=state)
    if state == c.BATCH_SUCCEEDED:
        answer.status = "Success"
        return Outcome(200, answer)
    if state not in c.BATCH_RUNNING:
        # A status this app does not know yet: keep polling rather than fail a live batch.
        logger.warning("batch %s has an unknown status %r; reported Running", batch.id, state)
    answer.status_query_url = links.status_query_url(origin, batch.id, run.deployment, app.settings)
    return Outcome(202, answer)


def batch_answer(
    batch: Batch, response: UpstreamResponse, deployment: str | None, monitor_url: str | None
) -> BatchAnswer:
    counts = batch.request_counts
    return BatchAnswer(
        run_id=batch.id,
        status="Running",
        batch_status=batch.state,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        request_counts_total=counts.total if counts else None,
        request_counts_completed=counts.completed if counts else None,
        request_counts_failed=counts.failed if counts else None,
        start_time=iso_utc(batch.created_at),
        end_time=iso_utc(batch.ended_at),
        input_file_id=batch.input_file_id,
        endpoint=batch.endpoint,
        completion_window=batch.completion_window,
        deployment=deployment,
        request_id=response.request_id,
        monitor_url=monitor_url,
    )


def batch_request_body(params: BatchRunRequest, attributes: BatchAttributes) -> dict[str, Any]:
    """`{"input_file_id", "endpoint", "completion_window"}`: each from the request body, else
    the job attribute, else the default; the input file has no default."""
    input_file_id = params.input_file_id or attributes.input_file_id
    if input_file_id is None:
        raise InvalidRequest(
            f"No input file: send input_file_id, or set the job attribute "
            f"'{c.ATTR_INPUT_FILE_ID}' (a file uploaded with purpose=batch, 'file-...').",
            details=[{"field": "input_file_id", "problem": "required (no job attribute either)"}],
        )
    return {
        "input_file_id": input_file_id,
        "endpoint": params.endpoint or attributes.endpoint or c.DEFAULT_BATCH_ENDPOINT,
        "completion_window": (
            params.completion_window or attributes.completion_window or c.DEFAULT_COMPLETION_WINDOW
        ),
    }
