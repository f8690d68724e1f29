"""The Azure OpenAI data plane: the calls the runs make, and the errors its answers mean."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

from shared import constants as c
from shared.clients.azure_errors import error_for_status
from shared.clients.transport import (
    Answer,
    AzureClient,
    Deadline,
    UpstreamResponse,
    parse_answer,
)
from shared.errors import (
    BatchNotFound,
    DeploymentNotFound,
    ResponseNotFound,
    UpstreamError,
    UpstreamNotFound,
)
from shared.models.azure import Batch, ChatCompletion, Embedding, Response

NotFound = Callable[[UpstreamResponse, str | None, str | None], UpstreamError]

AUTH_HINT = (
    "Grant the Function App's managed identity the 'Cognitive Services OpenAI User' role on the "
    "Azure OpenAI resource (or check AZURE_OPENAI_API_KEY in api_key mode)."
)


V1: Final = "v1"


class AzureOpenAI:
    """The data plane on two surfaces: the classic one (`/openai/deployments/{d}/...` with an
    api-version) and the v1 API (`/openai/v1/...`, no api-version, the deployment in the body's
    `model`). `AZURE_OPENAI_API_VERSION=v1` puts chat and embedding runs on v1; the Responses
    API exists only on v1."""

    def __init__(self, caller: AzureClient, *, endpoint: str, api_version: str) -> None:
        self._caller = caller
        self._endpoint = endpoint
        self._api_version = api_version

    @property
    def api_version(self) -> str:
        """The configured surface: an api-version, or `v1`."""
        return self._api_version

    def v1_url(self, operation: str) -> str:
        return f"{self._endpoint}/openai/v1/{operation}"

    def deployment_url(self, deployment: str, operation: str) -> str:
        # Deployment names are validated before this, and percent-encoded anyway.
        return (
            f"{self._endpoint}/openai/deployments/{quote(deployment, safe='')}/{operation}"
            f"?api-version={quote(self._api_version, safe='')}"
        )

    @property
    def batch_api_version(self) -> str:
        """Batches stay on the classic surface (the v1 API's batches are not confirmed): the
        configured api-version, or the default one when the setting is `v1`."""
        return c.DEFAULT_API_VERSION if self._api_version == V1 else self._api_version

    def batches_url(self, batch_id: str | None = None) -> str:
        path = "" if batch_id is None else "/" + quote(batch_id, safe="")
        version = quote(self.batch_api_version, safe="")
        return f"{self._endpoint}/openai/batches{path}?api-version={version}"

    def create_chat_completion(
        self, deployment: str, body: dict[str, Any], deadline: Deadline, *, v1: bool = False
    ) -> tuple[ChatCompletion, UpstreamResponse]:
        """On v1 when `v1` says (the chat plan decides, the setting included), else classic."""
        return self._post_to(ChatCompletion, "chat/completions", deployment, body, deadline, v1)

    def create_embedding(
        self, deployment: str, body: dict[str, Any], deadline: Deadline
    ) -> tuple[Embedding, UpstreamResponse]:
        """On v1 when the setting says v1, else classic."""
        v1 = self._api_version == V1
        return self._post_to(Embedding, "embeddings", deployment, body, deadline, v1)

    def _post_to(
        self,
        model: type[Answer],
        operation: str,
        deployment: str,
        body: dict[str, Any],
        deadline: Deadline,
        v1: bool,
    ) -> tuple[Answer, UpstreamResponse]:
        """A deployment's operation: on v1 the deployment goes in the body's `model`."""
        if v1:
            url, body = self.v1_url(operation), {"model": deployment} | body
        else:
            url = self.deployment_url(deployment, operation)
        return self._call(model, "POST", url, deadline, body, _deployment_not_found)

    def create_response(
        self, deployment: str, body: dict[str, Any], deadline: Deadline
    ) -> tuple[Response, UpstreamResponse]:
        """`POST /openai/v1/responses` (the Responses API; background mode when the body says)."""
        url, body = self.v1_url("responses"), {"model": deployment} | body
        return self._call(Response, "POST", url, deadline, body, _deployment_not_found)

    def get_response(
        self, response_id: str, deadline: Deadline
    ) -> tuple[Response, UpstreamResponse]:
        url = self.v1_url(f"responses/{quote(response_id, safe='')}")
        return self._call(Response, "GET", url, deadline, None, _response_not_found)

    def create_batch(
        self, body: dict[str, Any], deadline: Deadline
    ) -> tuple[Batch, UpstreamResponse]:
        return self._call(Batch, "POST", self.batches_url(), deadline, body, _no_batch_api)

    def get_batch(self, batch_id: str, deadline: Deadline) -> tuple[Batch, UpstreamResponse]:
        url = self.batches_url(batch_id)
        return self._call(Batch, "GET", url, deadline, None, _batch_not_found)

    def _call(
        self,
        model: type[Answer],
        method: str,
        url: str,
        deadline: Deadline,
        body: dict[str, Any] | None,
        not_found: NotFound,
    ) -> tuple[Answer, UpstreamResponse]:
        """One call: Azure's answer read as `model`, or our error for its status."""
        response = self._caller.call(method, url, deadline, body)
        if not 200 <= response.status < 300:
            raise error_for_status(response, auth_hint=AUTH_HINT, not_found=not_found)
        return parse_answer(model, response), response


def _not_found(
    error: type[UpstreamError],
    message: str,
    *,
    quote_code: str | None = None,
    hint: str | None = None,
) -> NotFound:
    """How a 404 of one kind of call reads: our error class and advice, with Azure's status,
    request id and code (and its message, when its code is `quote_code`)."""

    def build(response: UpstreamResponse, code: str | None, said: str | None) -> UpstreamError:
        quoted = f" Azure said: {said}" if said and quote_code and code == quote_code else ""
        return error(message + quoted, hint=hint, **response.error_context(code))

    return build


_deployment_not_found = _not_found(
    DeploymentNotFound,
    "Azure OpenAI has no deployment of this name. Re-run discovery (POST /api/discovery) and "
    "check the job's 'Deployment Name' attribute in the job registry.",
    quote_code="DeploymentNotFound",
)
_batch_not_found = _not_found(
    BatchNotFound,
    "Azure OpenAI has no batch of this id on this resource (it may belong to another resource, "
    "or have been deleted).",
)
_response_not_found = _not_found(
    ResponseNotFound,
    "Azure OpenAI has no response of this id on this resource (it may belong to another "
    "resource, or have been deleted).",
)
_no_batch_api = _not_found(
    UpstreamNotFound,
    "Azure OpenAI answered 404 to the batch submission: the endpoint has no Batch API.",
    hint="Check AZURE_OPENAI_ENDPOINT (it must be the resource's own "
    "https://{name}.openai.azure.com subdomain) and AZURE_OPENAI_API_VERSION "
    "(2024-10-21 or later).",
)
