"""The job registry: job definitions in Azure Table storage (design §7).

Reads are cached in-process for `REGISTRY_CACHE_TTL_S` so a run does not pay a storage round trip
each time. When storage cannot be reached, the last definition read is used however old it is;
with none known the run fails with RegistryUnavailable rather than run without its attributes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode

from shared import constants as c
from shared.discovery import DiscoveredJob
from shared.errors import NotConfigured, RegistryUnavailable
from shared.http import new_session
from shared.models import JobDefinition

logger = logging.getLogger(__name__)

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
            connection_string,
            table_name=table_name,
            transport=_transport(),
            **_TABLE_CLIENT_OPTIONS,
        )
    if table_service_uri:
        return TableClient(
            endpoint=table_service_uri,
            table_name=table_name,
            credential=credential,
            transport=_transport(),
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
        # When each External Id's last read failed, if it did (cleared by a good read).
        self._failed_at: OrderedDict[str, float] = OrderedDict()
        # One read at a time per External Id (striped: bounded memory, whatever the ids).
        self._read_locks = [threading.Lock() for _ in range(c.REGISTRY_READ_LOCKS)]

    def find(self, external_id: str) -> JobDefinition | None:
        """The definition of this External Id, or None when the registry has none.

        Concurrent runs that miss the cache for the same External Id wait for one read instead
        of each reading storage (and overflowing its connection pool); when that read fails,
        they share its failure instead of each waiting for a read of their own to fail."""
        fresh = self._fresh(external_id)
        if fresh is not None:
            return fresh[1]
        arrived = self._clock()
        with self._read_locks[hash(external_id) % len(self._read_locks)]:
            fresh = self._fresh(external_id)  # read while this thread waited?
            if fresh is not None:
                return fresh[1]
            with self._lock:
                failed_at = self._failed_at.get(external_id)
            if failed_at is not None and failed_at >= arrived:
                return self._fall_back(external_id, "the read this run waited for failed")
            return self._refresh(external_id)

    def _fresh(self, external_id: str) -> tuple[float, JobDefinition | None] | None:
        with self._lock:
            cached = self._cache.get(external_id)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached
        return None

    def _refresh(self, external_id: str) -> JobDefinition | None:
        now = self._clock()
        try:
            definition = self._read(external_id)
        except AzureError as exc:
            with self._lock:
                self._failed_at[external_id] = self._clock()
                _bound(self._failed_at, self._max_entries)
            return self._fall_back(external_id, type(exc).__name__, exc)
        with self._lock:
            self._failed_at.pop(external_id, None)
            self._cache[external_id] = (now, definition)
            self._cache.move_to_end(external_id)
            _bound(self._cache, self._max_entries)
        return definition

    def _fall_back(
        self, external_id: str, why: str, exc: AzureError | None = None
    ) -> JobDefinition | None:
        """Storage failed: the last definition read, however old, else RegistryUnavailable."""
        with self._lock:
            cached = self._cache.get(external_id)
        if cached is not None:
            logger.warning(
                "job registry unreachable (%s); using the definition of %s read %.0f s ago",
                why,
                external_id,
                self._clock() - cached[0],
            )
            return cached[1]
        logger.error("job registry unreachable (%s) and %s never read", why, external_id)
        raise RegistryUnavailable(
            "The job registry (Table storage) cannot be reached and this job's definition is "
            "not known yet; the run was not started. Check AzureWebJobsStorage and retry."
        ) from exc

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


# --- the writer: discovery's side of the registry ------------------------------------------

# Properties discovery owns and rewrites; everything else on an entity (Attributes, anything an
# administrator added) is carried over untouched.
DISCOVERY_OWNED = frozenset(
    {
        "ExternalId",
        "JobType",
        "Platform",
        "DeploymentName",
        "ModelName",
        "ModelVersion",
        "ModelFormat",
        "SkuName",
        "SkuCapacity",
        "ProvisioningState",
        "MonitorUrl",
        "Parameters",
        "LastSeenAt",
        "Retired",
        "RetiredAt",
    }
)
# Sync outcomes live in the same table under a PartitionKey no account name can have
# (account names start with a letter or digit).
OUTCOME_PARTITION = "_discovery"
TRANSACTION_MAX_OPERATIONS = 100  # Table storage's limit per entity group transaction


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    unretired: int = 0


class RegistryWriter:
    """Writes discovered definitions into one partition of the registry table."""

    def __init__(self, table: TableClient | None, partition: str) -> None:
        self._table = table
        self.partition = partition
        self._table_exists = False

    def table(self) -> TableClient:
        if self._table is None:
            raise NotConfigured(
                "Setting AzureWebJobsStorage is missing: the job registry lives in Table storage."
            )
        return self._table

    def _ensure_table(self) -> TableClient:
        """The table, created on first use by this process (one request, not one per write)."""
        table = self.table()
        if not self._table_exists:
            try:
                table.create_table()
            except ResourceExistsError:
                pass
            self._table_exists = True
        return table

    def sync(self, jobs: list[DiscoveredJob], now: datetime) -> SyncCounts:
        """Bring the partition in line with a complete listing: create what is new, rewrite what
        changed, leave the rest alone, and mark definitions whose deployment is gone as Retired
        (never delete). Writes go in transactions of at most 100 operations (one partition)."""
        table = self._ensure_table()
        listed = self.entities()
        if not self._table_exists:  # gone since this process created it: create it again
            table = self._ensure_table()
        existing = {e["RowKey"]: e for e in listed}
        counts = SyncCounts()
        operations = [
            operation
            for job in jobs
            if (
                operation := _operation_for(
                    self.partition, job, existing.get(job.external_id), now, counts
                )
            )
        ]
        wanted = {job.external_id for job in jobs}
        live_deployments = {job.deployment_name for job in jobs}
        for row_key, entity in existing.items():
            deployment = entity.get("DeploymentName")
            if (
                row_key in wanted
                or not deployment  # hand-made, not tied to a deployment: never retired
                or deployment in live_deployments
                or entity.get("Retired") is True
            ):
                continue
            counts.retired += 1
            retire = {"Retired": True, "RetiredAt": now}
            operations.append(
                (
                    "update",
                    _keys(self.partition, row_key) | retire,
                    _if_unchanged(entity, UpdateMode.MERGE),
                )
            )
        with self._table_may_be_gone():
            for start in range(0, len(operations), TRANSACTION_MAX_OPERATIONS):
                table.submit_transaction(operations[start : start + TRANSACTION_MAX_OPERATIONS])
        return counts

    @contextmanager
    def _table_may_be_gone(self) -> Iterator[None]:
        """A write that finds no table (deleted, or storage recreated empty) makes the next
        write create it again, instead of every sync failing until the app restarts."""
        try:
            yield
        except (ResourceNotFoundError, TableTransactionError):
            # A failed transaction may be an ETag conflict instead: then the check costs the
            # next sync one create-table request that finds the table there.
            self._table_exists = False
            raise

    def entities(self) -> list[TableEntity]:
        """The partition's entities; none when the table does not exist (yet, or any more: then
        the next write creates it again)."""
        try:
            return list(
                self.table().query_entities(
                    "PartitionKey eq @pk", parameters={"pk": self.partition}
                )
            )
        except ResourceNotFoundError:
            self._table_exists = False
            return []

    def record_outcome(self, outcome: dict[str, Any]) -> None:
        table = self._ensure_table()
        with self._table_may_be_gone():
            table.upsert_entity(
                _keys(OUTCOME_PARTITION, self.partition) | {"Outcome": json.dumps(outcome)},
                mode=UpdateMode.REPLACE,
            )

    def last_outcome(self) -> dict[str, Any] | None:
        try:
            entity = self.table().get_entity(OUTCOME_PARTITION, self.partition)
        except ResourceNotFoundError:
            return None
        value = json.loads(entity.get("Outcome") or "null")
        return value if isinstance(value, dict) else None


def _operation_for(
    partition: str,
    job: DiscoveredJob,
    entity: TableEntity | None,
    now: datetime,
    counts: SyncCounts,
) -> tuple[Any, ...] | None:
    wanted = job.properties()
    partition_and_row = _keys(partition, job.external_id)
    if entity is None:
        counts.created += 1
        attributes = json.dumps({c.ATTR_DEPLOYMENT_NAME: job.deployment_name})
        return (
            "create",
            partition_and_row
            | wanted
            | {"Attributes": attributes, "FirstSeenAt": now, "LastSeenAt": now, "Retired": False},
        )
    current = {
        k: v for k, v in entity.items() if k in DISCOVERY_OWNED - {"LastSeenAt", "RetiredAt"}
    }
    if current == wanted | {"Retired": False}:
        counts.unchanged += 1
        return None
    if entity.get("Retired") is True:
        counts.unretired += 1
    else:
        counts.updated += 1
    kept = {k: v for k, v in entity.items() if k not in DISCOVERY_OWNED}
    replacement = kept | partition_and_row | wanted | {"LastSeenAt": now, "Retired": False}
    # REPLACE (not MERGE) so properties Azure no longer reports disappear; the ETag condition
    # keeps an administrator's concurrent edit from being overwritten (the sync then fails and
    # the next one redoes it).
    return ("update", replacement, _if_unchanged(entity, UpdateMode.REPLACE))


def _if_unchanged(entity: TableEntity, mode: UpdateMode) -> dict[str, Any]:
    """Write options that fail the transaction if the entity changed since it was read."""
    return {
        "mode": mode,
        "etag": entity.metadata["etag"],
        "match_condition": MatchConditions.IfNotModified,
    }


def _bound(entries: OrderedDict[str, Any], most: int) -> None:
    """Drop the oldest entries beyond `most`."""
    while len(entries) > most:
        entries.popitem(last=False)


def _keys(partition: str, row: str) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": row}
