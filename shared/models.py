"""Pydantic models at every boundary: what Polysync sends, what Azure answers, what the
registry holds. Inbound numbers may be JSON numbers or numeric strings (design §3); booleans
are never taken for numbers."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
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
    if not isinstance(data, dict):
        raise InvalidRequest(
            "The request body must be a JSON object of parameters.",
            details=[{"field": "body", "problem": f"a JSON {type(data).__name__}, not an object"}],
        )
    return data


class ChatRunRequest(BaseModel):
    """The parameters of an Azure OpenAI Chat Completion run (design §4)."""

    model_config = ConfigDict(extra="ignore")

    user_prompt: str
    system_prompt: OptionalText = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None

    @field_validator("user_prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ChatRunRequest:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            details = validation_details(exc)
            fields = ", ".join(sorted({d["field"] for d in details}))
            raise InvalidRequest(f"Invalid parameters: {fields}.", details=details) from None


# --- the job registry ----------------------------------------------------------------------


class ChatAttributes(BaseModel):
    """The job attributes a chat run reads; values may be strings such as "256"."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    deployment_name: OptionalText = Field(None, alias=c.ATTR_DEPLOYMENT_NAME)
    system_prompt: OptionalText = Field(None, alias=c.ATTR_SYSTEM_PROMPT)
    max_tokens: Annotated[MaxTokens | None, BeforeValidator(_blank_to_none)] = Field(
        None, alias=c.ATTR_MAX_TOKENS
    )
    temperature: Annotated[Temperature | None, BeforeValidator(_blank_to_none)] = Field(
        None, alias=c.ATTR_TEMPERATURE
    )


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

    def chat_attributes(self) -> ChatAttributes:
        try:
            return ChatAttributes.model_validate(self.attributes)
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
