"""The Azure OpenAI data plane: the calls the runs make, and the errors its answers mean."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from shared.clients.azure_errors import error_for_status
from shared.clients.transport import (
    Answer,
    AzureClient,
    Deadline,
    UpstreamResponse,
    parse_answer,
)
from shared.errors import BatchNotFound, DeploymentNotFound, UpstreamError, UpstreamNotFound
from shared.models.azure import Batch, ChatCompletion, Embedding

NotFound = Callable[[UpstreamResponse, str | None, str | None], UpstreamError]

AUTH_HINT = (
    "Grant the Function App's managed identity the 'Cognitive Services OpenAI User' role on the "
    "Azure OpenAI resource (or check AZURE_OPENAI_API_KEY in api_key mode)."
)


class AzureOpenAI:
    def __init__(self, caller: AzureClient, *, endpoint: str, api_version: str) -> None:
        self._caller = caller
        self._endpoint = endpoint
        self._api_version = api_version

    def deployment_url(self, deployment: str, operation: str) -> str:
        # Deployment names are validated before this, and percent-encoded anyway.
        return (
            f"{self._endpoint}/openai/deployments/{quote(deployment, safe='')}/{operation}"
            f"?api-version={quote(self._api_version, safe='')}"
        )

    def batches_url(self, batch_id: str | None = None) -> str:
        path = "" if batch_id is None else "/" + quote(batch_id, safe="")
        return (
            f"{self._endpoint}/openai/batches{path}?api-version={quote(self._api_version, safe='')}"
        )

    def create_chat_completion(
        self, deployment: str, body: dict[str, Any], deadline: Deadline
    ) -> tuple[ChatCompletion, UpstreamResponse]:
        url = self.deployment_url(deployment, "chat/completions")
        return self._call(ChatCompletion, "POST", url, deadline, body, _deployment_not_found)

    def create_embedding(
        self, deployment: str, body: dict[str, Any], deadline: Deadline
    ) -> tuple[Embedding, UpstreamResponse]:
        url = self.deployment_url(deployment, "embeddings")
        return self._call(Embedding, "POST", url, deadline, body, _deployment_not_found)

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
_no_batch_api = _not_found(
    UpstreamNotFound,
    "Azure OpenAI answered 404 to the batch submission: the endpoint has no Batch API.",
    hint="Check AZURE_OPENAI_ENDPOINT (it must be the resource's own "
    "https://{name}.openai.azure.com subdomain) and AZURE_OPENAI_API_VERSION "
    "(2024-10-21 or later).",
)
