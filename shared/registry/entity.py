"""The one schema of a `JobDefinitions` entity (docs/design.md §7), and the job attributes.

`JobEntity` is the only place the table's property names are written. Everything else derives
from it:

- `DISCOVERY_OWNED`: the properties discovery writes and rewrites (fields marked `owner=discovery`);
  everything else on an entity (`Attributes`, anything an administrator added) is carried over.
- `JobEntity.owned_properties()`: what discovery writes for one deployment.
- `JobEntity.definition()`: what a run reads (the reader).
- `JobEntity.view()`: what `GET /api/jobs` shows, the fields' Python names in snake case.

Administrators may add or edit entities by hand, so every property but the keys is optional and
a value of an unexpected type is shown as stored rather than failing the listing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shared import constants as c
from shared.errors import InvalidJobDefinition
from shared.families import ModelProfile
from shared.models.requests import (
    BatchEndpoint,
    CompletionWindow,
    Effort,
    FileId,
    Flag,
    MaxTokens,
    OptionalText,
    Temperature,
    blank_to_none,
    validation_details,
)

PLATFORM: Final = "Azure OpenAI"
_DISCOVERY: Final[dict[str, Any]] = {"owner": "discovery"}


def _owned(alias: str) -> Any:
    return Field(None, alias=alias, json_schema_extra=_DISCOVERY)


class JobEntity(BaseModel):
    """One entity of the registry table, property by property (aliases are the table's names).

    `Parameters` and `Attributes` are stored as JSON text; they are kept here as that text and
    decoded by `view()` and `definition()`."""

    model_config = ConfigDict(
        populate_by_name=True, extra="ignore", arbitrary_types_allowed=True, defer_build=True
    )

    external_id: str = Field(alias="RowKey")
    job_type: Any = _owned("JobType")
    platform: Any = _owned("Platform")
    deployment_name: Any = _owned("DeploymentName")
    model_name: Any = _owned("ModelName")
    model_version: Any = _owned("ModelVersion")
    model_format: Any = _owned("ModelFormat")
    sku_name: Any = _owned("SkuName")
    sku_capacity: Any = _owned("SkuCapacity")
    provisioning_state: Any = _owned("ProvisioningState")
    capabilities: Any = _owned("Capabilities")  # ARM's, as read (JSON text)
    model_profile: Any = _owned("ModelProfile")  # how a chat job calls the model (JSON text)
    monitor_url: Any = _owned("MonitorUrl")
    parameters: Any = _owned("Parameters")
    attributes: Any = Field(None, alias="Attributes")  # the administrator's: never rewritten
    retired: Any = _owned("Retired")
    first_seen_at: Any = Field(None, alias="FirstSeenAt")  # written once, at creation
    last_seen_at: Any = _owned("LastSeenAt")
    retired_at: Any = _owned("RetiredAt")

    @classmethod
    def from_table(cls, entity: dict[str, Any]) -> JobEntity:
        return cls.model_validate({"RowKey": str(entity.get("RowKey", ""))} | _known(entity))

    @property
    def is_retired(self) -> bool:
        return self.retired is True

    def owned_properties(self) -> dict[str, Any]:
        """The discovery-owned properties that have a value, by table name, plus `ExternalId`
        (discovery also writes the External Id as a property of its own)."""
        values = self.model_dump(by_alias=True, include=set(OWNED_FIELDS), exclude_none=True)
        return {"ExternalId": self.external_id} | values

    def view(self) -> dict[str, Any]:
        """The entity as `GET /api/jobs` shows it: snake-case names, JSON properties decoded,
        times in ISO 8601, `retired` a boolean."""
        view = self.model_dump(by_alias=False)
        for name in ("parameters", "attributes", "capabilities", "model_profile"):
            view[name] = _decoded(getattr(self, name))
        view["retired"] = self.is_retired
        for name in ("first_seen_at", "last_seen_at", "retired_at"):
            value = view[name]
            view[name] = value.isoformat() if isinstance(value, datetime) else value
        return view

    def definition(self) -> JobDefinition:
        """What a run reads; InvalidJobDefinition when `Attributes` is not a JSON object."""
        attributes: Any = {}
        raw = self.attributes
        if isinstance(raw, str) and raw.strip():
            try:
                attributes = json.loads(raw)
            except ValueError:
                raise InvalidJobDefinition(
                    f"The job definition {self.external_id!r} has an Attributes property that is "
                    "not valid JSON; fix it in the JobDefinitions table."
                ) from None
        if not isinstance(attributes, dict):
            raise InvalidJobDefinition(
                f"The job definition {self.external_id!r} has Attributes that are not a JSON "
                "object."
            )
        return JobDefinition(
            external_id=self.external_id,
            job_type=_text(self.job_type),
            deployment_name=_text(self.deployment_name),
            model_name=_text(self.model_name),
            retired=self.is_retired,
            attributes=attributes,
            capabilities=_object(self.capabilities),
            profile=ModelProfile.from_dict(_object(self.model_profile)),
        )


OWNED_FIELDS: Final = frozenset(
    name for name, field in JobEntity.model_fields.items() if field.json_schema_extra == _DISCOVERY
)
DISCOVERY_OWNED: Final = frozenset(
    {"ExternalId"} | {str(JobEntity.model_fields[name].alias) for name in OWNED_FIELDS}
)
_TABLE_NAMES: Final = frozenset(str(f.alias) for f in JobEntity.model_fields.values())


def _known(entity: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in entity.items() if name in _TABLE_NAMES}


def _decoded(value: Any) -> Any:
    try:
        return json.loads(value or "null")
    except (TypeError, ValueError):
        return value


def _object(value: Any) -> dict[str, Any]:
    decoded = _decoded(value)
    return decoded if isinstance(decoded, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- what a run reads -----------------------------------------------------------------------


class JobDefinition(BaseModel):
    """A definition as a run reads it: its job type, model and attributes."""

    model_config = ConfigDict(extra="ignore")

    external_id: str
    job_type: str | None = None
    deployment_name: str | None = None
    model_name: str | None = None
    retired: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)
    capabilities: dict[str, Any] = Field(default_factory=dict)
    profile: ModelProfile | None = None  # what discovery recorded

    @classmethod
    def from_entity(cls, entity: dict[str, Any]) -> JobDefinition:
        return JobEntity.from_table(entity).definition()

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


def _false_if_blank(value: object) -> object:
    return False if blank_to_none(value) is None else value


class RunAttributes(BaseModel):
    """The job attributes every run reads; values may be strings such as "256"."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    deployment_name: OptionalText = Field(None, alias=c.ATTR_DEPLOYMENT_NAME)


class ChatAttributes(RunAttributes):
    system_prompt: OptionalText = Field(None, alias=c.ATTR_SYSTEM_PROMPT)
    max_tokens: Annotated[MaxTokens | None, BeforeValidator(blank_to_none)] = Field(
        None, alias=c.ATTR_MAX_TOKENS
    )
    temperature: Annotated[Temperature | None, BeforeValidator(blank_to_none)] = Field(
        None, alias=c.ATTR_TEMPERATURE
    )
    max_tokens_limit: Annotated[MaxTokens | None, BeforeValidator(blank_to_none)] = Field(
        None, alias=c.ATTR_MAX_TOKENS_LIMIT
    )
    system_prompt_locked: Annotated[bool, BeforeValidator(_false_if_blank)] = Field(
        False, alias=c.ATTR_SYSTEM_PROMPT_LOCKED
    )
    reasoning_effort: Annotated[Effort | None, BeforeValidator(blank_to_none)] = Field(
        None, alias=c.ATTR_REASONING_EFFORT
    )
    background: Annotated[Flag | None, BeforeValidator(blank_to_none)] = Field(
        None, alias=c.ATTR_BACKGROUND
    )


class BatchAttributes(RunAttributes):
    input_file_id: FileId = Field(None, alias=c.ATTR_INPUT_FILE_ID)
    endpoint: BatchEndpoint = Field(None, alias=c.ATTR_BATCH_ENDPOINT)
    completion_window: CompletionWindow = Field(None, alias=c.ATTR_COMPLETION_WINDOW)


Attributes = TypeVar("Attributes", bound=RunAttributes)
