"""The Azure OpenAI Chat Completion job (docs/design.md §4): `POST /api/chat/{deployment}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import constants as c
from shared.errors import InvalidRequest
from shared.models.answers import Adjustment, ChatAnswer
from shared.models.requests import ChatRunRequest, validate_deployment_name
from shared.registry.entity import ChatAttributes
from shared.runs.context import RunContext
from shared.runs.inputs import JobSpec, ready_run
from shared.web import Outcome
from shared.wiring import Services

CHAT_JOB = JobSpec(ChatRunRequest, ChatAttributes, c.JOB_TYPE_CHAT)


def run_chat(external_id: str, body: bytes, services: Callable[[], Services]) -> Outcome:
    """Run a chat job for the External Id the route named (validated before anything else)."""
    run = RunContext("chat", validate_deployment_name(external_id))
    with run.failures():
        ready = ready_run(run, body, CHAT_JOB, services)
        app, job = ready.app, ready.job
        params, adjustments = governed(job.params, job.attributes)
        completion, response = app.openai.create_chat_completion(
            job.deployment, chat_request_body(params, job.attributes), ready.deadline
        )
    choice, usage = completion.choices[0], completion.usage
    run.log_success(
        response.status,
        response.request_id,
        response.attempts,
        finish_reason=choice.finish_reason,
        total_tokens=usage.total_tokens,
        adjusted=",".join(f"{a.parameter}:{a.action}" for a in adjustments) or "none",
    )
    answer = ChatAnswer(
        run_id=run.outcome_run_id("Success"),
        status="Success",
        response=choice.message.content or "",
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        finish_reason=choice.finish_reason,
        deployment=job.deployment,
        model=completion.model,
        request_id=response.request_id,
        monitor_url=app.settings.monitor_url(),
        adjustments=adjustments,
    )
    return Outcome(200, answer)


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


def chat_request_body(params: ChatRunRequest, attributes: ChatAttributes) -> dict[str, Any]:
    """The upstream body: exactly `messages`, plus `max_tokens` / `temperature` when resolved.
    Each value comes from the request body, else the job attribute, else is left out."""
    system_prompt = params.system_prompt or attributes.system_prompt
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": params.user_prompt})
    body: dict[str, Any] = {"messages": messages}
    max_tokens = params.max_tokens if params.max_tokens is not None else attributes.max_tokens
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    temperature = params.temperature if params.temperature is not None else attributes.temperature
    if temperature is not None:
        body["temperature"] = temperature
    return body
