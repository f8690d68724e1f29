"""The app served over real HTTP by the local host, with function keys enforced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

import function_app
from local.host import HostKeys, LocalHost

FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"
TIMEOUT = 30


@pytest.fixture
def host(app_env: dict[str, str]) -> Iterator[LocalHost]:
    keys = HostKeys(function_keys=frozenset({FUNCTION_KEY}), master_key=MASTER_KEY)
    with LocalHost(function_app.app, port=0, keys=keys, log=lambda line: None) as running:
        yield running


@pytest.fixture
def client() -> Iterator[requests.Session]:
    """A Polysync-like caller sending the function key as a header."""
    with requests.Session() as session:
        session.headers["x-functions-key"] = FUNCTION_KEY
        yield session


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
