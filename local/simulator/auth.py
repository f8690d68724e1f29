"""The data plane's gate, run before every Azure OpenAI route (chat, embeddings, files,
batches, responses): an api-version (except on the v1 paths), then an api-key or a Bearer token
for Cognitive Services. On the v1 paths the api-key may also come as a Bearer token, which is
how the openai SDK's ``OpenAI(base_url=".../openai/v1/", api_key=...)`` sends it."""

from __future__ import annotations

from local.simulator.errors import Reject, azure_error, identity_error, resource_not_found
from local.simulator.identity import COGNITIVE_SERVICES_AUDIENCE, Identity
from local.simulator.models import RecordedRequest
from local.simulator.state import State

BEARER_REJECTED = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
KEY_REJECTED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
    "provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)


class DataPlaneGuard:
    def __init__(self, state: State, identity: Identity, *, v1: bool = False) -> None:
        self._state = state
        self._identity = identity
        self._v1 = v1

    def __call__(self, request: RecordedRequest) -> None:
        # Without api-version the gateway cannot route the call, so it answers 404 before auth.
        if not self._v1 and not request.query.get("api-version"):
            raise Reject(resource_not_found())
        self._authorize(request)

    def _authorize(self, request: RecordedRequest) -> None:
        key = request.headers.get("api-key")
        authorization = request.headers.get("authorization")
        # Azure checks an api-key first and asks for one when no credential is sent at all.
        if key is not None or authorization is None:
            if key != self._state.api_key:
                raise Reject(azure_error(401, "401", KEY_REJECTED))
            return
        scheme, _, token = authorization.partition(" ")
        is_bearer = scheme.lower() == "bearer"
        if self._v1 and is_bearer and token.strip() == self._state.api_key:
            return
        audience = self._identity.audience(token.strip())
        if not is_bearer or audience != COGNITIVE_SERVICES_AUDIENCE:
            raise Reject(identity_error(401, BEARER_REJECTED))
