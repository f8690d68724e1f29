"""Fixtures shared by every tier.

- `clean_env` (autouse): every test starts with none of the app's settings in the environment.
- `azurite`: a real Azurite table service (from node_modules), started once per test session on
  a free port and stopped at the end, whatever the outcome.
- `sim`: the local Azure simulator (real sockets), reset before each test.
- `app_env`: the settings that point the app at the simulator and Azurite, as in `make run`;
  each test gets a table of its own so tests never see each other's definitions.
- `registry_table`, `seed_definition`, `entities`: that table, created empty; seeding it; reading
  it back.
- `seeded`: the world the bad-input properties of both tiers assume (`tests/strategies.py`).
- `azure_embedding`: the vector the simulator answers for a text, asked for directly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from azure.data.tables import TableClient, TableEntity, TableServiceClient

from local.azurite import Azurite, AzuriteError
from local.simulator import Simulator
from shared.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "test-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-test"
IDENTITY_HEADER = "test-identity-header"
APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in APP_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = Azurite()
    try:
        server.start()
    except AzuriteError as error:
        pytest.exit(str(error), returncode=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _session_sim() -> Iterator[Simulator]:
    with Simulator(
        identity_header=IDENTITY_HEADER,
        subscription_id=SUBSCRIPTION,
        resource_group=RESOURCE_GROUP,
        account=ACCOUNT,
    ) as sim:
        yield sim


@pytest.fixture
def sim(_session_sim: Simulator) -> Iterator[Simulator]:
    _session_sim.reset()
    yield _session_sim
    _session_sim.reset()


@pytest.fixture
def table_name() -> str:
    return "Jobs" + uuid.uuid4().hex[:12]


@pytest.fixture
def app_env(
    monkeypatch: pytest.MonkeyPatch, sim: Simulator, azurite: Azurite, table_name: str
) -> dict[str, str]:
    env = {
        "AZURE_OPENAI_ACCOUNT": ACCOUNT,
        "AZURE_OPENAI_ENDPOINT": sim.url,
        "IDENTITY_ENDPOINT": sim.identity_endpoint,
        "IDENTITY_HEADER": IDENTITY_HEADER,
        "AzureWebJobsStorage": azurite.connection_string,
        "JOB_DEFINITIONS_TABLE": table_name,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_RESOURCE_GROUP": RESOURCE_GROUP,
        "AZURE_RESOURCE_MANAGER_ENDPOINT": sim.url,
        "DISCOVERY_SCHEDULE": "0 0 * * * *",
        # short enough that fault tests stay fast; the retry logic is the same as with defaults
        "AOAI_TIMEOUT_S": "5",
        "RUN_DEADLINE_S": "20",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def registry_table(azurite: Azurite, table_name: str) -> Iterator[TableClient]:
    """The test's registry table, created empty, for seeding definitions."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    table = service.create_table_if_not_exists(table_name)
    yield table
    service.delete_table(table_name)


@pytest.fixture
def seeded(sim: Simulator, registry_table: TableClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """The world the bad-input oracles assume (`strategies.seed_world`), and MAX_REQUEST_BYTES
    low enough for a body of a few KB to exceed it. Returns the uploaded batch input file's id."""
    from tests import strategies  # here, not at the top: strategies imports this module

    monkeypatch.setenv("MAX_REQUEST_BYTES", str(strategies.BODY_LIMIT))
    return strategies.seed_world(sim, registry_table)


def seed_definition(table: TableClient, external_id: str, **properties: object) -> None:
    entity: dict[str, object] = {"PartitionKey": ACCOUNT, "RowKey": external_id}
    for name, value in properties.items():
        entity[name] = json.dumps(value) if name == "Attributes" else value
    table.upsert_entity(entity)


def entities(table: TableClient) -> dict[str, TableEntity]:
    """The account's registry entities, by External Id (RowKey)."""
    query = table.query_entities("PartitionKey eq @pk", parameters={"pk": ACCOUNT})
    return {entity["RowKey"]: entity for entity in query}


def azure_embedding(sim: Simulator, deployment: str, text: str) -> list[float]:
    """The vector Azure (the simulator) answers for `text`, asked directly with its API key.
    The call is recorded like the app's: make it after checking `sim.requests()`."""
    response = requests.post(
        f"{sim.url}/openai/deployments/{quote(deployment, safe='')}/embeddings",
        params={"api-version": "2024-10-21"},
        headers={"api-key": sim.api_key},
        json={"input": text},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    vector: list[float] = response.json()["data"][0]["embedding"]
    return vector
