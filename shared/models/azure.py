"""What Azure answers: the Azure OpenAI data plane (chat, embeddings, batches) and ARM's
deployments list. Tolerant by design: fields the app does not read are ignored, and the
variants Azure is known to answer (casing, timestamp formats, the legacy ARM shapes) are read."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared import constants as c


class _Upstream(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)  # built on first use


class ChatMessage(_Upstream):
    content: str | None = None


class ChatChoice(_Upstream):
    finish_reason: str | None = None
    message: ChatMessage = Field(default_factory=ChatMessage)


class TokenDetails(_Upstream):
    reasoning_tokens: int | None = None
    cached_tokens: int | None = None


class Usage(_Upstream):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: TokenDetails | None = None
    completion_tokens_details: TokenDetails | None = None


class ChatCompletion(_Upstream):
    id: str | None = None
    model: str | None = None
    choices: list[ChatChoice] = Field(min_length=1)
    usage: Usage = Field(default_factory=Usage)


def _list_or_empty(value: object) -> object:
    return [] if value is None else value


class ResponseContent(_Upstream):
    type: str | None = None
    text: str | None = None


class ResponseItem(_Upstream):
    type: str | None = None
    content: Annotated[list[ResponseContent], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )


class ResponseUsage(_Upstream):
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: TokenDetails | None = None
    output_tokens_details: TokenDetails | None = None


class ResponseError(_Upstream):
    code: str | None = None
    message: str | None = None


class IncompleteDetails(_Upstream):
    reason: str | None = None


class Response(_Upstream):
    """A response of the Responses API (`POST /openai/v1/responses`, `GET .../{id}`)."""

    id: str
    status: str
    model: str | None = None
    output: Annotated[list[ResponseItem], BeforeValidator(_list_or_empty)] = Field(
        default_factory=list
    )
    usage: ResponseUsage | None = None
    incomplete_details: IncompleteDetails | None = None
    error: ResponseError | None = None

    @property
    def text(self) -> str:
        """The concatenated `output_text` parts of the `message` items."""
        return "".join(
            part.text or ""
            for item in self.output
            if item.type == "message"
            for part in item.content
            if part.type == "output_text"
        )


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
    """`errors` is `{"object": "list", "data": [...]}` as the service answers; Azure's 2024-10-21
    authoring spec (`BatchErrors`) documents `data` as a single error object, and a bare list is
    taken as the data: all three are read."""
    if isinstance(value, dict):
        value = value.get("data")
    if isinstance(value, dict):
        return [value]
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


# --- ARM answers (deployments list, api-version 2023-05-01) ---------------------------------
# `sku` or the legacy `properties.scaleSettings`, `model.version` missing, capabilities as
# strings.


class ArmModel(_Upstream):
    name: str | None = None
    version: str | None = None
    format: str | None = None


class ArmScaleSettings(_Upstream):
    capacity: int | None = None


class ArmSku(_Upstream):
    name: str | None = None
    capacity: int | None = None


def _dict_or_empty(value: object) -> object:
    return value if isinstance(value, dict) else {}


class ArmDeploymentProperties(_Upstream):
    model: ArmModel = Field(default_factory=ArmModel)
    # string flags such as {"chatCompletion": "true", "maxOutputToken": "16384"}; not a
    # documented contract, so read as whatever ARM sent (`shared.families` reads it defensively)
    capabilities: Annotated[dict[str, Any], BeforeValidator(_dict_or_empty)] = Field(
        default_factory=dict
    )
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
