"""The app served over real HTTP by the local host, with function keys enforced."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

import function_app
from local.host import HostKeys, LocalHost
from tests.helpers import FUNCTION_KEY, MASTER_KEY


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


@pytest.fixture
def admin_client() -> Iterator[requests.Session]:
    """An operator's caller, sending the host's master key (the admin functions need it)."""
    with requests.Session() as session:
        session.headers["x-functions-key"] = MASTER_KEY
        yield session
