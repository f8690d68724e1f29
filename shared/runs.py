"""The use-cases behind the HTTP functions: a chat run, a status poll, the health report.

Each takes what it needs as arguments (`Runner` holds the process-wide clients) and returns an
`Outcome` (HTTP status and JSON body) or raises an error of `shared.errors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared import constants as c
from shared.aoai import AzureOpenAI
from shared.errors import (
    AppError,
    InvalidInputModel,
    InvalidJobDefinition,
    PayloadTooLarge,
    UpstreamError,
)
from shared.http import Deadline
from shared.models import (
    ChatAttributes,
    ChatRunRequest,
    JobDefinition,
    parse_json_object,
    validate_deployment_name,
)
from shared.registry import JobRegistry
from shared.settings import Settings
from shared.status import parse_run_id, sync_run_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Runner:
    """What the runs need, built once per process by `shared.wiring`."""

    settings: Settings
    aoai: AzureOpenAI
    registry: JobRegistry

    def chat(self, deployment: str, body: bytes) -> Outcome:
        """Run an Azure OpenAI Chat Completion job (design §4) for a validated External Id."""
        started = time.monotonic()
        deadline = Deadline(self.settings.run_deadline_s)
        try:
            check_size(body, self.settings.max_request_bytes)
            params = ChatRunRequest.parse(parse_json_object(body))
            definition = self.registry.find(deployment)
            attributes = chat_attributes(definition)
            deployment = called_deployment(attributes, deployment)
            completion, response = self.aoai.create_chat_completion(
                deployment, chat_request_body(params, attributes), deadline
            )
        except AppError as error:
            error.run_id = sync_run_id(deployment, "Failed")
            log_failure("chat", deployment, error, started)
            raise
        choice = completion.choices[0]
        logger.info(
            "chat run succeeded: deployment=%s upstream_status=%d request_id=%s attempts=%d "
            "finish_reason=%s total_tokens=%s duration_ms=%.0f",
            deployment,
            response.status,
            response.request_id,
            response.attempts,
            choice.finish_reason,
            completion.usage.total_tokens,
            _ms_since(started),
        )
        return Outcome(
            200,
            {
                "run_id": sync_run_id(deployment, "Success"),
                "status": "Success",
                "response": choice.message.content or "",
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
                "total_tokens": completion.usage.total_tokens,
                "finish_reason": choice.finish_reason,
                "deployment": deployment,
                "model": completion.model,
                "request_id": response.request_id,
                "monitor_url": self.settings.monitor_url(),
            },
        )


def chat(external_id: str, body: bytes, runner: Callable[[], Runner]) -> Outcome:
    """`POST /api/chat/{deployment}`: the name is validated before anything else happens."""
    deployment = validate_deployment_name(external_id)
    try:
        ready = runner()
    except AppError as error:
        error.run_id = sync_run_id(deployment, "Failed")
        raise
    return ready.chat(deployment, body)


def check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The request body has {len(body)} bytes; the limit is {limit} (MAX_REQUEST_BYTES)."
        )


def chat_attributes(definition: JobDefinition | None) -> ChatAttributes:
    if definition is None:
        return ChatAttributes()
    if definition.job_type == c.JOB_TYPE_EMBEDDING:
        raise InvalidInputModel(
            f"The deployment {definition.external_id!r} serves an embedding model "
            f"({definition.model_name or 'per the job registry'}); a chat completion cannot run "
            "on it. Use the Azure OpenAI Embedding job (POST /api/embeddings/{deployment})."
        )
    return definition.chat_attributes()


def called_deployment(attributes: ChatAttributes, external_id: str) -> str:
    """The job's `Deployment Name` attribute when it has one, else the External Id."""
    if attributes.deployment_name is None:
        return external_id
    try:
        return validate_deployment_name(attributes.deployment_name)
    except AppError:
        raise InvalidJobDefinition(
            f"The job definition {external_id!r} has a 'Deployment Name' attribute that is not a "
            "valid deployment name; fix it in the JobDefinitions table."
        ) from None


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


def run_status(run_id: str) -> Outcome:
    """Answer a status poll (design §6, synchronous runs): decoded locally, no call to Azure."""
    run = parse_run_id(run_id)
    body: dict[str, Any] = {
        "run_id": run.run_id,
        "status": run.outcome,
        "deployment": run.deployment,
        "mode": "sync",
    }
    if run.outcome == "Success":
        return Outcome(200, body)
    body["error"] = {
        "code": "RunFailed",
        "message": "The synchronous run failed; its error was in the run's own response.",
    }
    return Outcome(422, body)


def health_report(settings: Settings | None, problem: AppError | None) -> Outcome:
    """What an operator needs to see at a glance; no secret, no call to Azure or storage."""
    body: dict[str, Any] = {"status": "ok", "service": "polysync-azure-openai-functions"}
    if settings is None:
        body["status"] = "not_configured"
        body["problem"] = problem.body_fields() if problem else None
        return Outcome(200, body)
    missing = settings.missing()
    body.update(
        {
            "status": "ok" if not missing else "not_configured",
            "account": settings.account,
            "auth": settings.auth,
            "api_version": settings.api_version,
            "job_definitions_table": settings.job_definitions_table,
            "missing_settings": missing,
        }
    )
    return Outcome(200, body)


def log_failure(kind: str, deployment: str, error: AppError, started: float) -> None:
    upstream = error if isinstance(error, UpstreamError) else None
    logger.warning(
        "%s run failed: run_id=%s deployment=%s code=%s upstream_status=%s request_id=%s "
        "duration_ms=%.0f",
        kind,
        error.run_id,
        deployment,
        error.code,
        upstream.upstream_status if upstream else None,
        upstream.request_id if upstream else None,
        _ms_since(started),
    )


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000
