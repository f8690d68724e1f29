"""Chat runs on the Responses API (docs/design.md §4, §6): a response's outputs as the chat job's,
and the background mode: 202 Running with a signed status link, then polls of
`GET /api/status/resp_...` until Azure ends the response."""

from __future__ import annotations

import logging
from collections.abc import Callable

from shared.clients.openai import V1
from shared.clients.transport import Deadline, UpstreamResponse
from shared.errors import ResponseCancelled, ResponseEnded, ResponseFailed, UpstreamBadResponse
from shared.models.answers import Adjustment, BackgroundAnswer, ChatAnswer
from shared.models.azure import Response, TokenDetails
from shared.runs import links
from shared.runs.chat_plan import adjusted, called
from shared.runs.context import RunContext
from shared.runs.ids import is_response_id
from shared.runs.links import StatusLink
from shared.web import Outcome
from shared.wiring import Services

logger = logging.getLogger("shared.runs")

# What a response's terminal state means for the chat job's `finish_reason`.
INCOMPLETE_FINISH = {"max_output_tokens": "length", "content_filter": "content_filter"}
RUNNING = frozenset({"queued", "in_progress"})
KNOWN = RUNNING | {"completed", "incomplete", "failed", "cancelled"}
ENDED: dict[str, type[ResponseEnded]] = {
    "failed": ResponseFailed,
    "cancelled": ResponseCancelled,
}


def chat_answer(
    answer: Response, deployment: str, api: str, response: UpstreamResponse, app: Services
) -> ChatAnswer:
    """A completed or incomplete response's chat outputs (run id and adjustments set by the
    caller): `response` is the concatenated output text of its message items."""
    if answer.status in ENDED:
        raise _ended(answer)
    if answer.status == "completed":
        finish = "stop"
    elif answer.status == "incomplete":
        reason = answer.incomplete_details.reason if answer.incomplete_details else None
        finish = INCOMPLETE_FINISH.get(reason or "", reason or "length")
    else:
        raise UpstreamBadResponse(
            f"Azure answered a response with status {answer.status!r} to a synchronous call.",
            **response.error_context(),
        )
    usage = answer.usage
    return ChatAnswer(
        run_id=None,
        status="Success",
        response=answer.text,
        prompt_tokens=usage.input_tokens if usage else None,
        completion_tokens=usage.output_tokens if usage else None,
        total_tokens=usage.total_tokens if usage else None,
        finish_reason=finish,
        reasoning_tokens=(
            (usage and usage.output_tokens_details) or TokenDetails()
        ).reasoning_tokens,
        cached_tokens=((usage and usage.input_tokens_details) or TokenDetails()).cached_tokens,
        **called(deployment, answer.model, api, response.request_id, app.settings.monitor_url()),
    )


def started(
    run: RunContext,
    app: Services,
    answer: Response,
    response: UpstreamResponse,
    adjustments: list[Adjustment],
    origin: str,
) -> Outcome:
    """A background run Azure accepted: 202 Running with the signed link to poll."""
    run.sync, run.run_id = False, answer.id
    run.telemetry.answered(model=answer.model, response_id=answer.id)
    if not is_response_id(answer.id):
        raise UpstreamBadResponse(
            "Azure started a response whose id this app cannot poll.", **response.error_context()
        )
    run.log_success(
        response.status,
        response.request_id,
        response.attempts,
        api="responses",
        response_status=answer.status,
        adjusted=adjusted(adjustments),
    )
    return _running(answer, run.deployment, response, app, origin, adjustments)


def poll_response(
    response_id: str,
    deployment: str | None,
    link: StatusLink,
    origin: str,
    services: Callable[[], Services],
) -> Outcome:
    """A background chat run through its signed link: Running while Azure works, then the
    chat outputs (200), or 422 when Azure ended it failed or cancelled."""
    run = RunContext("chat status", deployment, run_id=response_id, sync=False)
    with run.failures():
        app = services()
        links.verify(response_id, deployment, link.expires, link.sig, app.settings)
        links.link_origin(origin, app.settings)
        answer, response = app.openai.get_response(
            response_id, Deadline(app.settings.run_deadline_s)
        )
        run.telemetry.answered(model=answer.model, response_id=answer.id)
        if answer.status in RUNNING or answer.status not in KNOWN:
            if answer.status not in KNOWN:  # keep polling rather than fail a live response
                logger.warning(
                    "response %s has an unknown status %r; reported Running",
                    response_id,
                    answer.status,
                )
            run.log_success(
                response.status,
                response.request_id,
                response.attempts,
                response_status=answer.status,
            )
            return _running(answer, deployment, response, app, origin, [])
        chat = chat_answer(answer, deployment or "", V1, response, app)
    chat.run_id = response_id
    run.telemetry.answered(
        input_tokens=chat.prompt_tokens,
        output_tokens=chat.completion_tokens,
        finish_reasons=[chat.finish_reason] if chat.finish_reason else [],
    )
    run.log_success(
        response.status, response.request_id, response.attempts, response_status=answer.status
    )
    return Outcome(200, chat)


def _running(
    answer: Response,
    deployment: str | None,
    response: UpstreamResponse,
    app: Services,
    origin: str,
    adjustments: list[Adjustment],
) -> Outcome:
    return Outcome(
        202,
        BackgroundAnswer(
            run_id=answer.id,
            status="Running",
            response_status=answer.status,
            deployment=deployment,
            model=answer.model,
            request_id=response.request_id,
            monitor_url=app.settings.monitor_url(),
            status_query_url=links.status_query_url(origin, answer.id, deployment, app.settings),
            adjustments=adjustments,
        ),
    )


def _ended(answer: Response) -> ResponseEnded:
    error = answer.error
    azure = {"code": error.code, "message": error.message} if error else None
    ended = ENDED[answer.status](
        f"The background response ended with status {answer.status!r}; Azure's error is in "
        "`upstream_error`.",
        azure,
    )
    return ended
