"""Azure Resource Manager: the account's deployments, paged by ``arm_page_size`` with an absolute
``nextLink``.

    GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/
        accounts/{account}/deployments?api-version=2023-05-01[&$skipToken=...]

Each entry's ``properties.capabilities`` are its model family's (families.py: chatCompletion,
responses, assistants, maxContextToken, maxOutputToken; embeddings and embeddingsMaxInputs;
imageGenerations; audio), or the deployment's own ``capabilities``.

It needs a Bearer token this simulator issued for https://management.azure.com or
https://management.core.windows.net (or for the simulator's own URL, which is what the app asks
for when ARM's endpoint is pointed at it). ARM matches path segments and query parameter names
case-insensitively.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import quote, urlsplit

from local.simulator.errors import Reject, azure_error
from local.simulator.identity import Identity
from local.simulator.models import Deployment, RecordedRequest
from local.simulator.responses import JSON_TYPE, Response, json_response
from local.simulator.routing import Route, route
from local.simulator.state import State

ARM_PREFIX = "/subscriptions"  # a path under it is an ARM request (case-insensitive)
ARM_API_VERSION = "2023-05-01"
ARM_DEPLOYMENTS_PATH = (
    r"(?i)/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.CognitiveServices/accounts/(?P<account>[^/]+)/deployments"
)
# Token audiences ARM accepts, compared without a trailing slash and case-insensitively.
ARM_AUDIENCES = ("https://management.core.windows.net", "https://management.azure.com")
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "rg-local"
DEFAULT_ACCOUNT = "local-aoai"
DEFAULT_ARM_PAGE_SIZE = 50
ARM_DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
ARM_CREATED_AT = "2025-01-10T10:00:00Z"
ARM_READS_REMAINING = "249"
SKIP_TOKEN_PARAM = "$skipToken"
SKIP_TOKEN_PREFIX = "sim-offset:"

ARM_AUTH_MISSING = "Authentication failed. The 'Authorization' header is missing."
ARM_AUTH_INVALID_HEADER = (
    "Authentication failed. The 'Authorization' header is provided in an invalid format."
)
ARM_TOKEN_INVALID = "The access token is invalid."
ARM_WRONG_AUDIENCE = (
    "The access token has been obtained for wrong audience or resource '{audience}'. It should "
    "exactly match with one of the allowed audiences 'https://management.core.windows.net/',"
    "'https://management.core.windows.net','https://management.azure.com/',"
    "'https://management.azure.com'."
)
ARM_MISSING_API_VERSION = (
    "The api-version query parameter (?api-version=) is required for all requests."
)
ARM_SUBSCRIPTION_NOT_FOUND = "The subscription '{subscription}' could not be found."
ARM_RESOURCE_GROUP_NOT_FOUND = "Resource group '{resource_group}' could not be found."
ARM_ACCOUNT_NOT_FOUND = (
    "The Resource 'Microsoft.CognitiveServices/accounts/{account}' under resource group "
    "'{resource_group}' was not found. For more details please go to "
    "https://aka.ms/ARMResourceNotFoundFix"
)
ARM_INVALID_SKIP_TOKEN = "The skip token '{token}' is not valid."


def is_arm_path(path: str) -> bool:
    return path.lower() == ARM_PREFIX or path.lower().startswith(ARM_PREFIX + "/")


class Arm:
    def __init__(self, state: State, identity: Identity) -> None:
        self._state = state
        self._identity = identity

    def routes(self) -> tuple[Route, ...]:
        return (route("GET", ARM_DEPLOYMENTS_PATH, self._list_deployments, self._guard),)

    def deployments_url(self) -> str:
        """The deployments listing of the configured account, without the query."""
        state = self._state
        return (
            f"{state.url}/subscriptions/{state.subscription_id}/resourceGroups/"
            f"{state.resource_group}/providers/Microsoft.CognitiveServices/accounts/"
            f"{state.account}/deployments"
        )

    def _guard(self, request: RecordedRequest) -> None:
        # Authentication comes first: ARM answers 401 before looking at anything else.
        self._authorize(request)
        if not _query_param(request, "api-version"):
            raise Reject(azure_error(400, "MissingApiVersionParameter", ARM_MISSING_API_VERSION))

    def _authorize(self, request: RecordedRequest) -> None:
        # ARM knows only Entra ID tokens: an api-key header counts for nothing.
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise Reject(azure_error(401, "AuthenticationFailed", ARM_AUTH_MISSING))
        parts = authorization.split()
        if len(parts) != 2 or parts[0].lower() != "bearer":
            code = "AuthenticationFailedInvalidHeader"
            raise Reject(azure_error(401, code, ARM_AUTH_INVALID_HEADER))
        audience = self._identity.audience(parts[1])
        if audience is None:
            raise Reject(azure_error(401, "InvalidAuthenticationToken", ARM_TOKEN_INVALID))
        # The app asks for `{AZURE_RESOURCE_MANAGER_ENDPOINT}/.default`; pointed at the
        # simulator, that is this server's own URL, which it accepts like ARM's own audiences.
        if audience.rstrip("/").lower() not in (*ARM_AUDIENCES, self._state.url.lower()):
            message = ARM_WRONG_AUDIENCE.format(audience=audience)
            raise Reject(azure_error(401, "InvalidAuthenticationTokenAudience", message))

    def _list_deployments(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        state = self._state
        subscription, resource_group = params["subscription"], params["resource_group"]
        account = params["account"]
        if subscription.lower() != state.subscription_id.lower():
            message = ARM_SUBSCRIPTION_NOT_FOUND.format(subscription=subscription)
            raise Reject(azure_error(404, "SubscriptionNotFound", message))
        if resource_group.lower() != state.resource_group.lower():
            message = ARM_RESOURCE_GROUP_NOT_FOUND.format(resource_group=resource_group)
            raise Reject(azure_error(404, "ResourceGroupNotFound", message))
        if account.lower() != state.account.lower():
            message = ARM_ACCOUNT_NOT_FOUND.format(account=account, resource_group=resource_group)
            raise Reject(azure_error(404, "ResourceNotFound", message))
        offset = _skip_offset(_query_param(request, SKIP_TOKEN_PARAM))
        deployments, page_size = state.deployments, state.arm_page_size
        page = deployments[offset : offset + page_size]
        body: dict[str, Any] = {"value": [self._entry(d) for d in page]}
        if offset + page_size < len(deployments):
            body["nextLink"] = self._next_link(request, offset + page_size)
        return json_response(200, body)

    def _entry(self, deployment: Deployment) -> dict[str, Any]:
        model: dict[str, Any] = {"format": "OpenAI"}
        if deployment.model:
            model["name"] = deployment.model
        if not deployment.omit_version:
            model["version"] = deployment.version
        properties: dict[str, Any] = {"model": model}
        if deployment.legacy_scale_settings:
            properties["scaleSettings"] = {"scaleType": "Manual", "capacity": deployment.capacity}
        capabilities = deployment.capabilities
        properties |= {
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
            "capabilities": dict(
                deployment.family.capabilities() if capabilities is None else capabilities
            ),
            "raiPolicyName": "Microsoft.DefaultV2",
            "provisioningState": deployment.provisioning_state,
        }
        state = self._state
        account_id = (
            f"/subscriptions/{state.subscription_id}/resourceGroups/{state.resource_group}"
            f"/providers/Microsoft.CognitiveServices/accounts/{state.account}"
        )
        entry: dict[str, Any] = {
            "id": f"{account_id}/deployments/{deployment.name}",
            "name": deployment.name,
            "type": ARM_DEPLOYMENT_TYPE,
        }
        if not deployment.legacy_scale_settings:
            entry["sku"] = {"name": deployment.sku_name, "capacity": deployment.capacity}
        # The etag changes whenever the deployment does, like ARM's.
        digest = hashlib.sha256(json.dumps(asdict(deployment), sort_keys=True).encode())
        entry |= {
            "systemData": {"createdAt": ARM_CREATED_AT, "createdByType": "User"},
            "etag": f'"{digest.hexdigest()[:32]}"',
            "properties": properties,
        }
        return entry

    def _next_link(self, request: RecordedRequest, offset: int) -> str:
        # Absolute, on the host the client called (what a client checks nextLink against), with
        # the caller's api-version.
        host = request.headers.get("host") or urlsplit(self._state.url).netloc
        api_version = quote(_query_param(request, "api-version") or ARM_API_VERSION, safe="")
        query = f"api-version={api_version}&{SKIP_TOKEN_PARAM}={_skip_token(offset)}"
        return f"http://{host}{request.raw_path}?{query}"


def with_arm_headers(response: Response, request: RecordedRequest) -> Response:
    """The answer with the headers every ARM answer carries (its own win)."""
    common = {
        "content-type": JSON_TYPE,
        "x-ms-request-id": str(uuid.uuid4()),
        # ARM echoes the caller's correlation id and makes one up otherwise.
        "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
        or str(uuid.uuid4()),
        "x-ms-ratelimit-remaining-subscription-reads": ARM_READS_REMAINING,
    }
    return replace(response, headers={**common, **response.headers})


def _query_param(request: RecordedRequest, name: str) -> str | None:
    # ARM treats query parameter names case-insensitively ($skiptoken, Api-Version).
    wanted = name.lower()
    return next((v for k, v in request.query.items() if k.lower() == wanted), None)


def _skip_token(offset: int) -> str:
    # Opaque to clients; url-safe base64 without padding needs no escaping in a nextLink.
    raw = (SKIP_TOKEN_PREFIX + str(offset)).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _skip_offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        match = re.fullmatch(re.escape(SKIP_TOKEN_PREFIX) + r"([0-9]{1,9})", raw.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        match = None
    if not token or match is None:
        message = ARM_INVALID_SKIP_TOKEN.format(token=token)
        raise Reject(azure_error(400, "InvalidSkipToken", message))
    return int(match.group(1))
