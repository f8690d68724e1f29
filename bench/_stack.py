"""What every benchmark needs around the app: a clean environment and Azurite.

Azurite's table service runs as a child process on a free port, in memory, exactly as the tests
start it; the app's settings are removed from the environment so the developer's shell cannot
change what is measured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from local.azurite import Azurite, AzuriteError, connection_string
from local.simulator import Simulator

__all__ = [
    "ACCOUNT",
    "RESOURCE_GROUP",
    "SUBSCRIPTION",
    "app_settings",
    "azurite",
    "azurite_port",
    "connection_string",
    "environ",
    "without_app_settings",
]
from shared.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent

# Every setting the app reads: removed from the environment for the whole benchmark (and for
# any interpreter it starts), so the developer's shell cannot change what is measured.
APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")


def without_app_settings(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name not in APP_ENV_NAMES}


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` is exactly `values` inside the block, and as it was after it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def azurite_port() -> Iterator[int]:
    """Azurite's table service in memory on a free port, as the tests start it; yields its port
    and stops it whatever happens."""
    try:
        with Azurite() as server:
            yield server.port
    except AzuriteError as error:
        raise SystemExit(f"bench: {error}") from None


@contextmanager
def azurite() -> Iterator[str]:
    """Like `azurite_port`, yielding the connection string."""
    with azurite_port() as port:
        yield connection_string(port)


# The simulated resource both benchmarks run against.
ACCOUNT = "bench-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-bench"


def app_settings(sim: Simulator, storage: str, *, api_key: bool = False) -> dict[str, str]:
    """The app's settings pointing at the simulator (data plane, ARM, token endpoint) and at
    `storage`; managed identity unless `api_key`."""
    settings = {
        "AZURE_OPENAI_ACCOUNT": ACCOUNT,
        "AZURE_OPENAI_ENDPOINT": sim.url,
        "IDENTITY_ENDPOINT": sim.identity_endpoint,
        "IDENTITY_HEADER": sim.identity_header,
        "AzureWebJobsStorage": storage,
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "AZURE_RESOURCE_GROUP": RESOURCE_GROUP,
        "AZURE_RESOURCE_MANAGER_ENDPOINT": sim.url,
    }
    if api_key:
        settings |= {"AZURE_OPENAI_AUTH": "api_key", "AZURE_OPENAI_API_KEY": sim.api_key}
    return settings
