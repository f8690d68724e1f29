"""The reader of the job registry: a run's job definition (docs/design.md §7).

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

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import TableClient

from shared import constants as c
from shared.errors import RegistryUnavailable
from shared.registry.entity import JobDefinition, JobEntity
from shared.registry.table import require_table

logger = logging.getLogger(__name__)


class JobRegistry:
    """Reads job definitions of one partition (the Azure OpenAI account)."""

    def __init__(
        self,
        table: TableClient | None,
        partition: str,
        *,
        ttl_s: float = c.REGISTRY_CACHE_TTL_S,
        max_entries: int = c.REGISTRY_CACHE_MAX_ENTRIES,
        max_absent: int = c.REGISTRY_CACHE_MAX_ABSENT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self.partition = partition
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._max_absent = max_absent
        self._clock = clock
        self._lock = threading.Lock()
        # Least recently used first: definitions found, and (a smaller bound) External Ids the
        # registry has no definition for, so a flood of unknown names never evicts a real job.
        self._cache: OrderedDict[str, tuple[float, JobDefinition | None]] = OrderedDict()
        self._absent: OrderedDict[str, tuple[float, JobDefinition | None]] = OrderedDict()
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
        cached = self._cached(external_id)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached
        return None

    def _cached(self, external_id: str) -> tuple[float, JobDefinition | None] | None:
        """The cached read of this External Id, however old, marked as just used."""
        with self._lock:
            for entries in (self._cache, self._absent):
                if external_id in entries:
                    entries.move_to_end(external_id)
                    return entries[external_id]
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
            found, other = (
                (self._cache, self._absent) if definition else (self._absent, self._cache)
            )
            other.pop(external_id, None)
            found[external_id] = (now, definition)
            found.move_to_end(external_id)
            _bound(self._cache, self._max_entries)
            _bound(self._absent, self._max_absent)
        return definition

    def _fall_back(
        self, external_id: str, why: str, exc: AzureError | None = None
    ) -> JobDefinition | None:
        """Storage failed: the last definition read, however old, else RegistryUnavailable."""
        cached = self._cached(external_id)
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
        table = require_table(self._table)
        try:
            entity = table.get_entity(self.partition, external_id)
        except ResourceNotFoundError:
            # No entity, or no table yet (discovery has not run): the job has no definition.
            return None
        return JobEntity.from_table(dict(entity)).definition()


def _bound(entries: OrderedDict[str, Any], most: int) -> None:
    """Drop the least recently used entries beyond `most`."""
    while len(entries) > most:
        entries.popitem(last=False)
