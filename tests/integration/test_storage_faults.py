"""Storage faults over real HTTP: Azurite (the registry's storage) stopped under a chat run and
under a discovery, and started again; the app itself is never restarted.

These tests own an Azurite of their own (the session one serves every other test)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from azure.data.tables import TableClient, TableServiceClient

from local.azurite import Azurite, connection_string
from local.host import LocalHost
from local.simulator import Deployment, Fault, Simulator
from tests.conftest import AppSettings
from tests.helpers import MASTER_KEY, TIMEOUT, api, entities, seed_definition
from tests.integration.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

TABLE = "StorageFaultJobs"


@pytest.fixture
def storage(tmp_path: Path, app_settings, app_env: dict[str, str]) -> Iterator[Azurite]:
    """An Azurite kept on disk, so data survives a stop and start on the same port."""
    server = Azurite(location=tmp_path / "azurite")
    server.start()
    app_settings.set("AzureWebJobsStorage", server.connection_string)
    app_settings.set("JOB_DEFINITIONS_TABLE", TABLE)
    app_settings.set("REGISTRY_CACHE_TTL_S", "0")  # every run reads storage
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def table(storage: Azurite) -> TableClient:
    service = TableServiceClient.from_connection_string(storage.connection_string)
    return service.create_table_if_not_exists(TABLE)


def chat(host: LocalHost, timeout: float = TIMEOUT) -> requests.Response:
    return api(host, "POST", "chat/gpt-4o", json={"user_prompt": "Hello"}, timeout=timeout)


def discover(host: LocalHost) -> requests.Response:
    return api(host, "POST", "discovery", key=MASTER_KEY)


def test_a_chat_run_uses_the_last_definition_read_while_storage_is_down(
    host: LocalHost, sim: Simulator, storage: Azurite, table: TableClient
) -> None:
    seed_definition(table, "gpt-4o", Attributes={"OpenAI System Prompt": "Be brief."})
    assert chat(host).status_code == 200

    storage.stop()
    down = chat(host)
    assert down.status_code == 200, down.text
    system = sim.requests()[-1].json()["messages"][0]
    assert system == {"role": "system", "content": "Be brief."}

    storage.start()  # same port, same data; the app is not restarted
    seed_definition(table, "gpt-4o", Attributes={"OpenAI System Prompt": "Be verbose."})
    up = chat(host)
    assert up.status_code == 200
    assert sim.requests()[-1].json()["messages"][0]["content"] == "Be verbose."


def test_a_run_whose_definition_was_never_read_is_503_and_recovers(
    host: LocalHost, sim: Simulator, storage: Azurite, table: TableClient
) -> None:
    storage.stop()
    down = chat(host)
    assert down.status_code == 503
    body = down.json()
    assert body["error"]["code"] == "RegistryUnavailable"
    assert body["run_id"] == "gpt-4o#sync#Failed"
    assert sim.requests() == []  # not run without its job's attributes

    storage.start()
    assert chat(host).status_code == 200


def test_discovery_with_storage_stopped_midway_writes_nothing_then_completes(
    host: LocalHost, sim: Simulator, storage: Azurite, table: TableClient
) -> None:
    # The listing is slow; storage goes away while discovery is waiting for it.
    sim.add_fault(Fault(method="GET", path=r"/deployments$", delay_s=1.0))
    stopper = threading.Thread(target=_stop_once_listing_started, args=(sim, storage))
    stopper.start()
    failed = discover(host)
    stopper.join()
    assert failed.status_code == 503, failed.text
    outcome = failed.json()
    assert outcome["status"] == "Failed"
    assert outcome["error"]["code"] == "RegistryUnavailable"

    storage.start()
    assert entities(table) == {}  # nothing half-written
    done = discover(host)
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 5
    assert {k: (e["JobType"], e["Retired"]) for k, e in entities(table).items()} == {
        "gpt-4o": ("Azure OpenAI Chat Completion", False),
        "gpt-4o::batch": ("Azure OpenAI Batch Job", False),
        "gpt-4o-mini": ("Azure OpenAI Chat Completion", False),
        "gpt-4o-mini::batch": ("Azure OpenAI Batch Job", False),
        "text-embedding-3-small": ("Azure OpenAI Embedding", False),
    }
    assert discover(host).json()["unchanged"] == 5


def _stop_once_listing_started(sim: Simulator, storage: Azurite) -> None:
    for _ in range(500):
        if sim.arm_requests():
            break
        threading.Event().wait(0.01)
    storage.stop()


def test_storage_recreated_empty_is_recovered_without_restarting_the_app(
    host: LocalHost, app_settings
) -> None:
    # An in-memory Azurite forgets everything when it stops: the table itself is gone.
    server = Azurite()
    server.start()
    app_settings.set("AzureWebJobsStorage", server.connection_string)
    try:
        assert discover(host).json()["created"] == 5
        server.stop()
        server.start()
        again = discover(host)
        assert again.status_code == 200, again.text
        assert again.json()["created"] == 5
        assert chat(host).status_code == 200
        assert api(host, "GET", "health", key=None).json() == {"status": "ok"}
        details = api(host, "GET", "health/details").json()
        assert details["last_discovery"]["status"] == "Success"
    finally:
        server.stop()


def test_storage_lost_between_two_transactions_leaves_whole_entities_then_a_sync_completes(
    host: LocalHost,
    sim: Simulator,
    azurite: Azurite,
    app_settings: AppSettings,
    registry_table: TableClient,
) -> None:
    # 60 chat deployments are 120 definitions: two table transactions (at most 100 each).
    sim.set_deployments(Deployment(f"chat-{i:02d}", "gpt-4o") for i in range(60))
    transactions: list[bytes] = []

    def second_transaction(data: bytes) -> bool:
        if b"/$batch" not in data:
            return False
        transactions.append(data)
        return len(transactions) == 2

    with TcpProxy(azurite.port, second_transaction) as proxy:
        app_settings.set("AzureWebJobsStorage", connection_string(proxy.port))
        failed = discover(host)
        assert proxy.is_down
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"]["code"] == "RegistryUnavailable"

        written = entities(registry_table)
        assert len(written) == 100  # the first transaction, all of it; nothing of the second
        for entity in written.values():  # each one whole
            assert entity["JobType"] and entity["DeploymentName"] and entity["Parameters"]
            assert entity["Attributes"] and entity["Retired"] is False

        proxy.up()
        done = discover(host)
        assert done.status_code == 200, done.text
        assert (done.json()["created"], done.json()["unchanged"]) == (20, 100)
    assert len(entities(registry_table)) == 120


def test_storage_that_never_answers_fails_runs_within_the_registry_timeouts_sharing_one_read(
    host: LocalHost, sim: Simulator, azurite: Azurite, app_settings
) -> None:
    with TcpProxy(azurite.port) as proxy:
        app_settings.set("AzureWebJobsStorage", connection_string(proxy.port))
        proxy.blackhole()
        with ThreadPoolExecutor(8) as pool:
            # A client timeout of 60 s: the registry's own timeouts (3 s connect, 5 s read, one
            # retry) must end each run well before it.
            replies = list(pool.map(lambda _: chat(host, timeout=60), range(8)))
        assert [r.status_code for r in replies] == [503] * 8
        assert {r.json()["error"]["code"] for r in replies} == {"RegistryUnavailable"}
        assert proxy.accepted <= 2  # one read and its one retry, shared by the 8 runs
        assert sim.requests() == []
