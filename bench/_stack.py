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

__all__ = ["azurite", "azurite_port", "connection_string", "environ", "without_app_settings"]
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
