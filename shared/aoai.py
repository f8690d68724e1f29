"""The Azure OpenAI data plane: the calls the runs make, and the errors its answers mean."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.errors import DeploymentNotFound, UpstreamError
from shared.http import AzureCaller, Deadline, UpstreamResponse, error_for_status, parse_answer
from shared.models import ChatCompletion

AUTH_HINT = (
    "Grant the Function App's managed identity the 'Cognitive Services OpenAI User' role on the "
    "Azure OpenAI resource (or check AZURE_OPENAI_API_KEY in api_key mode)."
)


class AzureOpenAI:
    def __init__(self, caller: AzureCaller, *, endpoint: str, api_version: str) -> None:
        self._caller = caller
        self._endpoint = endpoint
        self._api_version = api_version

    def deployment_url(self, deployment: str, operation: str) -> str:
        # Deployment names are validated before this, and percent-encoded anyway.
        return (
            f"{self._endpoint}/openai/deployments/{quote(deployment, safe='')}/{operation}"
            f"?api-version={quote(self._api_version, safe='')}"
        )

    def create_chat_completion(
        self, deployment: str, body: dict[str, Any], deadline: Deadline
    ) -> tuple[ChatCompletion, UpstreamResponse]:
        response = self._post(self.deployment_url(deployment, "chat/completions"), body, deadline)
        return parse_answer(ChatCompletion, response), response

    def _post(self, url: str, body: dict[str, Any], deadline: Deadline) -> UpstreamResponse:
        response = self._caller.call("POST", url, deadline, body)
        if not 200 <= response.status < 300:
            raise error_for_status(response, auth_hint=AUTH_HINT, not_found=_not_found)
        return response


def _not_found(response: UpstreamResponse, code: str | None, message: str | None) -> UpstreamError:
    return DeploymentNotFound(
        "Azure OpenAI has no deployment of this name. Re-run discovery (POST /api/discovery) and "
        "check the job's 'Deployment Name' attribute in the job registry."
        + (f" Azure said: {message}" if message and code == "DeploymentNotFound" else ""),
        upstream_status=response.status,
        request_id=response.request_id,
        upstream_code=code,
    )
