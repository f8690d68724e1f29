"""The writer of the job registry: discovery's side of it (docs/design.md §7).

A sync brings one partition (the Azure OpenAI account) in line with a complete listing of its
deployments, in entity group transactions; definitions are never deleted, only marked Retired.
The last sync's outcome is stored in the same table. Storage failures become RegistryUnavailable
here, the one place the writer's callers learn of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity, TableTransactionError, UpdateMode

from shared import constants as c
from shared.errors import RegistryUnavailable
from shared.models.answers import SyncCounts
from shared.registry.entity import DISCOVERY_OWNED, JobEntity
from shared.registry.table import require_table


class RegistryWriter:
    """Writes discovered definitions into one partition of the registry table."""

    def __init__(
        self,
        table: TableClient | None,
        partition: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self.partition = partition
        self._table_exists = False
        self._clock = clock
        # The last outcome this process read or wrote, and when (for `/api/health/details`).
        self._outcome: tuple[float, dict[str, Any] | None] | None = None

    def table(self) -> TableClient:
        return require_table(self._table)

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

    def sync(self, jobs: list[JobEntity], now: datetime) -> SyncCounts:
        """Bring the partition in line with a complete listing: create what is new, rewrite what
        changed, leave the rest alone, and mark definitions whose deployment is gone as Retired
        (never delete). Writes go in transactions of at most 100 operations (one partition)."""
        with _storage_failure(
            "The job registry (Table storage) failed during the sync ({name}); definitions "
            "already written are whole, and the next sync completes the work."
        ):
            return self._sync(jobs, now)

    def _sync(self, jobs: list[JobEntity], now: datetime) -> SyncCounts:
        table = self._ensure_table()
        listed = self._listed()
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
            for start in range(0, len(operations), c.TRANSACTION_MAX_OPERATIONS):
                table.submit_transaction(operations[start : start + c.TRANSACTION_MAX_OPERATIONS])
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
        with _storage_failure("The job registry (Table storage) cannot be reached."):
            return self._listed()

    def _listed(self) -> list[TableEntity]:
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
        """Store a sync's outcome (one entity per account, under a partition of its own)."""
        keys = _keys(c.DISCOVERY_OUTCOME_PARTITION, self.partition)
        with _storage_failure(OUTCOME_UNAVAILABLE):
            table = self._ensure_table()
            with self._table_may_be_gone():
                table.upsert_entity(
                    keys | {"Outcome": json.dumps(outcome)}, mode=UpdateMode.REPLACE
                )
        self._outcome = (self._clock(), outcome)

    def last_outcome(self, max_age_s: float = 0.0) -> dict[str, Any] | None:
        """The last sync's outcome: this process's copy when younger than `max_age_s`, else
        read with short timeouts and no retry (an operator's page must not hold a worker
        thread while storage is slow)."""
        cached = self._outcome
        if cached is not None and self._clock() - cached[0] < max_age_s:
            return cached[1]
        with _storage_failure(OUTCOME_UNAVAILABLE):
            raw: Any = None
            try:
                entity = self.table().get_entity(
                    c.DISCOVERY_OUTCOME_PARTITION,
                    self.partition,
                    connection_timeout=c.OUTCOME_READ_TIMEOUT_S,
                    read_timeout=c.OUTCOME_READ_TIMEOUT_S,
                    retry_total=0,
                )
                raw = entity.get("Outcome")
            except ResourceNotFoundError:
                pass
        value = json.loads(raw or "null")
        outcome = value if isinstance(value, dict) else None
        self._outcome = (self._clock(), outcome)
        return outcome


OUTCOME_UNAVAILABLE = "The job registry (Table storage) cannot store or read the discovery outcome."


@contextmanager
def _storage_failure(message: str) -> Iterator[None]:
    """Storage errors as RegistryUnavailable (`{name}` in the message: the error's type)."""
    try:
        yield
    except AzureError as exc:
        raise RegistryUnavailable(message.format(name=type(exc).__name__)) from exc


def _operation_for(
    partition: str,
    job: JobEntity,
    entity: TableEntity | None,
    now: datetime,
    counts: SyncCounts,
) -> tuple[Any, ...] | None:
    wanted = job.owned_properties()
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


def _keys(partition: str, row: str) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": row}
