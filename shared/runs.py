"""The use-cases behind the HTTP functions: a chat run, a status poll, the health report.

Each takes what it needs as arguments (`Runner` holds the process-wide clients) and returns an
`Outcome` (HTTP status and JSON body) or raises an error of `shared.errors`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

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
    UpstreamBadResponse,
    UpstreamError,
    http_status,
)
from shared.http import Deadline, UpstreamResponse
from shared.models import (
    Attributes,
    Batch,
    BatchAttributes,
    BatchRunRequest,
    ChatAttributes,
    ChatRunRequest,
    EmbeddingRunRequest,
    JobDefinition,
    RunAttributes,
    RunRequest,
    iso_utc,
    parse_json_object,
    validate_deployment_name,
)
from shared.registry import JobRegistry, RegistryWriter, SyncCounts
from shared.settings import Settings
from shared.status import (
    BatchRun,
    Caller,
    SyncOutcome,
    is_batch_id,
    parse_run_id,
    sync_run_id,
)

logger = logging.getLogger(__name__)

Params = TypeVar("Params", bound=RunRequest)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RunLog:
    """One run's bookkeeping: what it is, the deployment it calls (the registry may change it
    mid-run), when it started. `failures()` gives an error its run id and logs the one failure
    line every failed run gets (run id, deployment, code, Azure's status and request id)."""

    kind: str  # "chat", "embedding", "batch", "batch status"
    deployment: str | None
    run_id: str | None = None  # a failure's run id; None for a sync run: `{d}#sync#Failed`
    sync: bool = True
    started: float = field(default_factory=time.monotonic)

    @contextmanager
    def failures(self) -> Iterator[Self]:
        try:
            yield self
        except AppError as error:
            if error.run_id is None:
                error.run_id = self.failed_run_id()
            answered = error.answered() if isinstance(error, UpstreamError) else {}
            log_failed(
                self.kind,
                error.run_id,
                self.deployment,
                error.code,
                answered.get("upstream_status"),
                answered.get("request_id"),
                self.started,
            )
            raise

    def failed_run_id(self) -> str | None:
        return self._run_id("Failed")

    def succeeded_run_id(self) -> str | None:
        return self._run_id("Success")

    def _run_id(self, outcome: SyncOutcome) -> str | None:
        if self.sync and self.deployment is not None:
            return sync_run_id(self.deployment, outcome)
        return self.run_id


@dataclass(frozen=True)
class Runner:
    """What the runs need, built once per process by `shared.wiring`."""

    settings: Settings
    aoai: AzureOpenAI
    registry: JobRegistry

    def chat(self, run: RunLog, body: bytes) -> Outcome:
        """Run an Azure OpenAI Chat Completion job (design §4) for a validated External Id."""
        deadline = Deadline(self.settings.run_deadline_s)
        with run.failures():
            params, attributes, deployment = self._inputs(
                run, body, ChatRunRequest, ChatAttributes, c.JOB_TYPE_CHAT
            )
            completion, response = self.aoai.create_chat_completion(
                deployment, chat_request_body(params, attributes), deadline
            )
        choice = completion.choices[0]
        log_success(
            run,
            response,
            finish_reason=choice.finish_reason,
            total_tokens=completion.usage.total_tokens,
        )
        return self._succeeded(
            deployment,
            completion.model,
            response,
            {
                "response": choice.message.content or "",
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
                "total_tokens": completion.usage.total_tokens,
                "finish_reason": choice.finish_reason,
            },
        )

    def embedding(self, run: RunLog, body: bytes) -> Outcome:
        """Run an Azure OpenAI Embedding job (design §5) for a validated External Id."""
        deadline = Deadline(self.settings.run_deadline_s)
        with run.failures():
            params, _, deployment = self._inputs(
                run, body, EmbeddingRunRequest, RunAttributes, c.JOB_TYPE_EMBEDDING
            )
            embedding, response = self.aoai.create_embedding(
                deployment, {"input": params.input}, deadline
            )
        vector = embedding.data[0].embedding
        log_success(
            run, response, dimensions=len(vector), total_tokens=embedding.usage.total_tokens
        )
        return self._succeeded(
            deployment,
            embedding.model,
            response,
            {
                "embedding": vector,
                "prompt_tokens": embedding.usage.prompt_tokens,
                "total_tokens": embedding.usage.total_tokens,
            },
        )

    def _succeeded(
        self,
        deployment: str,
        model: str | None,
        response: UpstreamResponse,
        outputs: dict[str, Any],
    ) -> Outcome:
        """A synchronous run's 200: its run id and status, the job's outputs (top-level, as
        Polysync reads them), then what was called and Azure's request id."""
        return Outcome(
            200,
            {
                "run_id": sync_run_id(deployment, "Success"),
                "status": "Success",
                **outputs,
                "deployment": deployment,
                "model": model,
                "request_id": response.request_id,
                "monitor_url": self.settings.monitor_url(),
            },
        )

    def batch(self, run: RunLog, body: bytes, caller: Caller) -> Outcome:
        """Submit an Azure OpenAI Batch Job (design §6) for a validated deployment name (the
        `::batch` suffix already stripped); answers 202 Running with a statusQueryUrl."""
        deadline = Deadline(self.settings.run_deadline_s)
        with run.failures():
            params, attributes, _ = self._inputs(
                run, body, BatchRunRequest, BatchAttributes, c.JOB_TYPE_BATCH, batch_suffix=True
            )
            batch, response = self.aoai.create_batch(
                batch_request_body(params, attributes), deadline
            )
            run.run_id = batch.id
            if not is_batch_id(batch.id):
                raise UpstreamBadResponse(
                    "Azure created a batch whose id this app cannot poll; find it in the portal.",
                    **response.error_fields(),
                )
        return self._batch_outcome(run, batch, response, caller)

    def batch_status(self, run: RunLog, caller: Caller) -> Outcome:
        """Poll a batch (design §6): Running, Success or Failed as Azure's status says."""
        deadline = Deadline(self.settings.run_deadline_s)
        with run.failures():
            batch, response = self.aoai.get_batch(str(run.run_id), deadline)
        return self._batch_outcome(run, batch, response, caller)

    def _inputs(
        self,
        run: RunLog,
        body: bytes,
        request: type[Params],
        attributes: type[Attributes],
        job_type: str,
        *,
        batch_suffix: bool = False,
    ) -> tuple[Params, Attributes, str]:
        """A run's parameters (size and shape checked), its job attributes (the job type checked
        against the registry) and the deployment it calls (`Deployment Name` applied)."""
        external_id = run.deployment or ""
        check_size(body, self.settings.max_request_bytes)
        params = request.parse(parse_json_object(body))
        found = self._attributes(external_id, attributes, job_type, batch_suffix=batch_suffix)
        run.deployment = deployment = called_deployment(found, external_id)
        return params, found, deployment

    def _attributes(
        self,
        deployment: str,
        model: type[Attributes],
        job_type: str,
        *,
        batch_suffix: bool = False,
    ) -> Attributes:
        """The run's job attributes from the registry, after checking the job type fits the
        deployment (InvalidInputModel otherwise). A batch job's definition is `{d}::batch`;
        when there is none, the deployment's own definition still says what model it is."""
        definition = self.registry.find(deployment + c.BATCH_SUFFIX if batch_suffix else deployment)
        if definition is None and batch_suffix:
            found = self.registry.find(deployment)
            check_job_type(found, job_type)
            return model()
        if definition is None:
            return model()
        check_job_type(definition, job_type)
        return definition.attributes_as(model)

    def _batch_outcome(
        self, run: RunLog, batch: Batch, response: UpstreamResponse, caller: Caller
    ) -> Outcome:
        """The answer for a batch as Azure reported it, logged: a failure line for a batch that
        ended failed, expired or cancelled (even one that failed at submission), else a
        success line."""
        outcome = self._batch_answer(batch, response, caller, run.deployment)
        if outcome.status < 400:
            log_success(run, response, batch_status=batch.state)
            return outcome
        code = outcome.body["error"]["code"]
        log_failed(
            "batch",
            batch.id,
            run.deployment,
            code,
            response.status,
            response.request_id,
            run.started,
            batch_status=batch.state,
        )
        return outcome

    def _batch_answer(
        self, batch: Batch, response: UpstreamResponse, caller: Caller, deployment: str | None
    ) -> Outcome:
        state = batch.state
        counts = batch.request_counts
        body: dict[str, Any] = {
            "run_id": batch.id,
            "status": "Running",
            "batch_status": state,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "request_counts_total": counts.total if counts else None,
            "request_counts_completed": counts.completed if counts else None,
            "request_counts_failed": counts.failed if counts else None,
            "start_time": iso_utc(batch.created_at),
            "end_time": iso_utc(batch.ended_at),
            "input_file_id": batch.input_file_id,
            "endpoint": batch.endpoint,
            "completion_window": batch.completion_window,
            "deployment": deployment,
            "mode": "batch",
            "request_id": response.request_id,
            "monitor_url": self.settings.monitor_url(),
        }
        if state == c.BATCH_SUCCEEDED:
            body["status"] = "Success"
            return Outcome(200, body)
        if state in c.BATCH_FAILED:
            body["status"] = "Failed"
            body["error"] = {
                "code": BATCH_FAILURE_CODES[state],
                "message": f"The batch ended {state}; Azure's errors are in `errors`.",
                "errors": batch.errors[: c.MAX_BATCH_ERRORS],
            }
            return Outcome(422, body)
        if state not in c.BATCH_RUNNING:
            # A status this app does not know yet: keep polling rather than fail a live batch.
            logger.warning("batch %s has an unknown status %r; reported Running", batch.id, state)
        body["statusQueryUrl"] = caller.status_query_url(
            batch.id, deployment, self.settings.public_base
        )
        return Outcome(202, body)


BATCH_FAILURE_CODES = {
    "failed": "BatchFailed",
    "expired": "BatchExpired",
    "cancelled": "BatchCancelled",
}


def ready_runner(run: RunLog, runner: Callable[[], Runner]) -> Runner:
    """The process's Runner; a missing setting fails (and is logged as) this run."""
    with run.failures():
        return runner()


def chat(external_id: str, body: bytes, runner: Callable[[], Runner]) -> Outcome:
    """`POST /api/chat/{deployment}`: the name is validated before anything else happens."""
    run = RunLog("chat", validate_deployment_name(external_id))
    return ready_runner(run, runner).chat(run, body)


def embedding(external_id: str, body: bytes, runner: Callable[[], Runner]) -> Outcome:
    """`POST /api/embeddings/{deployment}`."""
    run = RunLog("embedding", validate_deployment_name(external_id))
    return ready_runner(run, runner).embedding(run, body)


def batch(external_id: str, body: bytes, caller: Caller, runner: Callable[[], Runner]) -> Outcome:
    """`POST /api/batches/{deployment}`: `{deployment}` may carry the `::batch` suffix."""
    deployment = validate_deployment_name(external_id, allow_batch_suffix=True)
    run = RunLog("batch", deployment, sync=False)
    return ready_runner(run, runner).batch(run, body, caller)


def check_size(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The request body has {len(body)} bytes; the limit is {limit} (MAX_REQUEST_BYTES)."
        )


def check_job_type(definition: JobDefinition | None, job_type: str) -> None:
    """InvalidInputModel when the registry says this deployment serves another kind of model:
    an embedding model for a chat or batch job, a chat model for an embedding job."""
    if definition is None or definition.job_type is None:
        return
    embedding_model = definition.job_type == c.JOB_TYPE_EMBEDDING
    if embedding_model == (job_type == c.JOB_TYPE_EMBEDDING):
        return
    model = definition.model_name or "per the job registry"
    if embedding_model:
        raise InvalidInputModel(
            f"The deployment {definition.external_id!r} serves an embedding model ({model}); "
            f"an {job_type} job cannot run on it. Use the Azure OpenAI Embedding job "
            "(POST /api/embeddings/{deployment})."
        )
    raise InvalidInputModel(
        f"The deployment {definition.external_id!r} is not an embedding model ({model}); an "
        "Azure OpenAI Embedding job cannot run on it. Use the Chat Completion job "
        "(POST /api/chat/{deployment})."
    )


def called_deployment(attributes: RunAttributes, external_id: str) -> str:
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


def run_status(
    run_id: str, deployment: str | None, caller: Caller, runner: Callable[[], Runner]
) -> Outcome:
    """`GET /api/status/{run_id}[?deployment=...]` (design §6): a sync run id is decoded locally
    with no call to Azure; a batch id is polled. `deployment` is what our own statusQueryUrl
    carries, for the answer and the logs."""
    run = parse_run_id(run_id)
    if isinstance(run, BatchRun):
        named = None if deployment is None else validate_deployment_name(deployment)
        poll = RunLog("batch status", named, run_id=run.batch_id, sync=False)
        return ready_runner(poll, runner).batch_status(poll, caller)
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


def log_failed(
    kind: str,
    run_id: str | None,
    deployment: str | None,
    code: str,
    upstream_status: int | None,
    request_id: str | None,
    started: float,
    **facts: object,
) -> None:
    """The one warning line every failed run gets: its ids, the code, Azure's status and
    request id, and facts that are never content (a batch status)."""
    extra = "".join(f" {name}={value}" for name, value in facts.items())
    logger.warning(
        "%s run failed: run_id=%s deployment=%s code=%s%s upstream_status=%s request_id=%s "
        "duration_ms=%.0f",
        kind,
        run_id,
        deployment,
        code,
        extra,
        upstream_status,
        request_id,
        _ms_since(started),
    )


def log_success(run: RunLog, response: UpstreamResponse, **facts: object) -> None:
    """One line per successful run: ids, Azure's answer, timing, and a few facts that are never
    content (a finish reason, a token count, a vector length, a batch status)."""
    extra = "".join(f" {name}={value}" for name, value in facts.items())
    logger.info(
        "%s run succeeded: run_id=%s deployment=%s upstream_status=%d request_id=%s attempts=%d"
        "%s duration_ms=%.0f",
        run.kind,
        run.succeeded_run_id(),
        run.deployment,
        response.status,
        response.request_id,
        response.attempts,
        extra,
        _ms_since(run.started),
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
            **asdict(SyncCounts()),
            "warnings": [],
            "error": None,
        }
        status, headers = 200, {}
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
                counts = self._write(jobs, started_at)
                outcome["deployments"] = len(deployments)
                for job in jobs:
                    outcome["definitions"][job.job_type] += 1
                outcome["warnings"].extend(warnings)
                outcome.update(asdict(counts))
        except AppError as error:
            status = http_status(error)
            if error.retry_after_s:
                headers["Retry-After"] = str(error.retry_after_s)
            outcome["status"] = "Failed"
            outcome["error"] = error.body_fields()
            if isinstance(error, UpstreamError):
                outcome["error"].update(error.answered())
        outcome["duration_ms"] = round(_ms_since(started))
        outcome["warnings"] = outcome["warnings"][:MAX_STORED_WARNINGS]
        self._record(outcome)
        failed = outcome["error"] or {}
        logger.log(
            logging.WARNING if failed else logging.INFO,
            "discovery %s (%s): account=%s deployments=%d created=%d updated=%d unchanged=%d "
            "retired=%d warnings=%d error=%s upstream_status=%s request_id=%s duration_ms=%d",
            outcome["status"],
            trigger,
            self.settings.account,
            outcome["deployments"],
            outcome["created"],
            outcome["updated"],
            outcome["unchanged"],
            outcome["retired"],
            len(outcome["warnings"]),
            failed.get("code"),
            failed.get("upstream_status"),
            failed.get("request_id"),
            outcome["duration_ms"],
        )
        return Outcome(status, outcome, headers)

    def _write(self, jobs: list[discovery.DiscoveredJob], now: datetime) -> SyncCounts:
        try:
            return self.writer.sync(jobs, now)
        except AzureError as exc:
            raise RegistryUnavailable(
                f"The job registry (Table storage) failed during the sync ({type(exc).__name__}); "
                "definitions already written are whole, and the next sync completes the work."
            ) from exc

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
    problems = []
    if job_type is not None and job_type not in discovery.PARAMETERS:
        problems.append(
            (
                "job_type must be one of: " + ", ".join(discovery.PARAMETERS),
                "job_type",
                "unknown job type",
            )
        )
    flag = (include_retired or "false").lower()
    if flag not in {"true", "false"}:
        problems.append(
            ("include_retired must be true or false.", "include_retired", "not true or false")
        )
    if problems:
        raise InvalidRequest(
            " ".join(message for message, _, _ in problems),
            details=[{"field": name, "problem": problem} for _, name, problem in problems],
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
