"""Tokens for calls to Azure: the app's managed identity, or an API key (docs/design.md §8).

One `ManagedIdentityCredential` per process (user-assigned when `AZURE_CLIENT_ID` is set); one
`TokenSource` per scope on top of it. azure-identity caches each token for its lifetime and
renews it ahead of expiry; the lock makes concurrent first calls wait for one token request
instead of each asking the endpoint.
"""

from __future__ import annotations

import logging
import threading

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.identity import ManagedIdentityCredential, get_bearer_token_provider

from shared.clients.transport import HeaderFactory
from shared.errors import UpstreamAuthFailed

logger = logging.getLogger(__name__)


def build_credential(client_id: str | None) -> ManagedIdentityCredential:
    """The app's managed identity: system-assigned, or the user-assigned one named by client id.

    azure-identity picks the token endpoint from the environment (`IDENTITY_ENDPOINT` and
    `IDENTITY_HEADER` on App Service and Functions, and in the local stack).
    """
    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return ManagedIdentityCredential()


class TokenSource:
    """A bearer token for one scope, fetched once per token lifetime."""

    def __init__(self, credential: TokenCredential, scope: str) -> None:
        self.scope = scope
        self._provider = get_bearer_token_provider(credential, scope)
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            try:
                return self._provider()
            except AzureError as exc:
                # azure-identity's messages name the endpoint and the failure, never a token.
                logger.warning(
                    "managed identity token for %s failed: %s", self.scope, type(exc).__name__
                )
                raise UpstreamAuthFailed(
                    f"The app could not get a managed identity token for {self.scope}: "
                    f"{_first_line(str(exc))} Check that the Function App has a managed identity "
                    "(and AZURE_CLIENT_ID names it when it is user-assigned)."
                ) from exc


def bearer_headers(token: TokenSource) -> HeaderFactory:
    return lambda: {"Authorization": f"Bearer {token()}"}


def api_key_headers(api_key: str) -> HeaderFactory:
    return lambda: {"api-key": api_key}


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:300] + ("" if line.endswith(".") else ".")
