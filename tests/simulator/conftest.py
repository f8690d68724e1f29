"""Each simulator test gets a fresh simulator of its own (not the session one the app tests
share), with the default settings, and pooled HTTP sessions to call it with."""

from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from local.simulator import COGNITIVE_SERVICES_AUDIENCE, Simulator

POOL_SIZE = 32  # connections kept per host: enough for the concurrency tests' threads


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as pooled:
        pooled.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE))
        yield pooled


@pytest.fixture
def key_session(sim: Simulator, session: requests.Session) -> requests.Session:
    """``session`` sending the simulator's api-key on every request."""
    session.headers["api-key"] = sim.api_key
    return session


def fetch_token(
    sim: Simulator, session: requests.Session, resource: str = COGNITIVE_SERVICES_AUDIENCE
) -> str:
    """A token for ``resource`` from the simulator's managed-identity endpoint."""
    response = session.get(
        sim.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": sim.identity_header},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_on"], str) and body["expires_on"].isdigit()
    return str(body["access_token"])
