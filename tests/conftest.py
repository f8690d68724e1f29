"""Fixtures shared by every tier.

- `clean_env` (autouse): every test starts with none of the app's settings in the environment.
- `azurite`: a real Azurite table service (from node_modules), started once per test session on
  a free port and stopped at the end, whatever the outcome.
- `sim`: the local Azure simulator (real sockets), reset before each test.
- `app_env`: the settings that point the app at the simulator and Azurite, as in `make run`;
  each test gets a table of its own so tests never see each other's definitions.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.data.tables import TableClient, TableServiceClient

from local.simulator import Simulator
from shared.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
ACCOUNT = "test-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-test"
IDENTITY_HEADER = "test-identity-header"
APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in APP_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Azurite:
    """The Azurite table service as a child process; `stop()` and `start()` again keep the port
    (issue 5's storage-fault tests use that)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.connection_string = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};TableEndpoint=http://127.0.0.1:{self.port}/devstoreaccount1;"
        )

    def start(self) -> None:
        binary = ROOT / "node_modules" / ".bin" / "azurite-table"
        if not binary.exists():
            pytest.exit(
                "Azurite is not installed: run `make test` (it runs `npm ci`).", returncode=2
            )
        self.process = subprocess.Popen(
            [
                str(binary),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        pytest.exit("Azurite did not start", returncode=2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    if shutil.which("node") is None:
        pytest.exit("Node.js is needed for Azurite", returncode=2)
    server = Azurite()
    server.start()
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


def seed_definition(table: TableClient, external_id: str, **properties: object) -> None:
    entity: dict[str, object] = {"PartitionKey": ACCOUNT, "RowKey": external_id}
    for name, value in properties.items():
        entity[name] = json.dumps(value) if name == "Attributes" else value
    table.upsert_entity(entity)
