"""The App Service managed-identity token endpoint, and the tokens it issued (which the data
plane and ARM accept).

    GET /msi/token?api-version=2019-08-01&resource=...[&client_id=...]
        with the X-IDENTITY-HEADER secret; azure-identity calls it when IDENTITY_ENDPOINT and
        IDENTITY_HEADER are set.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

from local.simulator.errors import identity_error
from local.simulator.models import RecordedRequest
from local.simulator.responses import Response, json_response
from local.simulator.routing import Route, route
from local.simulator.state import State

COGNITIVE_SERVICES_AUDIENCE = "https://cognitiveservices.azure.com"
IDENTITY_API_VERSION = "2019-08-01"
TOKEN_PATH = "/msi/token"
TOKEN_PREFIX = "simtok-"
DEFAULT_CLIENT_ID = "5e1f0000-5e1f-4000-8000-000000000001"
DEFAULT_IDENTITY_HEADER = "sim-identity-header"


@dataclass(frozen=True)
class IssuedToken:
    audience: str
    expires_at: float


class Identity:
    """Issues tokens and tells which audience an unexpired one was issued for."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._tokens: dict[str, IssuedToken] = {}

    def routes(self) -> tuple[Route, ...]:
        return (route("GET", re.escape(TOKEN_PATH), self.token_endpoint),)

    def issued_tokens(self) -> dict[str, str]:
        """Unexpired tokens this simulator issued, mapped to their audience."""
        now = time.time()
        with self._state.lock:
            return {t: i.audience for t, i in self._tokens.items() if i.expires_at > now}

    def audience(self, token: str) -> str | None:
        """The audience of an unexpired token this simulator issued (None otherwise)."""
        with self._state.lock:
            issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= time.time():
            return None
        return issued.audience

    def issue(self, resource: str) -> tuple[str, int]:
        token = TOKEN_PREFIX + uuid.uuid4().hex
        now = time.time()
        expires_at = int(now) + self._state.token_lifetime_s
        with self._state.lock:
            self._tokens = {t: i for t, i in self._tokens.items() if i.expires_at > now}
            self._tokens[token] = IssuedToken(resource.rstrip("/"), expires_at)
        return token, expires_at

    def token_endpoint(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        if request.headers.get("x-identity-header") != self._state.identity_header:
            return identity_error(401, "X-IDENTITY-HEADER is missing or does not match.")
        if request.query.get("api-version") != IDENTITY_API_VERSION:
            return identity_error(400, f"api-version must be {IDENTITY_API_VERSION}.")
        resource = request.query.get("resource")
        if not resource:
            return identity_error(400, "The 'resource' query parameter is required.")
        token, expires_on = self.issue(resource)
        return json_response(
            200,
            {
                "access_token": token,
                # App Service sends expires_on as a string of epoch seconds.
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": request.query.get("client_id") or DEFAULT_CLIENT_ID,
            },
        )
