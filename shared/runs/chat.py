"""The Azure OpenAI Chat Completion job (docs/design.md §4): `POST /api/chat/{deployment}`.

The model's profile (`shared.runs.chat_plan`) decides the call: Chat Completions on the classic
surface or on v1, or the Responses API (synchronous, or in background mode for runs longer than
the HTTP limit). When Azure refuses the call in a way that says what the model is, the run learns
the model's profile from that answer, remembers it for the deployment, and tries once more.
"""

from __future__ import annotations

from collections.abc import Callable

from shared import constants as c
from shared.clients.openai import V1
from shared.clients.transport import Deadline, UpstreamResponse
from shared.errors import InvalidRequest, UpstreamRejected, UpstreamTimeout
from shared.families import learn_from_refusal
from shared.models.answers import Adjustment, ChatAnswer
from shared.models.azure import ChatCompletion, Response, TokenDetails
from shared.models.requests import ChatRunRequest, validate_deployment_name
from shared.registry.entity import ChatAttributes
from shared.runs import links, responses
from shared.runs.chat_plan import (
    ChatPlan,
    KnownProfile,
    adjusted,
    called,
    known_profile,
    plan_chat,
)
from shared.runs.context import RunContext
from shared.runs.inputs import JobSpec, ReadyRun, ready_run
from shared.web import Outcome
from shared.wiring import Services

CHAT_JOB = JobSpec(ChatRunRequest, ChatAttributes, c.JOB_TYPE_CHAT)
BACKGROUND_HINT = (
    f"Reasoning models can think longer than an HTTP call may last: set the job attribute "
    f"'{c.ATTR_BACKGROUND}' to true (or send background: true) to run the job in the "
    "background and poll its statusQueryUrl."
)


def run_chat(
    external_id: str, body: bytes, origin: str, services: Callable[[], Services]
) -> Outcome:
    """Run a chat job for the External Id the route named (validated before anything else)."""
    run = RunContext("chat", validate_deployment_name(external_id))
    with run.failures():
        ready = ready_run(run, body, CHAT_JOB, services)
        app, job = ready.app, ready.job
        params, ceilings = governed(job.params, job.attributes)
        known = known_profile(job.deployment, job.definition, app.learned)
        plan, answer, response = _call(ready, params, known, origin)
        plan.adjustments[:0] = ceilings
        if isinstance(answer, Response) and plan.background:
            return responses.started(run, app, answer, response, plan.adjustments, origin)
        api = app.openai.api_version if plan.surface == "classic" else V1
        if isinstance(answer, Response):
            chat = responses.chat_answer(answer, job.deployment, api, response, app)
        else:
            chat = completion_answer(answer, job.deployment, api, response, app)
    run.telemetry.answered(
        model=chat.model,
        response_id=answer.id,
        input_tokens=chat.prompt_tokens,
        output_tokens=chat.completion_tokens,
        finish_reasons=[chat.finish_reason] if chat.finish_reason else [],
    )
    run.log_success(
        response.status,
        response.request_id,
        response.attempts,
        api=plan.surface,
        finish_reason=chat.finish_reason,
        total_tokens=chat.total_tokens,
        adjusted=adjusted(plan.adjustments),
    )
    chat.run_id, chat.adjustments = run.outcome_run_id("Success"), plan.adjustments
    return Outcome(200, chat)


def _call(
    ready: ReadyRun[ChatRunRequest, ChatAttributes],
    params: ChatRunRequest,
    known: KnownProfile,
    origin: str,
) -> tuple[ChatPlan, ChatCompletion | Response, UpstreamResponse]:
    """The call as the profile says, with the run's `params` (within the job's ceilings); when
    Azure's refusal teaches the model's profile, the call again with it (once, inside the run's
    deadline). A background run's status link must be possible before Azure is called (as for
    batches)."""
    app, deployment, attributes = ready.app, ready.job.deployment, ready.job.attributes
    v1 = app.openai.api_version == V1
    plan = plan_chat(params, attributes, known, v1_setting=v1)
    if plan.background:
        links.require_linkable(origin, app.settings)
    reasoning = known.profile.reasoning
    try:
        try:
            return (plan, *_send(app, deployment, plan, ready.deadline))
        except UpstreamRejected as refused:
            lesson = learn_from_refusal(
                known.profile, refused.upstream_code, refused.upstream_param, refused.message
            )
            if lesson is None:
                raise
            app.learned.remember(deployment, lesson)
            reasoning = lesson.profile.reasoning
            learned = KnownProfile(lesson.profile, lesson.reason)
            plan = plan_chat(params, attributes, learned, v1_setting=v1)
            return (plan, *_send(app, deployment, plan, ready.deadline))
    except UpstreamTimeout as timeout:
        if reasoning and not plan.background:
            timeout.hint = BACKGROUND_HINT
        raise


def _send(
    app: Services, deployment: str, plan: ChatPlan, deadline: Deadline
) -> tuple[ChatCompletion | Response, UpstreamResponse]:
    if plan.surface == "responses":
        return app.openai.create_response(deployment, plan.body, deadline)
    v1 = plan.surface == "v1"
    return app.openai.create_chat_completion(deployment, plan.body, deadline, v1=v1)


def completion_answer(
    completion: ChatCompletion,
    deployment: str,
    api: str,
    response: UpstreamResponse,
    app: Services,
) -> ChatAnswer:
    """The chat outputs of a Chat Completions answer (run id and adjustments set by the run)."""
    choice, usage = completion.choices[0], completion.usage
    return ChatAnswer(
        run_id=None,
        status="Success",
        response=choice.message.content or "",
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        finish_reason=choice.finish_reason,
        reasoning_tokens=(usage.completion_tokens_details or TokenDetails()).reasoning_tokens,
        cached_tokens=(usage.prompt_tokens_details or TokenDetails()).cached_tokens,
        **called(
            deployment, completion.model, api, response.request_id, app.settings.monitor_url()
        ),
    )


def governed(
    params: ChatRunRequest, attributes: ChatAttributes
) -> tuple[ChatRunRequest, list[Adjustment]]:
    """The run's parameters within what the job's administrator allows: a locked system prompt
    refuses a run's own (400), and `OpenAI Max Tokens Limit` lowers a larger max_tokens to it,
    or sets it when the run asks for none (never raises one)."""
    if attributes.system_prompt_locked and params.system_prompt is not None:
        raise InvalidRequest(
            f"This job's system prompt is locked ('{c.ATTR_SYSTEM_PROMPT_LOCKED}'): send no "
            "system_prompt.",
            details=[{"field": "system_prompt", "problem": "locked by the job definition"}],
        )
    limit = attributes.max_tokens_limit
    asked = params.max_tokens if params.max_tokens is not None else attributes.max_tokens
    if limit is None or (asked is not None and asked <= limit):
        return params, []
    reason = (
        f"{asked} is above the job's '{c.ATTR_MAX_TOKENS_LIMIT}' ({limit})"
        if asked is not None
        else f"the job's '{c.ATTR_MAX_TOKENS_LIMIT}' ({limit}) bounds every run"
    )
    adjustment = Adjustment(
        parameter="max_tokens",
        action="lowered" if asked is not None else "capped",
        to=limit,
        reason=reason,
    )
    return params.model_copy(update={"max_tokens": limit}), [adjustment]
