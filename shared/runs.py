"""The use-cases behind the HTTP functions: a chat run, a status poll, the health report.

Each takes what it needs as arguments (`Runner` holds the process-wide clients) and returns an
`Outcome` (HTTP status and JSON body) or raises an error of `shared.errors`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import AzureError

from shared import constants as c
from shared import discovery
from shared.aoai import AzureOpenAI
from shared.arm import ResourceManager
from shared.errors import (
    AppError,
    InvalidInputModel,
    InvalidJobDefinition,
    InvalidRequest,
    NotConfigured,
    PayloadTooLarge,
    RegistryUnavailable,
    UpstreamError,
    http_status,
)
from shared.http import Deadline
from shared.models import (
    ChatAttributes,
    ChatRunRequest,
    JobDefinition,
    parse_json_object,
    validate_deployment_name,
)
from shared.registry import JobRegistry, RegistryWriter
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
    started = time.monotonic()
    deployment = validate_deployment_name(external_id)
    try:
        ready = runner()
    except AppError as error:
        error.run_id = sync_run_id(deployment, "Failed")
        log_failure("chat", deployment, error, started)
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


def health_report(
    settings: Settings | None,
    problem: AppError | None,
    last_discovery: Callable[[], dict[str, Any] | None],
) -> Outcome:
    """What an operator needs to see at a glance: configuration and the last discovery's
    outcome. No secret, and no call to Azure (one registry read for the outcome)."""
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
    try:
        body["last_discovery"] = last_discovery()
    except (AppError, AzureError) as exc:
        body["last_discovery"] = None
        body["registry"] = f"unavailable ({type(exc).__name__})"
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


# --- discovery (design §7) -----------------------------------------------------------------

API_KEY_DISCOVERY_WARNING = (
    "Discovery returned 0 deployments: API-key auth cannot be used for discovery because "
    "control-plane (ARM) calls need Entra ID tokens. Switch the app's auth to AAD "
    "(AZURE_OPENAI_AUTH=aad) and grant its managed identity Reader on the Azure OpenAI resource."
)
MAX_STORED_WARNINGS = 50


@dataclass(frozen=True)
class Discoverer:
    """Lists the account's deployments and brings the job registry in line with them."""

    settings: Settings
    arm: ResourceManager | None  # None in api_key mode: ARM takes no keys
    writer: RegistryWriter

    def sync(self, trigger: str) -> Outcome:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        outcome: dict[str, Any] = {
            "status": "Success",
            "trigger": trigger,
            "started_at": started_at.isoformat(),
            "deployments": 0,
            "definitions": {job_type: 0 for job_type in discovery.PARAMETERS},
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "retired": 0,
            "unretired": 0,
            "warnings": [],
            "error": None,
        }
        status = 200
        try:
            if self.arm is None:
                outcome["warnings"].append(API_KEY_DISCOVERY_WARNING)
            else:
                deployments = self.arm.list_deployments(
                    self._require("AZURE_SUBSCRIPTION_ID", self.settings.subscription_id),
                    self._require("AZURE_RESOURCE_GROUP", self.settings.resource_group),
                    self.settings.require_account(),
                    Deadline(self.settings.run_deadline_s),
                )
                jobs, warnings = discovery.classify(deployments, self.settings.monitor_url())
                counts = self.writer.sync(jobs, started_at)
                outcome["deployments"] = len(deployments)
                for job in jobs:
                    outcome["definitions"][job.job_type] += 1
                outcome["warnings"].extend(warnings)
                outcome.update(
                    {
                        "created": counts.created,
                        "updated": counts.updated,
                        "unchanged": counts.unchanged,
                        "retired": counts.retired,
                        "unretired": counts.unretired,
                    }
                )
        except AppError as error:
            status = http_status(error)
            outcome["status"] = "Failed"
            outcome["error"] = error.body_fields()
        outcome["duration_ms"] = round(_ms_since(started))
        outcome["warnings"] = outcome["warnings"][:MAX_STORED_WARNINGS]
        self._record(outcome)
        logger.info(
            "discovery %s (%s): deployments=%d created=%d updated=%d unchanged=%d retired=%d "
            "warnings=%d error=%s duration_ms=%d",
            outcome["status"],
            trigger,
            outcome["deployments"],
            outcome["created"],
            outcome["updated"],
            outcome["unchanged"],
            outcome["retired"],
            len(outcome["warnings"]),
            (outcome["error"] or {}).get("code"),
            outcome["duration_ms"],
        )
        return Outcome(status, outcome)

    def _require(self, name: str, value: str | None) -> str:
        if not value:
            raise NotConfigured(
                f"Setting {name} is missing: discovery needs it to find the resource."
            )
        return value

    def _record(self, outcome: dict[str, Any]) -> None:
        try:
            self.writer.record_outcome(outcome)
        except (AppError, AzureError) as exc:
            logger.warning("discovery outcome not recorded: %s", type(exc).__name__)


def list_jobs(writer: RegistryWriter, job_type: str | None, include_retired: str | None) -> Outcome:
    """`GET /api/jobs`: the registry's definitions, optionally of one job type."""
    if job_type is not None and job_type not in discovery.PARAMETERS:
        raise InvalidRequest(
            "job_type must be one of: " + ", ".join(discovery.PARAMETERS),
            details=[{"field": "job_type", "problem": "unknown job type"}],
        )
    flag = (include_retired or "false").lower()
    if flag not in {"true", "false"}:
        raise InvalidRequest(
            "include_retired must be true or false.",
            details=[{"field": "include_retired", "problem": "not true or false"}],
        )
    try:
        entities = writer.entities()
    except AzureError as exc:
        raise RegistryUnavailable("The job registry (Table storage) cannot be reached.") from exc
    jobs = []
    for entity in entities:
        if job_type is not None and entity.get("JobType") != job_type:
            continue
        if entity.get("Retired") is True and flag != "true":
            continue
        jobs.append(_job_view(dict(entity)))
    jobs.sort(key=lambda job: str(job["external_id"]))
    return Outcome(200, {"count": len(jobs), "jobs": jobs})


def _job_view(entity: dict[str, Any]) -> dict[str, Any]:
    def loads(name: str) -> Any:
        try:
            return json.loads(entity.get(name) or "null")
        except ValueError:
            return entity.get(name)

    def when(name: str) -> str | None:
        value = entity.get(name)
        return value.isoformat() if isinstance(value, datetime) else value

    return {
        "external_id": entity.get("RowKey"),
        "job_type": entity.get("JobType"),
        "platform": entity.get("Platform"),
        "deployment_name": entity.get("DeploymentName"),
        "model_name": entity.get("ModelName"),
        "model_version": entity.get("ModelVersion"),
        "model_format": entity.get("ModelFormat"),
        "sku_name": entity.get("SkuName"),
        "sku_capacity": entity.get("SkuCapacity"),
        "provisioning_state": entity.get("ProvisioningState"),
        "monitor_url": entity.get("MonitorUrl"),
        "parameters": loads("Parameters"),
        "attributes": loads("Attributes"),
        "retired": entity.get("Retired") is True,
        "first_seen_at": when("FirstSeenAt"),
        "last_seen_at": when("LastSeenAt"),
        "retired_at": when("RetiredAt"),
    }
