"""The registry's Table storage client: from the `AzureWebJobsStorage` connection string, or
identity-based from `AzureWebJobsStorage__tableServiceUri` with the app's managed identity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient

from shared import constants as c
from shared.clients.transport import new_session
from shared.errors import NotConfigured

_TABLE_CLIENT_OPTIONS: dict[str, Any] = {"retry_total": c.REGISTRY_RETRY_TOTAL}


def _transport() -> RequestsTransport:
    """azure-core's default transport pools 10 connections, fewer than the concurrent runs of
    one worker: a session of our own, sized like the one for Azure OpenAI. (A transport given to
    a client takes its timeouts from here: the client's own timeout options no longer apply.)"""
    return RequestsTransport(
        session=new_session(),
        session_owner=False,
        connection_timeout=c.REGISTRY_CONNECT_TIMEOUT_S,
        read_timeout=c.REGISTRY_READ_TIMEOUT_S,
    )


def require_table(table: TableClient | None) -> TableClient:
    """The registry's table, or NotConfigured naming the setting that would give it."""
    if table is None:
        raise NotConfigured(
            "Setting AzureWebJobsStorage is missing: the job registry lives in Table storage "
            "(set a connection string, or AzureWebJobsStorage__tableServiceUri)."
        )
    return table


def table_client(
    *,
    table_name: str,
    connection_string: str | None,
    table_service_uri: str | None,
    credential: TokenCredential,
    policies: Sequence[Any] = (),
) -> TableClient | None:
    """A client for the registry table: from the `AzureWebJobsStorage` connection string, or
    identity-based from `AzureWebJobsStorage__tableServiceUri` with the app's managed identity.
    `policies` run on each attempt, after azure-core's retry policy (telemetry's spans)."""
    options = _TABLE_CLIENT_OPTIONS | {"per_retry_policies": list(policies)}
    if connection_string:
        return TableClient.from_connection_string(
            connection_string,
            table_name=table_name,
            transport=_transport(),
            **options,
        )
    if table_service_uri:
        return TableClient(
            endpoint=table_service_uri,
            table_name=table_name,
            credential=credential,
            transport=_transport(),
            **options,
        )
    return None
