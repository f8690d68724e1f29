"""The job registry: job definitions in Azure Table storage (design §7).

Reads are cached in-process for `REGISTRY_CACHE_TTL_S` so a run does not pay a storage round trip
each time. When storage cannot be reached, the last definition read is used however old it is;
with none known the run fails with RegistryUnavailable rather than run without its attributes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import TableClient

from shared import constants as c
from shared.errors import NotConfigured, RegistryUnavailable
from shared.models import JobDefinition

logger = logging.getLogger(__name__)

_TABLE_CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": c.REGISTRY_CONNECT_TIMEOUT_S,
    "read_timeout": c.REGISTRY_READ_TIMEOUT_S,
    "retry_total": c.REGISTRY_RETRY_TOTAL,
}


def table_client(
    *,
    table_name: str,
    connection_string: str | None,
    table_service_uri: str | None,
    credential: TokenCredential,
) -> TableClient | None:
    """A client for the registry table: from the `AzureWebJobsStorage` connection string, or
    identity-based from `AzureWebJobsStorage__tableServiceUri` with the app's managed identity."""
    if connection_string:
        return TableClient.from_connection_string(
            connection_string, table_name=table_name, **_TABLE_CLIENT_OPTIONS
        )
    if table_service_uri:
        return TableClient(
            endpoint=table_service_uri,
            table_name=table_name,
            credential=credential,
            **_TABLE_CLIENT_OPTIONS,
        )
    return None


class JobRegistry:
    """Reads job definitions of one partition (the Azure OpenAI account)."""

    def __init__(
        self,
        table: TableClient | None,
        partition: str,
        *,
        ttl_s: float = c.REGISTRY_CACHE_TTL_S,
        max_entries: int = c.REGISTRY_CACHE_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self.partition = partition
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, JobDefinition | None]] = OrderedDict()

    def find(self, external_id: str) -> JobDefinition | None:
        """The definition of this External Id, or None when the registry has none."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(external_id)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            definition = self._read(external_id)
        except AzureError as exc:
            if cached is not None:
                logger.warning(
                    "job registry unreachable (%s); using the definition of %s read %.0f s ago",
                    type(exc).__name__,
                    external_id,
                    now - cached[0],
                )
                return cached[1]
            logger.error(
                "job registry unreachable (%s) and %s never read", type(exc).__name__, external_id
            )
            raise RegistryUnavailable(
                "The job registry (Table storage) cannot be reached and this job's definition is "
                "not known yet; the run was not started. Check AzureWebJobsStorage and retry."
            ) from exc
        with self._lock:
            self._cache[external_id] = (now, definition)
            self._cache.move_to_end(external_id)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return definition

    def _read(self, external_id: str) -> JobDefinition | None:
        if self._table is None:
            raise NotConfigured(
                "Setting AzureWebJobsStorage is missing: the job registry lives in Table storage "
                "(set a connection string, or AzureWebJobsStorage__tableServiceUri)."
            )
        try:
            entity = self._table.get_entity(self.partition, external_id)
        except ResourceNotFoundError:
            # No entity, or no table yet (discovery has not run): the job has no definition.
            return None
        return JobDefinition.from_entity(dict(entity))
