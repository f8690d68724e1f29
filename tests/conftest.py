"""Fixtures shared by every tier.

- `app_settings` (autouse): every test starts with none of the app's settings in the
  environment; a test changes them through it (`app_settings.set(name, value)`), which makes the
  app read them again on its next call.
- `azurite`: a real Azurite table service (from node_modules), started once per test session on
  a free port and stopped at the end, whatever the outcome.
- `sim`: the local Azure simulator (real sockets), reset before each test.
- `app_env`: the settings that point the app at the simulator and Azurite, as in `make run`;
  each test gets a table of its own so tests never see each other's definitions.
- `registry_table`: that table, created empty (`tests.helpers` seeds and reads it).
- `seeded`: the world the bad-input properties of both tiers assume (`tests/strategies.py`).
- `telemetry`: telemetry on for the test, its spans and metric points in memory
  (`tests/telemetry.py`); every other test runs with telemetry off.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from azure.data.tables import TableClient, TableServiceClient

from local.azurite import Azurite, AzuriteError
from local.simulator import Simulator
from shared import wiring
from shared.settings import SETTING_NAMES
from tests.helpers import (
    ACCOUNT,
    IDENTITY_HEADER,
    RESOURCE_GROUP,
    STATUS_LINK_SECRET,
    SUBSCRIPTION,
)
from tests.telemetry import Telemetry, session_pipeline

APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")


class AppSettings:
    """The app's settings (environment variables) for one test. The app reads its settings once
    per process; each change here makes its next call read them again (`wiring.reset`), as a
    restart after a change of app settings does in Azure."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def set(self, name: str, value: str) -> None:
        self._monkeypatch.setenv(name, value)
        wiring.reset()

    def unset(self, name: str) -> None:
        self._monkeypatch.delenv(name, raising=False)
        wiring.reset()


@pytest.fixture(autouse=True)
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[AppSettings]:
    """Every test starts with none of the app's settings, and the app built from none."""
    settings = AppSettings(monkeypatch)
    for name in APP_ENV_NAMES:
        settings.unset(name)
    yield settings
    wiring.reset()


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
    app_settings: AppSettings, sim: Simulator, azurite: Azurite, table_name: str
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
        "STATUS_LINK_SECRET": STATUS_LINK_SECRET,
        # short enough that fault tests stay fast; the retry logic is the same as with defaults
        "AOAI_TIMEOUT_S": "5",
        "RUN_DEADLINE_S": "20",
    }
    for name, value in env.items():
        app_settings.set(name, value)
    return env


@pytest.fixture
def registry_table(azurite: Azurite, table_name: str) -> Iterator[TableClient]:
    """The test's registry table, created empty, for seeding definitions."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    table = service.create_table_if_not_exists(table_name)
    yield table
    service.delete_table(table_name)


@pytest.fixture
def seeded(sim: Simulator, registry_table: TableClient, app_settings: AppSettings) -> str:
    """The world the bad-input oracles assume (`strategies.seed_world`), and MAX_REQUEST_BYTES
    low enough for a body of a few KB to exceed it. Returns the uploaded batch input file's id."""
    from tests import strategies  # here, not at the top: strategies imports this module

    app_settings.set("MAX_REQUEST_BYTES", str(strategies.BODY_LIMIT))
    return strategies.seed_world(sim, registry_table)


@pytest.fixture(scope="session")
def _telemetry_pipeline() -> Iterator[Telemetry]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield from session_pipeline(monkeypatch)


@pytest.fixture
def telemetry(_telemetry_pipeline: Telemetry, app_settings: AppSettings) -> Telemetry:
    """Telemetry on for this test (OTLP to the session's receiver), with nothing recorded yet."""
    app_settings.set("OTEL_EXPORTER_OTLP_ENDPOINT", _telemetry_pipeline.receiver.url)
    _telemetry_pipeline.clear()
    return _telemetry_pipeline
