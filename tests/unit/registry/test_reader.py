"""The registry reader: its cache, shared reads, and what it does when storage is down."""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError

from shared import errors
from shared.registry.entity import JobDefinition
from shared.registry.reader import JobRegistry


class FakeTable:
    """Answers get_entity from a dict; `down` makes it fail like an unreachable service."""

    def __init__(self, entities, delay_s=0.0):
        self.entities = entities
        self.down = False
        self.reads = 0
        self.delay_s = delay_s

    def get_entity(self, partition_key, row_key):
        self.reads += 1
        time.sleep(self.delay_s)
        if self.down:
            raise ServiceRequestError("connection refused")
        try:
            return self.entities[(partition_key, row_key)]
        except KeyError:
            raise ResourceNotFoundError("not found") from None


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def table():
    return FakeTable(
        {("acct", "gpt-4o"): {"RowKey": "gpt-4o", "JobType": "Azure OpenAI Chat Completion"}}
    )


def test_reads_are_cached_for_the_ttl(table):
    clock = Clock()
    registry = JobRegistry(table, "acct", ttl_s=60, clock=clock)
    definition = registry.find("gpt-4o")
    assert definition is not None
    assert definition.job_type == "Azure OpenAI Chat Completion"
    clock.now = 59
    registry.find("gpt-4o")
    assert table.reads == 1
    clock.now = 61
    registry.find("gpt-4o")
    assert table.reads == 2


def test_concurrent_misses_for_one_id_share_one_read():
    entities = {("acct", "a"): {"RowKey": "a"}, ("acct", "b"): {"RowKey": "b"}}
    table: Any = FakeTable(entities, delay_s=0.05)
    registry = JobRegistry(table, "acct", ttl_s=60)
    with ThreadPoolExecutor(32) as pool:
        found = list(pool.map(registry.find, ["a"] * 32 + ["b"] * 32))
    assert [d.external_id if d else None for d in found] == ["a"] * 32 + ["b"] * 32
    assert table.reads == 2


@pytest.mark.parametrize("read_before", [False, True])
def test_concurrent_misses_share_a_failed_read_too(read_before):
    table: Any = FakeTable({("acct", "a"): {"RowKey": "a"}}, delay_s=0.05)
    clock = Clock()
    registry = JobRegistry(table, "acct", ttl_s=60, clock=clock)
    if read_before:
        registry.find("a")
    clock.now = 61  # expired: every run needs a read
    table.down, table.reads = True, 0

    def find(_: int) -> object:
        try:
            return registry.find("a")
        except errors.RegistryUnavailable as error:
            return error

    with ThreadPoolExecutor(16) as pool:
        found = list(pool.map(find, range(16)))
    assert table.reads == 1  # not one failing read after another
    if read_before:
        assert all(isinstance(d, JobDefinition) and d.external_id == "a" for d in found)
    else:
        assert all(isinstance(d, errors.RegistryUnavailable) for d in found)
    table.down = False
    clock.now = 62
    assert registry.find("a") is not None and table.reads == 2  # storage back: read again


def test_absent_definitions_are_cached_too(table):
    registry = JobRegistry(table, "acct", clock=Clock())
    assert registry.find("unknown") is None
    assert registry.find("unknown") is None
    assert table.reads == 1


def test_stale_definition_is_used_when_storage_is_down(table):
    clock = Clock()
    registry = JobRegistry(table, "acct", ttl_s=60, clock=clock)
    registry.find("gpt-4o")
    table.down = True
    clock.now = 3600
    definition = registry.find("gpt-4o")
    assert definition is not None and definition.external_id == "gpt-4o"


def test_unknown_definition_with_storage_down_is_registry_unavailable(table):
    table.down = True
    with pytest.raises(errors.RegistryUnavailable):
        JobRegistry(table, "acct", clock=Clock()).find("gpt-4o")


def test_cache_is_bounded(table):
    registry = JobRegistry(table, "acct", max_absent=2, clock=Clock())
    for name in ("a", "b", "c", "a"):
        registry.find(name)
    assert table.reads == 4  # "a" was evicted by "c"


def test_the_cache_evicts_the_least_recently_used():
    table: Any = FakeTable({("acct", n): {"RowKey": n} for n in ("a", "b", "c")})
    registry = JobRegistry(table, "acct", max_entries=2, clock=Clock())
    for name in ("a", "b", "a", "c", "a"):
        registry.find(name)
    assert table.reads == 3  # "a" was used again before "c" came: "b" left, not "a"


def test_unknown_names_never_evict_a_job_and_its_stale_copy_outlives_an_outage(table):
    clock = Clock()
    registry = JobRegistry(table, "acct", ttl_s=60, clock=clock)
    assert registry.find("gpt-4o") is not None
    for i in range(1100):
        assert registry.find(f"junk-{i}") is None
    clock.now += 3600
    table.down = True
    definition = registry.find("gpt-4o")
    assert definition is not None and definition.job_type == "Azure OpenAI Chat Completion"


def test_no_storage_setting_is_not_configured():
    with pytest.raises(errors.NotConfigured, match="AzureWebJobsStorage"):
        JobRegistry(None, "acct").find("gpt-4o")
