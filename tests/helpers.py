"""Helpers every tier shares (fixtures stay in conftest.py): the simulated resource's names,
seeding and reading the registry table, asking the simulator directly, and calling the local
host over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from azure.data.tables import TableClient, TableEntity

from local.host import LocalHost
from local.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "test-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-test"
IDENTITY_HEADER = "test-identity-header"
FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"
TIMEOUT = 30


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


def api(
    host: LocalHost,
    method: str,
    path: str,
    *,
    key: str | None = FUNCTION_KEY,
    timeout: float = TIMEOUT,
    json: Any = None,
    **kwargs: Any,
) -> requests.Response:
    """`method` on `/api/{path}` of the local host, with `key` as the `x-functions-key` header
    (None: no key). Other keyword arguments go to `requests.request`."""
    headers = {} if key is None else {"x-functions-key": key}
    url = f"{host.url}/api/{path}"
    return requests.request(method, url, headers=headers, timeout=timeout, json=json, **kwargs)
