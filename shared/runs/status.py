"""`GET /api/status/{run_id}[?deployment=...]` (docs/design.md §6): a synchronous run's id is
decoded locally with no call to Azure; a batch id is polled (`shared.runs.batch`), a response id
(a background chat run) too (`shared.runs.responses`)."""

from __future__ import annotations

from collections.abc import Callable

from shared.errors import RunFailed
from shared.models.answers import ErrorObject, SyncStatusAnswer
from shared.models.requests import validate_deployment_name
from shared.runs.batch import poll_batch
from shared.runs.ids import BatchRun, ResponseRun, parse_run_id
from shared.runs.links import StatusLink
from shared.runs.responses import poll_response
from shared.telemetry.names import POLL_SYNC
from shared.telemetry.recorder import current_run
from shared.web import Outcome
from shared.wiring import Services


def poll_run(
    run_id: str,
    deployment: str | None,
    link: StatusLink,
    origin: str,
    services: Callable[[], Services],
) -> Outcome:
    """`deployment`, `expires` and `sig` are what our own statusQueryUrl carries. A malformed
    `deployment` is refused whatever the run id, like a malformed route parameter."""
    run = parse_run_id(run_id)
    named = None if deployment is None else validate_deployment_name(deployment)
    if isinstance(run, ResponseRun):
        return poll_response(run.response_id, named, link, origin, services)
    if isinstance(run, BatchRun):
        return poll_batch(run.batch_id, named, link, origin, services)
    span = current_run()
    span.describe(POLL_SYNC, run.deployment)
    span.identify(run.run_id)
    answer = SyncStatusAnswer(run_id=run.run_id, status=run.outcome, deployment=run.deployment)
    if run.outcome == "Success":
        return Outcome(200, answer)
    error = RunFailed("The synchronous run failed; its error was in the run's own response.")
    error.run_id = run.run_id
    answer.error = ErrorObject(**error.error_object())
    error.answer = answer.to_json()
    raise error
