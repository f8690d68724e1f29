"""A run's inputs: its parameters (size and shape checked), its job's attributes from the registry
(the job type checked against the deployment), and the deployment it calls (docs/design.md §3,
§7)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared import constants as c
from shared.clients.transport import Deadline
from shared.errors import (
    AppError,
    InvalidInputModel,
    InvalidJobDefinition,
    JobNotRegistered,
    PayloadTooLarge,
)
from shared.models.requests import RunRequest, parse_json_object, validate_deployment_name
from shared.registry.entity import Attributes, JobDefinition, RunAttributes
from shared.registry.reader import JobRegistry
from shared.runs.context import RunContext
from shared.settings import Settings
from shared.wiring import Services

Params = TypeVar("Params", bound=RunRequest)


@dataclass(frozen=True)
class JobSpec(Generic[Params, Attributes]):
    """What one kind of job reads: its request model, its attribute model, its job type, and
    whether its definition is the `{deployment}::batch` one."""

    request: type[Params]
    attributes: type[Attributes]
    job_type: str
    batch_suffix: bool = False


@dataclass(frozen=True)
class RunInputs(Generic[Params, Attributes]):
    params: Params
    attributes: Attributes
    deployment: str  # the deployment the run calls
    definition: JobDefinition | None  # what the registry says of the model, if anything


@dataclass(frozen=True)
class ReadyRun(Generic[Params, Attributes]):
    """A run ready to call Azure: the process's services, its deadline, its inputs."""

    app: Services
    deadline: Deadline
    job: RunInputs[Params, Attributes]


def ready_run(
    run: RunContext,
    body: bytes,
    spec: JobSpec[Params, Attributes],
    services: Callable[[], Services],
) -> ReadyRun[Params, Attributes]:
    """The services (a missing setting fails the run here), the run's deadline from now, and
    its inputs. Call inside `run.failures()`."""
    app = services()
    deadline = Deadline(app.settings.run_deadline_s)
    job = read_inputs(run, body, app.registry, spec, app.settings)
    return ReadyRun(app, deadline, job)


def read_inputs(
    run: RunContext,
    body: bytes,
    registry: JobRegistry,
    spec: JobSpec[Params, Attributes],
    settings: Settings,
) -> RunInputs[Params, Attributes]:
    """The run's inputs; records the deployment it calls in `run`."""
    external_id = run.deployment or ""
    limit = settings.max_request_bytes
    if len(body) > limit:
        raise PayloadTooLarge(
            f"The request body has {len(body)} bytes; the limit is {limit} (MAX_REQUEST_BYTES)."
        )
    params = spec.request.parse(parse_json_object(body))
    attributes, definition = job_attributes(
        registry, external_id, spec, settings.require_registered_jobs
    )
    run.deployment = called_deployment(attributes, external_id)
    run.describe()
    return RunInputs(params, attributes, run.deployment, definition)


def job_attributes(
    registry: JobRegistry,
    deployment: str,
    spec: JobSpec[Params, Attributes],
    require_registered: bool = False,
) -> tuple[Attributes, JobDefinition | None]:
    """The run's job attributes from the registry, after checking the job type fits the
    deployment (InvalidInputModel otherwise). A batch job's definition is `{d}::batch`; when
    there is none, the deployment's own definition still says what model it is.

    With `REQUIRE_REGISTERED_JOBS`, a job whose definition is absent or retired does not run.
    Returns the attributes and the definition that says what model the deployment serves."""
    suffix = c.BATCH_SUFFIX if spec.batch_suffix else ""
    definition = registry.find(deployment + suffix)
    if require_registered and (definition is None or definition.retired):
        raise JobNotRegistered(
            f"The job {deployment + suffix!r} has no live definition in the job registry, and "
            "this app runs registered jobs only (REQUIRE_REGISTERED_JOBS).",
            hint="Run discovery (POST /api/discovery) after creating the deployment, or add the "
            "definition to the JobDefinitions table.",
        )
    if definition is None and spec.batch_suffix:
        own = registry.find(deployment)
        check_job_type(own, spec.job_type)
        return spec.attributes(), own
    if definition is None:
        return spec.attributes(), None
    check_job_type(definition, spec.job_type)
    return definition.attributes_as(spec.attributes), definition


def check_job_type(definition: JobDefinition | None, job_type: str) -> None:
    """InvalidInputModel when the registry says this deployment serves another kind of model:
    an embedding model for a chat or batch job, a chat model for an embedding job."""
    if definition is None:
        return
    profile = definition.profile
    if profile is not None and profile.api == "none" and job_type != c.JOB_TYPE_EMBEDDING:
        model = definition.model_name or "per the job registry"
        can = ", ".join(k for k, v in definition.capabilities.items() if str(v).lower() == "true")
        raise InvalidInputModel(
            f"The deployment {definition.external_id!r} serves {model}, a model with no chat "
            f"surface ({profile.kind}; it can: {can or 'nothing a chat job uses'}); a job of type "
            f"{job_type!r} cannot run on it."
        )
    if definition.job_type is None:
        return
    embedding_model = definition.job_type == c.JOB_TYPE_EMBEDDING
    if embedding_model == (job_type == c.JOB_TYPE_EMBEDDING):
        return
    model = definition.model_name or "per the job registry"
    if embedding_model:
        raise InvalidInputModel(
            f"The deployment {definition.external_id!r} serves an embedding model ({model}); "
            f"a job of type {job_type!r} cannot run on it. Use the Azure OpenAI Embedding job "
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
