"""Pydantic models at every boundary: what Polysync sends, what Azure answers, what the
registry holds. Inbound numbers may be JSON numbers or numeric strings (design §3); booleans
are never taken for numbers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from shared import constants as c
from shared.errors import InvalidDeploymentName, InvalidJobDefinition, InvalidRequest


def _no_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


MaxTokens = Annotated[int, BeforeValidator(_no_bool), Field(ge=1)]
Temperature = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=2, allow_inf_nan=False)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """One entry per problem, naming the field; never echoing the value (it may be a prompt)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "problem": err["msg"]}
        for err in exc.errors()
    ]


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or InvalidRequest."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest(
            "The request body is not valid JSON.",
            details=[{"field": "body", "problem": "not valid JSON"}],
        ) from None
    except RecursionError:
        raise InvalidRequest(
            "The request body is nested too deeply to read; parameters are flat values.",
            details=[{"field": "body", "problem": "nested too deeply"}],
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequest(
            "The request body must be a JSON object of parameters.",
            details=[{"field": "body", "problem": f"a JSON {type(data).__name__}, not an object"}],
        )
    return data


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


RequiredText = Annotated[str, AfterValidator(_not_blank)]
# Azure's file ids and batch settings are checked here, so a typo is a clear 400 (or, in a job
# attribute, a clear InvalidJobDefinition) instead of a call to Azure. Blank counts as absent.
FileId = Annotated[
    Annotated[str, StringConstraints(pattern=r"^file-[A-Za-z0-9_-]{1,128}$")] | None,
    BeforeValidator(_blank_to_none),
]
BatchEndpoint = Annotated[
    Annotated[str, StringConstraints(pattern=r"^/[a-z0-9_./-]{1,100}$")] | None,
    BeforeValidator(_blank_to_none),
]
CompletionWindow = Annotated[
    Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,3}[hd]$")] | None,
    BeforeValidator(_blank_to_none),
]


class RunRequest(BaseModel):
    """The flat JSON parameters of a run; unknown fields are ignored (design §3)."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Self:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            details = validation_details(exc)
            fields = ", ".join(sorted({d["field"] for d in details}))
            raise InvalidRequest(f"Invalid parameters: {fields}.", details=details) from None


class ChatRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Chat Completion run (design §4)."""

    user_prompt: RequiredText
    system_prompt: OptionalText = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None


class EmbeddingRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Embedding run (design §5)."""

    input: RequiredText


class BatchRunRequest(RunRequest):
    """The parameters of an Azure OpenAI Batch Job run (design §6): each overrides its job
    attribute."""

    input_file_id: FileId = None
    endpoint: BatchEndpoint = None
    completion_window: CompletionWindow = None


# --- the job registry ----------------------------------------------------------------------


class RunAttributes(BaseModel):
    """The job attributes every run reads; values may be strings such as "256"."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    deployment_name: OptionalText = Field(None, alias=c.ATTR_DEPLOYMENT_NAME)


class ChatAttributes(RunAttributes):
    system_prompt: OptionalText = Field(None, alias=c.ATTR_SYSTEM_PROMPT)
    max_tokens: Annotated[MaxTokens | None, BeforeValidator(_blank_to_none)] = Field(
        None, alias=c.ATTR_MAX_TOKENS
    )
    temperature: Annotated[Temperature | None, BeforeValidator(_blank_to_none)] = Field(
        None, alias=c.ATTR_TEMPERATURE
    )


class BatchAttributes(RunAttributes):
    input_file_id: FileId = Field(None, alias=c.ATTR_INPUT_FILE_ID)
    endpoint: BatchEndpoint = Field(None, alias=c.ATTR_BATCH_ENDPOINT)
    completion_window: CompletionWindow = Field(None, alias=c.ATTR_COMPLETION_WINDOW)


Attributes = TypeVar("Attributes", bound=RunAttributes)


class JobDefinition(BaseModel):
    """One entity of the `JobDefinitions` table (design §7). Administrators may add entities
    by hand, so every property but the keys is optional."""

    model_config = ConfigDict(extra="ignore")

    external_id: str
    job_type: str | None = None
    deployment_name: str | None = None
    model_name: str | None = None
    retired: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> JobDefinition:
        external_id = str(entity.get("RowKey", ""))
        raw = entity.get("Attributes")
        attributes: Any = {}
        if isinstance(raw, str) and raw.strip():
            try:
                attributes = json.loads(raw)
            except ValueError:
                raise InvalidJobDefinition(
                    f"The job definition {external_id!r} has an Attributes property that is not "
                    "valid JSON; fix it in the JobDefinitions table."
                ) from None
        if not isinstance(attributes, dict):
            raise InvalidJobDefinition(
                f"The job definition {external_id!r} has Attributes that are not a JSON object."
            )
        return cls(
            external_id=external_id,
            job_type=_optional_str(entity.get("JobType")),
            deployment_name=_optional_str(entity.get("DeploymentName")),
            model_name=_optional_str(entity.get("ModelName")),
            retired=entity.get("Retired") is True,
            attributes=attributes,
        )

    def attributes_as(self, model: type[Attributes]) -> Attributes:
        """The attributes a run of this kind reads, or InvalidJobDefinition naming the bad ones."""
        try:
            return model.model_validate(self.attributes)
        except ValidationError as exc:
            names = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
            raise InvalidJobDefinition(
                f"The job definition {self.external_id!r} has invalid attributes: {names}.",
                details=validation_details(exc),
            ) from None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- Azure OpenAI answers ------------------------------------------------------------------


class _Upstream(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Upstream):
    content: str | None = None


class ChatChoice(_Upstream):
    finish_reason: str | None = None
    message: ChatMessage = Field(default_factory=ChatMessage)


class Usage(_Upstream):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


class ChatCompletion(_Upstream):
    model: str | None = None
    choices: list[ChatChoice] = Field(min_length=1)
    usage: Usage = Field(default_factory=Usage)


class EmbeddingItem(_Upstream):
    embedding: list[float] = Field(min_length=1)


class Embedding(_Upstream):
    model: str | None = None
    data: list[EmbeddingItem] = Field(min_length=1)
    usage: Usage = Field(default_factory=Usage)


def _timestamp(value: object) -> datetime | None:
    """Azure's batch timestamps: Unix seconds (the SDK samples) or ISO 8601 strings (the REST
    samples). Unreadable values count as absent rather than failing the poll."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if re.fullmatch(r"[0-9]+(\.[0-9]*)?", text):
                return datetime.fromtimestamp(float(text), UTC)
            parsed = datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, as the app answers times: `2026-11-26T00:09:55Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _batch_errors(value: object) -> list[Any]:
    """`errors` is `{"object": "list", "data": [...]}`; a bare list is taken as the data."""
    if isinstance(value, dict):
        value = value.get("data")
    return list(value) if isinstance(value, list) else []


class RequestCounts(_Upstream):
    total: int | None = None
    completed: int | None = None
    failed: int | None = None


class Batch(_Upstream):
    """A batch as `POST /openai/batches` and `GET /openai/batches/{id}` answer it."""

    id: str
    status: str
    endpoint: str | None = None
    input_file_id: str | None = None
    completion_window: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: Annotated[list[Any], BeforeValidator(_batch_errors)] = Field(default_factory=list)
    request_counts: RequestCounts | None = None  # null while the batch is validating
    created_at: Timestamp = None
    completed_at: Timestamp = None
    failed_at: Timestamp = None
    expired_at: Timestamp = None
    cancelled_at: Timestamp = None

    @property
    def state(self) -> str:
        """The status in Azure's snake case whatever its casing ("InProgress" -> in_progress)."""
        folded = self.status.strip().replace("_", "").lower()
        known = (*c.BATCH_RUNNING, c.BATCH_SUCCEEDED, *c.BATCH_FAILED)
        return next((s for s in known if s.replace("_", "") == folded), self.status.lower())

    @property
    def ended_at(self) -> datetime | None:
        return self.completed_at or self.failed_at or self.expired_at or self.cancelled_at


# --- route parameters ----------------------------------------------------------------------

DEPLOYMENT_NAME_PATTERN = rf"[A-Za-z0-9._-]{{1,{c.DEPLOYMENT_NAME_MAX_LEN}}}"
_DEPLOYMENT_NAME = re.compile(DEPLOYMENT_NAME_PATTERN)


def validate_deployment_name(value: str, *, allow_batch_suffix: bool = False) -> str:
    """The deployment name of a route parameter (letters, digits, `-`, `_`, `.`, at most 64),
    with the `::batch` suffix stripped where allowed; InvalidDeploymentName otherwise."""
    name = value
    if allow_batch_suffix and name.endswith(c.BATCH_SUFFIX):
        name = name[: -len(c.BATCH_SUFFIX)]
    if not _DEPLOYMENT_NAME.fullmatch(name) or name in {".", ".."}:
        raise InvalidDeploymentName(
            "The deployment name must be 1 to 64 letters, digits, '-', '_' or '.'"
            + (" (optionally followed by '::batch')." if allow_batch_suffix else ".")
        )
    return name


# --- ARM answers (deployments list, api-version 2023-05-01) ---------------------------------
# Tolerant by design: `sku` or the legacy `properties.scaleSettings`, `model.version` missing,
# capabilities as strings; fields we do not read are ignored.


class ArmModel(_Upstream):
    name: str | None = None
    version: str | None = None
    format: str | None = None


class ArmScaleSettings(_Upstream):
    capacity: int | None = None


class ArmSku(_Upstream):
    name: str | None = None
    capacity: int | None = None


class ArmDeploymentProperties(_Upstream):
    model: ArmModel = Field(default_factory=ArmModel)
    provisioningState: str | None = None  # noqa: N815 - ARM's name
    scaleSettings: ArmScaleSettings | None = None  # noqa: N815 - ARM's name


class ArmDeployment(_Upstream):
    name: str
    sku: ArmSku | None = None
    properties: ArmDeploymentProperties = Field(default_factory=ArmDeploymentProperties)

    @property
    def capacity(self) -> int | None:
        if self.sku is not None and self.sku.capacity is not None:
            return self.sku.capacity
        scale = self.properties.scaleSettings
        return scale.capacity if scale is not None else None


class ArmDeploymentPage(_Upstream):
    value: list[ArmDeployment]
    nextLink: str | None = None  # noqa: N815 - ARM's name
