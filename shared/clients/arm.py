"""Azure Resource Manager: the Azure OpenAI account's deployments list (docs/design.md §7).

ARM errors come as `{"error": {"code", "message"}}`; the codes that mean "fix the identity,
the role or the settings" become errors with a hint saying which.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from shared import constants as c
from shared.clients.azure_errors import error_for_status
from shared.clients.transport import (
    AzureClient,
    Deadline,
    UpstreamResponse,
    parse_answer,
)
from shared.errors import UpstreamBadResponse, UpstreamError, UpstreamNotFound
from shared.models.azure import ArmDeployment, ArmDeploymentPage

AUTH_HINTS = {
    "AuthorizationFailed": (
        "Grant the Function App's managed identity 'Reader' (or 'Cognitive Services OpenAI "
        "User') on the Azure OpenAI resource."
    ),
    "AuthenticationFailed": (
        "ARM did not get a valid Entra ID token: check the Function App's managed identity (and "
        "AZURE_CLIENT_ID for a user-assigned one)."
    ),
    "InvalidAuthenticationToken": (
        "ARM refused the token: check the managed identity and that "
        "AZURE_RESOURCE_MANAGER_ENDPOINT is the ARM endpoint of your cloud (the token audience)."
    ),
}
NOT_FOUND_HINT = (
    "Check AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and AZURE_OPENAI_ACCOUNT: they must name "
    "the Azure OpenAI resource."
)


class ResourceManager:
    def __init__(self, caller: AzureClient, *, base_url: str) -> None:
        self._caller = caller
        self._base_url = base_url

    def deployments_url(self, subscription: str, resource_group: str, account: str) -> str:
        return (
            f"{self._base_url}/subscriptions/{quote(subscription, safe='')}"
            f"/resourceGroups/{quote(resource_group, safe='')}"
            f"/providers/Microsoft.CognitiveServices/accounts/{quote(account, safe='')}"
            f"/deployments?api-version={c.ARM_DEPLOYMENTS_API_VERSION}"
        )

    def list_deployments(
        self, subscription: str, resource_group: str, account: str, deadline: Deadline
    ) -> list[ArmDeployment]:
        """Every deployment, following `nextLink` exactly as given until it is absent. Raises
        on any failed page: a partial listing is never returned."""
        url: str | None = self.deployments_url(subscription, resource_group, account)
        deployments: list[ArmDeployment] = []
        seen: set[str] = set()
        while url is not None:
            if url in seen or len(seen) >= c.ARM_MAX_PAGES:
                raise UpstreamBadResponse("ARM's nextLink chain does not end.")
            seen.add(url)
            page = parse_answer(ArmDeploymentPage, self._get(url, deadline))
            deployments.extend(page.value)
            url = self._checked_next_link(page.nextLink)
        return deployments

    def _checked_next_link(self, link: str | None) -> str | None:
        # The ARM token goes wherever nextLink points: only ever to the configured ARM host.
        if not link:
            return None
        base, target = urlsplit(self._base_url), urlsplit(link)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise UpstreamBadResponse(
                "ARM's nextLink points outside the Resource Manager endpoint."
            )
        return link

    def _get(self, url: str, deadline: Deadline) -> UpstreamResponse:
        response = self._caller.call("GET", url, deadline)
        if 200 <= response.status < 300:
            return response
        error = error_for_status(response, auth_hint="", not_found=_not_found)
        error.hint = error.hint or _auth_hint(error.upstream_code)
        raise error


def _auth_hint(code: str | None) -> str | None:
    for prefix, hint in AUTH_HINTS.items():
        if code and code.startswith(prefix):
            return hint
    return None


def _not_found(response: UpstreamResponse, code: str | None, message: str | None) -> UpstreamError:
    return UpstreamNotFound(
        message or "ARM found no such Azure OpenAI resource.",
        hint=NOT_FOUND_HINT,
        **response.error_context(code),
    )
