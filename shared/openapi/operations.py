"""The HTTP contract as a table: one entry per HTTP function of `function_app`, naming its route,
method and auth level as the app declares them (a test compares the two), its request model, the
answer model of each success status, and every error it can answer (docs/contract.md).

An error's HTTP status and code come from `shared.errors` (`HTTP_STATUS`, the class's `code`); its
body is an `ErrorAnswer` unless the error carries the answer of the run it ended, named in
`error_bodies` (a failed batch's `BatchAnswer`, a failed discovery's `DiscoveryOutcome`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from shared import constants as c
from shared.discovery.classify import PARAMETERS
from shared.errors import (
    AppError,
    BatchCancelled,
    BatchExpired,
    BatchFailed,
    BatchNotFound,
    DeploymentNotFound,
    InternalError,
    InvalidDeploymentName,
    InvalidInputModel,
    InvalidJobDefinition,
    InvalidRequest,
    InvalidRunId,
    InvalidStatusLink,
    JobNotRegistered,
    NotConfigured,
    PayloadTooLarge,
    RateLimited,
    RegistryUnavailable,
    ResponseCancelled,
    ResponseFailed,
    ResponseNotFound,
    RunFailed,
    UpstreamAuthFailed,
    UpstreamBadResponse,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from shared.models import answers as a
from shared.models.requests import (
    DEPLOYMENT_NAME_PATTERN,
    BatchRunRequest,
    ChatRunRequest,
    EmbeddingRunRequest,
)
from shared.runs.ids import BATCH_ID_PATTERN, RESPONSE_ID_PATTERN

Auth = Literal["function", "admin", "anonymous"]
Body = type[BaseModel] | str  # a model, or the name of a schema of `shared.openapi.schemas`

# Route parameters, anchored: a deployment name is not `.` or `..` (docs/design.md §2).
DEPLOYMENT = rf"^(?!\.\.?$){DEPLOYMENT_NAME_PATTERN}$"
_SUFFIX = rf"(?:{c.BATCH_SUFFIX})?"
BATCH_DEPLOYMENT = rf"^(?!\.\.?{_SUFFIX}$){DEPLOYMENT_NAME_PATTERN}{_SUFFIX}$"
RUN_ID = (
    rf"^(?:{BATCH_ID_PATTERN}|{RESPONSE_ID_PATTERN}"
    rf"|(?!\.\.?#){DEPLOYMENT_NAME_PATTERN}#sync#(?:Success|Failed))$"
)


@dataclass(frozen=True)
class Parameter:
    name: str
    where: Literal["path", "query"]
    description: str
    schema: dict[str, Any]
    example: str | None = None


@dataclass(frozen=True)
class Operation:
    function: str  # the function's name in function_app
    method: Literal["get", "post"]
    route: str  # as function_app declares it, under /api
    auth: Auth
    summary: str
    description: str
    answers: Mapping[int, tuple[Body, ...]]  # success status -> its body (or the alternatives)
    errors: tuple[type[AppError], ...] = ()
    error_bodies: Mapping[type[AppError], tuple[Body, ...]] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    request: type[BaseModel] | None = None
    request_example: dict[str, Any] | None = None
    tag: str = "runs"


def _deployment(example: str, *, batch: bool = False) -> Parameter:
    return Parameter(
        "deployment",
        "path",
        "Polysync's External Id: a deployment name (letters, digits, `-`, `_`, `.`, at most 64)"
        + (", optionally followed by `::batch`." if batch else "."),
        {"type": "string", "pattern": BATCH_DEPLOYMENT if batch else DEPLOYMENT},
        example,
    )


# What every run can answer before and around its call to Azure (docs/contract.md#errors).
_RUN_ERRORS: tuple[type[AppError], ...] = (
    InvalidRequest,
    InvalidDeploymentName,
    JobNotRegistered,
    PayloadTooLarge,
    InvalidInputModel,
    UpstreamRejected,
    NotConfigured,
    InvalidJobDefinition,
    InternalError,
    RegistryUnavailable,
    UpstreamAuthFailed,
    UpstreamUnavailable,
    UpstreamBadResponse,
    RateLimited,
    UpstreamTimeout,
)
_UPSTREAM_READ_ERRORS: tuple[type[AppError], ...] = (
    UpstreamAuthFailed,
    UpstreamUnavailable,
    UpstreamBadResponse,
    RateLimited,
    UpstreamTimeout,
)
_BATCH_ENDED: tuple[type[AppError], ...] = (BatchFailed, BatchExpired, BatchCancelled)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "chat_run",
        "post",
        "chat/{deployment}",
        "function",
        "Run an Azure OpenAI Chat Completion job",
        "Calls the deployment as its model needs (Chat Completions on the classic surface or v1, "
        "or the Responses API) and answers the completion. Each optional value comes from the "
        "body, else the job's attribute in the registry; `adjustments` says what the app changed. "
        "A background run answers 202 Running with a signed `statusQueryUrl`.",
        {200: (a.ChatAnswer,), 202: (a.BackgroundAnswer,)},
        (*_RUN_ERRORS, DeploymentNotFound, ResponseFailed, ResponseCancelled),
        parameters=(_deployment("gpt-4o"),),
        request=ChatRunRequest,
        request_example={"user_prompt": "Say hello", "max_tokens": 50},
    ),
    Operation(
        "embedding_run",
        "post",
        "embeddings/{deployment}",
        "function",
        "Run an Azure OpenAI Embedding job",
        'Sends exactly `{"input"}` to the deployment and answers its vector.',
        {200: (a.EmbeddingAnswer,)},
        (*_RUN_ERRORS, DeploymentNotFound),
        parameters=(_deployment("text-embedding-3-small"),),
        request=EmbeddingRunRequest,
        request_example={"input": "The quick brown fox"},
    ),
    Operation(
        "batch_run",
        "post",
        "batches/{deployment}",
        "function",
        "Submit an Azure OpenAI Batch Job",
        "Each body field overrides the job attribute of the `{deployment}::batch` definition. "
        "Answers 202 Running with a signed `statusQueryUrl` to poll (no key needed); 422 when "
        "Azure failed the batch at once.",
        {202: (a.BatchAnswer,)},
        (*_RUN_ERRORS, UpstreamNotFound, BatchFailed),
        {BatchFailed: (a.BatchAnswer,)},
        parameters=(_deployment("gpt-4o::batch", batch=True),),
        request=BatchRunRequest,
        request_example={"endpoint": "/chat/completions", "completion_window": "24h"},
    ),
    Operation(
        "run_status",
        "get",
        "status/{run_id}",
        "anonymous",
        "Poll a run's status",
        "A synchronous run id is decoded locally, with no call to anything. A batch id is read "
        "(or a background chat run's response id, `resp_...`) is read from Azure only through "
        "the signed link its submission answered (`statusQueryUrl`): without this app's valid "
        "signature it is `401 InvalidStatusLink`.",
        {
            200: (a.SyncStatusAnswer, a.BatchAnswer, a.ChatAnswer),
            202: (a.BatchAnswer, a.BackgroundAnswer),
        },
        (
            InvalidRunId,
            InvalidDeploymentName,
            InvalidStatusLink,
            BatchNotFound,
            ResponseNotFound,
            RunFailed,
            *_BATCH_ENDED,
            ResponseFailed,
            ResponseCancelled,
            NotConfigured,
            InternalError,
            *_UPSTREAM_READ_ERRORS,
        ),
        {RunFailed: (a.SyncStatusAnswer,)} | {ended: (a.BatchAnswer,) for ended in _BATCH_ENDED},
        parameters=(
            Parameter(
                "run_id",
                "path",
                "`{deployment}#sync#Success`, `{deployment}#sync#Failed` (`#` sent as `%23`), or "
                "a batch id `batch_…`.",
                {"type": "string", "pattern": RUN_ID},
                "gpt-4o#sync#Success",
            ),
            Parameter(
                "deployment",
                "query",
                "The deployment the status link names; part of what its signature covers.",
                {"type": "string", "pattern": DEPLOYMENT},
            ),
            Parameter(
                "expires",
                "query",
                "The status link's expiry (Unix seconds), as the app signed it.",
                {"type": "string"},
            ),
            Parameter(
                "sig",
                "query",
                "The status link's signature (HMAC-SHA256, base64url), as the app signed it.",
                {"type": "string"},
            ),
        ),
    ),
    Operation(
        "discovery_run",
        "post",
        "discovery",
        "admin",
        "Discover the deployments and sync the job registry",
        "Runs the discovery the timer runs, and answers its outcome. The body, if any, is ignored. "
        "A failed discovery answers its error's status with the outcome, `status: Failed`.",
        {200: (a.DiscoveryOutcome,)},
        (
            NotConfigured,
            InternalError,
            RegistryUnavailable,
            UpstreamNotFound,
            *_UPSTREAM_READ_ERRORS,
        ),
        # A setting the app cannot read fails before the sync starts: no outcome yet.
        {NotConfigured: (a.DiscoveryOutcome, a.ErrorAnswer)}
        | {
            error: (a.DiscoveryOutcome,)
            for error in (RegistryUnavailable, UpstreamNotFound, *_UPSTREAM_READ_ERRORS)
        },
        tag="registry",
    ),
    Operation(
        "jobs_list",
        "get",
        "jobs",
        "admin",
        "List the registry's job definitions",
        "Sorted by External Id; retired definitions only with `include_retired=true`.",
        {200: (a.JobsAnswer,)},
        (InvalidRequest, NotConfigured, InternalError, RegistryUnavailable),
        parameters=(
            Parameter(
                "job_type",
                "query",
                "Only this job type, named exactly.",
                {"type": "string", "enum": list(PARAMETERS)},
            ),
            Parameter(
                "include_retired",
                "query",
                "`true` lists retired definitions too (default `false`).",
                {"type": "string", "enum": ["true", "false"]},
            ),
        ),
        tag="registry",
    ),
    Operation(
        "health",
        "get",
        "health",
        "anonymous",
        "Is the app configured?",
        "From the settings alone, with no storage or Azure call, naming nothing.",
        {200: (a.HealthAnswer,)},
        (InternalError,),
        tag="health",
    ),
    Operation(
        "health_details",
        "get",
        "health/details",
        "function",
        "The configuration and the last discovery's outcome",
        "Names missing or invalid settings (never a value) and shows the last discovery's stored "
        "outcome (error codes only); no call to Azure.",
        {200: (a.HealthDetailsAnswer, a.HealthProblemAnswer)},
        (InternalError,),
        tag="health",
    ),
    Operation(
        "openapi_document",
        "get",
        "openapi.json",
        "anonymous",
        "This OpenAPI document",
        "Generated from the app's code (`make openapi` writes the same to docs/openapi.json); "
        "reveals no setting.",
        {200: ("OpenApiDocument",)},
        (InternalError,),
        tag="health",
    ),
)
