"""Validated app settings (docs/design.md §9), read from the environment (app settings in
Azure).

Nothing here is read at import time: `load_settings` runs once per process, on the first call
that needs the settings (`shared.wiring`), so a missing setting fails that call with
`NotConfigured` naming it and never breaks the host's indexing of `function_app.py`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from shared import constants as c
from shared.errors import NotConfigured


def _https_unless_loopback(url: AnyHttpUrl) -> AnyHttpUrl:
    """Bearer tokens and keys travel to these URLs: `https://`, except to this machine (the
    local stack and the tests)."""
    if url.scheme != "https" and not is_loopback_host(url.host or ""):
        raise ValueError("must be https:// (http:// only for a loopback host)")
    return url


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1 (with or without brackets)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


SecureUrl = Annotated[AnyHttpUrl, AfterValidator(_https_unless_loopback)]
# A status link secret: long enough that its HMAC cannot be guessed (`openssl rand -base64 48`).
LinkSecret = Annotated[str, StringConstraints(min_length=c.STATUS_LINK_SECRET_MIN_LEN)]
# Azure's rule for account names (ARM spec `accountNameParameter`).
AccountName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$")]
TableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$")]


class Settings(BaseModel):
    """The app's settings; every field is named after its app setting."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    account: AccountName | None = Field(None, alias="AZURE_OPENAI_ACCOUNT")
    endpoint_override: SecureUrl | None = Field(None, alias="AZURE_OPENAI_ENDPOINT")
    api_version: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z.-]{1,40}$")] = Field(
        c.DEFAULT_API_VERSION, alias="AZURE_OPENAI_API_VERSION"
    )
    auth: Literal["aad", "api_key"] = Field("aad", alias="AZURE_OPENAI_AUTH")
    api_key: str | None = Field(None, alias="AZURE_OPENAI_API_KEY", repr=False)
    client_id: str | None = Field(None, alias="AZURE_CLIENT_ID")
    subscription_id: str | None = Field(None, alias="AZURE_SUBSCRIPTION_ID")
    resource_group: str | None = Field(None, alias="AZURE_RESOURCE_GROUP")
    arm_endpoint: SecureUrl = Field(
        AnyHttpUrl(c.DEFAULT_ARM_ENDPOINT), alias="AZURE_RESOURCE_MANAGER_ENDPOINT"
    )
    aoai_scope: str = Field(c.DEFAULT_AOAI_SCOPE, alias="AZURE_OPENAI_SCOPE")
    storage_connection: str | None = Field(None, alias="AzureWebJobsStorage", repr=False)
    storage_table_uri: SecureUrl | None = Field(None, alias="AzureWebJobsStorage__tableServiceUri")
    job_definitions_table: TableName = Field(
        c.DEFAULT_JOB_DEFINITIONS_TABLE, alias="JOB_DEFINITIONS_TABLE"
    )
    max_request_bytes: int = Field(c.DEFAULT_MAX_REQUEST_BYTES, ge=1, alias="MAX_REQUEST_BYTES")
    read_timeout_s: float = Field(c.DEFAULT_READ_TIMEOUT_S, gt=0, le=230, alias="AOAI_TIMEOUT_S")
    run_deadline_s: float = Field(c.DEFAULT_RUN_DEADLINE_S, gt=0, lt=230, alias="RUN_DEADLINE_S")
    max_attempts: int = Field(c.DEFAULT_MAX_ATTEMPTS, ge=1, le=10, alias="AOAI_MAX_ATTEMPTS")
    backoff_initial_s: float = Field(
        c.BACKOFF_INITIAL_S, ge=0, le=c.BACKOFF_MAX_S, alias="AOAI_BACKOFF_S"
    )
    registry_cache_ttl_s: float = Field(
        c.REGISTRY_CACHE_TTL_S, ge=0, le=3600, alias="REGISTRY_CACHE_TTL_S"
    )
    # The app's public base URL (scheme and host) for statusQueryUrl, when callers reach it
    # through a gateway or custom domain; by default https://{WEBSITE_HOSTNAME}.
    public_base_url: SecureUrl | None = Field(None, alias="PUBLIC_BASE_URL")
    website_hostname: str | None = Field(None, alias="WEBSITE_HOSTNAME")  # set by App Service
    status_link_secret: LinkSecret | None = Field(None, alias="STATUS_LINK_SECRET", repr=False)
    status_link_previous_secret: LinkSecret | None = Field(
        None, alias="STATUS_LINK_PREVIOUS_SECRET", repr=False
    )
    require_registered_jobs: bool = Field(False, alias="REQUIRE_REGISTERED_JOBS")
    # Telemetry (shared/telemetry): each of the two turns it on; the exporters read the rest of
    # their configuration (OTEL_*, APPLICATIONINSIGHTS_AUTHENTICATION_STRING) themselves.
    appinsights_connection_string: str | None = Field(
        None, alias="APPLICATIONINSIGHTS_CONNECTION_STRING", repr=False
    )
    otlp_endpoint: str | None = Field(None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")

    @field_validator("auth", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def openai_endpoint(self) -> str:
        """The data-plane base URL, without a trailing slash."""
        if self.endpoint_override is not None:
            return str(self.endpoint_override).rstrip("/")
        return f"https://{self.require_account()}.openai.azure.com"

    @property
    def public_base(self) -> str | None:
        return str(self.public_base_url).rstrip("/") if self.public_base_url else None

    @property
    def arm_base(self) -> str:
        return str(self.arm_endpoint).rstrip("/")

    @property
    def arm_scope(self) -> str:
        return f"{self.arm_base}/.default"

    @property
    def telemetry_exporters(self) -> tuple[str, ...]:
        """Where telemetry goes: Application Insights, an OTLP endpoint, both, or nowhere."""
        return tuple(
            name
            for name, on in (
                ("Azure Monitor", self.appinsights_connection_string),
                ("OTLP", self.otlp_endpoint),
            )
            if on
        )

    def require_account(self) -> str:
        if not self.account:
            raise NotConfigured(
                "Setting AZURE_OPENAI_ACCOUNT is missing: set it to the Azure OpenAI resource name."
            )
        return self.account

    def link_secrets(self) -> tuple[str, ...]:
        """The status link secrets, current first (NotConfigured without one)."""
        if not self.status_link_secret:
            raise NotConfigured(
                "Setting STATUS_LINK_SECRET is missing: batch runs answer a signed status link "
                "and cannot start without it (at least 32 characters, e.g. "
                "`openssl rand -base64 48`)."
            )
        previous = self.status_link_previous_secret
        return (self.status_link_secret, previous) if previous else (self.status_link_secret,)

    def require_api_key(self) -> str:
        if not self.api_key:
            raise NotConfigured(
                "Setting AZURE_OPENAI_API_KEY is missing: it is required when "
                "AZURE_OPENAI_AUTH is api_key."
            )
        return self.api_key

    def monitor_url(self) -> str | None:
        """The portal page of the resource, when subscription and resource group are set."""
        if not (self.account and self.subscription_id and self.resource_group):
            return None
        return c.PORTAL_MONITOR_URL.format(
            subscription=self.subscription_id,
            resource_group=self.resource_group,
            account=self.account,
        )

    def missing(self) -> list[str]:
        """Settings a complete deployment needs that are not set (`/api/health` says
        not_configured; `/api/health/details` names them)."""
        needed = {
            "AZURE_OPENAI_ACCOUNT": self.account,
            "AzureWebJobsStorage": self.storage_connection or self.storage_table_uri,
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "AZURE_RESOURCE_GROUP": self.resource_group,
            "STATUS_LINK_SECRET": self.status_link_secret,
        }
        if self.auth == "api_key":
            needed["AZURE_OPENAI_API_KEY"] = self.api_key
        return [name for name, value in needed.items() if not value]


# The environment variables the app's objects depend on: the settings above, and the managed
# identity endpoint that azure-identity reads itself.
IDENTITY_VARIABLES: tuple[str, ...] = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
)
SETTING_NAMES: tuple[str, ...] = (
    *(str(field.alias) for field in Settings.model_fields.values()),
    *IDENTITY_VARIABLES,
)


def load_settings(env: Mapping[str, str]) -> Settings:
    """Validate the settings found in `env`; blank values count as unset.

    Raises NotConfigured naming every invalid setting (never its value: it may be a secret).
    """
    present = {name: value.strip() for name, value in env.items() if value and value.strip()}
    try:
        return Settings.model_validate(present)
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]})
        raise NotConfigured(
            "Invalid app settings: " + ", ".join(names) + ". See docs/settings.md.",
            details=[
                {"setting": str(err["loc"][0]), "problem": err["msg"]}
                for err in exc.errors()
                if err["loc"]
            ],
        ) from None
