"""Helpers every tier shares (fixtures stay in conftest.py): the simulated resource's names,
seeding and reading the registry table, asking the simulator directly, and calling the local
host over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests
from azure.data.tables import TableClient, TableEntity

from local.host import LocalHost
from local.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "test-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-test"
IDENTITY_HEADER = "test-identity-header"
STATUS_LINK_SECRET = "test-status-link-secret-0123456789abcdef"
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


def link_params(status_query_url: str) -> dict[str, str]:
    """A status link's query as a dict (to poll it as `status(run_id, params=...)`)."""
    return {name: values[0] for name, values in parse_qs(urlsplit(status_query_url).query).items()}


def link_signature(status_query_url: str) -> dict[str, str]:
    """The signature part (`expires`, `sig`) of a status link the app answered."""
    query = parse_qs(urlsplit(status_query_url).query)
    return {name: query[name][0] for name in ("expires", "sig")}


def sign_link(
    run_id: str,
    deployment: str | None,
    secret: str = STATUS_LINK_SECRET,
    expires: int | None = None,
) -> dict[str, str]:
    """A status link's signature as docs/contract.md defines it, computed here independently of
    the app: HMAC-SHA256 with the secret over `run_id`, `deployment` (empty when none) and
    `expires` joined by newlines, base64url without padding."""
    expires = int(time.time()) + 3600 if expires is None else expires
    message = "\n".join((run_id, deployment or "", str(expires))).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {"expires": str(expires), "sig": base64.urlsafe_b64encode(digest).rstrip(b"=").decode()}


def assert_status_link(url: str, origin: str, run_id: str, deployment: str | None) -> None:
    """A status link as the contract defines it: `{origin}/api/status/{run_id}` with
    `deployment` (when the run has one), a future `expires` at most 30 days ahead and this
    run's signature, and nothing else (no function key)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{origin}/api/status/{quote(run_id, safe='')}"
    ), url
    query = parse_qs(parts.query, keep_blank_values=True)
    assert set(query) == {"expires", "sig"} | ({"deployment"} if deployment else set()), url
    assert query.get("deployment", [None]) == [deployment]
    expires = int(query["expires"][0])
    assert 0 < expires - time.time() <= 30 * 24 * 3600
    assert query["sig"] == [sign_link(run_id, deployment, expires=expires)["sig"]]
