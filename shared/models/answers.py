"""What the app answers: one pydantic model per answer (docs/design.md §3).

Polysync reads top-level fields by name, so these field names are the contract; `docs/contract.md`
describes them and the tests compare whole bodies. A job's outputs (the fields Polysync maps to
output parameters) are models of their own, `ChatOutputs`, `EmbeddingOutputs`, `BatchOutputs`:
discovery declares each job type's output parameters from them (`shared.discovery.classify`).

Field order in a body: the run head (`run_id`, `status`), the outputs, then what was called. A key
listed in `OMIT_IF_NONE` is left out of the body when it has no value (it exists only in some
states: `statusQueryUrl` while running, `error` when failed); every other key is always present,
`null` when Azure did not say.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

RunState = Literal["Success", "Failed", "Running"]
SERVICE = "polysync-azure-openai-functions"


class Answer(BaseModel):
    """A JSON answer body."""

    # defer_build: a model builds its validator on first use, so a cold start pays only for the
    # answers its first call makes (docs/design.md §11)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
    OMIT_IF_NONE: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", by_alias=True)
        return {k: v for k, v in data.items() if v is not None or k not in self.OMIT_IF_NONE}


class ErrorObject(BaseModel):
    """The `error` object: a stable code, a message that never quotes a prompt, and what helps
    (field `details`, Azure's `upstream_code`, a `hint`, Azure's content-filter results or a
    batch's `errors`)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    code: str
    message: str
    details: list[dict[str, Any]] | None = None
    upstream_code: str | None = None
    hint: str | None = None

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Only the keys that have a value: `details`, `upstream_code`, `hint` are optional."""
        return {k: v for k, v in handler(self).items() if v is not None}


class RunHead(Answer):
    run_id: str | None
    status: RunState


class CalledTail(Answer):
    """What a synchronous run called, and where to look in the portal: `api` is the
    api-version of the classic surface, or `v1`."""

    deployment: str
    model: str | None
    api: str
    request_id: str | None
    monitor_url: str | None


class ChatOutputs(Answer):
    response: str = Field(description="choices[0].message.content")
    prompt_tokens: int | None = Field(description="usage.prompt_tokens")
    completion_tokens: int | None = Field(description="usage.completion_tokens")
    total_tokens: int | None = Field(description="usage.total_tokens")
    finish_reason: str | None = Field(description="choices[0].finish_reason")
    reasoning_tokens: int | None = Field(
        description="usage.completion_tokens_details.reasoning_tokens (Responses API: "
        "usage.output_tokens_details.reasoning_tokens)"
    )
    cached_tokens: int | None = Field(
        description="usage.prompt_tokens_details.cached_tokens (Responses API: "
        "usage.input_tokens_details.cached_tokens)"
    )


class EmbeddingOutputs(Answer):
    embedding: list[float] = Field(description="data[0].embedding")
    prompt_tokens: int | None = Field(description="usage.prompt_tokens")
    total_tokens: int | None = Field(description="usage.total_tokens")


class Adjustment(BaseModel):
    """A change the app made to what the run asked for, and why (never content)."""

    parameter: str
    action: str
    to: Any = None
    reason: str

    @model_serializer(mode="wrap")
    def _present(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class ChatChanges(Answer):
    adjustments: list[Adjustment] = Field(default_factory=list)


class ChatAnswer(ChatChanges, CalledTail, ChatOutputs, RunHead):
    """`POST /api/chat/{deployment}`: 200 Success; also a background run's poll once Azure
    completed it (`run_id` is then Azure's response id)."""


class BackgroundAnswer(ChatChanges, RunHead):
    """A chat run in the Responses API's background mode, while Azure works on it: 202 Running
    with `statusQueryUrl` (signed, as for batches)."""

    response_status: str
    deployment: str | None
    model: str | None
    api: str = "v1"
    request_id: str | None
    monitor_url: str | None
    status_query_url: str | None = Field(None, alias="statusQueryUrl")


class EmbeddingAnswer(CalledTail, EmbeddingOutputs, RunHead):
    """`POST /api/embeddings/{deployment}`: 200 Success."""


class BatchState(Answer):
    batch_status: str


class BatchOutputs(Answer):
    output_file_id: str | None = Field(description="The batch's output file.")
    error_file_id: str | None = Field(description="The batch's error file.")
    request_counts_total: int | None = Field(description="request_counts.total")
    request_counts_completed: int | None = Field(description="request_counts.completed")
    request_counts_failed: int | None = Field(description="request_counts.failed")


class BatchTail(Answer):
    start_time: str | None
    end_time: str | None
    input_file_id: str | None
    endpoint: str | None
    completion_window: str | None
    deployment: str | None
    mode: Literal["batch"] = "batch"
    api: str | None = None
    request_id: str | None
    monitor_url: str | None
    status_query_url: str | None = Field(None, alias="statusQueryUrl")
    error: ErrorObject | None = None


class BatchAnswer(BatchTail, BatchOutputs, BatchState, RunHead):
    """A batch submission or poll: 202 Running (with `statusQueryUrl`), 200 Success, or 422
    with `error` when Azure ended it failed, expired or cancelled."""

    OMIT_IF_NONE = frozenset({"statusQueryUrl", "error"})


class SyncStatusAnswer(RunHead):
    """`GET /api/status/{deployment}#sync#...`: decoded from the id, no call to Azure."""

    OMIT_IF_NONE = frozenset({"error"})

    deployment: str
    mode: Literal["sync"] = "sync"
    error: ErrorObject | None = None


class ErrorAnswer(RunHead):
    """Every failed call whose error needs no other fields: the run id (`{d}#sync#Failed`, a
    batch id, or null), `Failed`, the error, and Azure's status and request id when it
    answered."""

    OMIT_IF_NONE = frozenset({"upstream_status", "request_id"})

    error: ErrorObject
    upstream_status: int | None = None
    request_id: str | None = None


class SyncCounts(Answer):
    """What a discovery sync did to the registry's definitions."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    unretired: int = 0


class DiscoveryHead(Answer):
    status: Literal["Success", "Failed"] = "Success"
    trigger: str
    started_at: str
    deployments: int = 0
    definitions: dict[str, int]


class DiscoveryTail(Answer):
    warnings: list[str] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    duration_ms: int | None = None


class DiscoveryOutcome(DiscoveryTail, SyncCounts, DiscoveryHead):
    """`POST /api/discovery` and the timer's outcome, also stored for `/api/health/details`."""


class JobsAnswer(Answer):
    """`GET /api/jobs`: the registry's definitions (views of `shared.registry.entity.JobEntity`)."""

    count: int
    jobs: list[dict[str, Any]]


class HealthAnswer(Answer):
    """`GET /api/health` (anonymous): from the settings alone."""

    status: Literal["ok", "not_configured"]


class HealthDetailsAnswer(Answer):
    """`GET /api/health/details`: configuration and the last discovery's outcome; no secret."""

    OMIT_IF_NONE = frozenset({"registry"})

    status: Literal["ok", "not_configured"]
    service: str = SERVICE
    account: str | None
    auth: str
    api_version: str
    job_definitions_table: str
    missing_settings: list[str]
    last_discovery: dict[str, Any] | None
    registry: str | None = None


class HealthProblemAnswer(Answer):
    """`GET /api/health/details` when the settings cannot be read: which setting is wrong."""

    status: Literal["not_configured"] = "not_configured"
    service: str = SERVICE
    problem: dict[str, Any] | None
