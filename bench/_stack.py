"""What every benchmark needs around the app: a clean environment, Azurite, a seeded chat
definition, and the pieces of a report (versions, PASS/FAIL lines, the verdict).

Azurite's table service runs as a child process on a free port, in memory, exactly as the tests
start it; the app's settings are removed from the environment so the developer's shell cannot
change what is measured.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient

from local.azurite import Azurite, AzuriteError
from local.simulator import Simulator
from shared import constants as c
from shared import wiring
from shared.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent

# Every setting the app reads: removed from the environment for the whole benchmark (and for
# any interpreter it starts), so the developer's shell cannot change what is measured.
APP_ENV_NAMES = (*SETTING_NAMES, "DISCOVERY_SCHEDULE", "AZURE_TOKEN_CREDENTIALS")

# The simulated resource every benchmark runs against, and its chat deployment.
ACCOUNT = "bench-aoai"
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-bench"
DEPLOYMENT = "gpt-4o"
MAX_TOKENS = 64  # the seeded definition's attribute: a run that sends it read the registry


def without_app_settings(env: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in env.items() if name not in APP_ENV_NAMES}


@contextmanager
def azurite() -> Iterator[Azurite]:
    """Azurite's table service in memory on a free port, as the tests start it; stopped
    whatever happens."""
    try:
        with Azurite() as server:
            yield server
    except AzuriteError as error:
        raise SystemExit(f"bench: {error}") from None


def bench_simulator(**kwargs: Any) -> Simulator:
    """The simulator playing the benchmarks' resource (ARM answers for it)."""
    return Simulator(
        subscription_id=SUBSCRIPTION, resource_group=RESOURCE_GROUP, account=ACCOUNT, **kwargs
    )


def app_settings(sim: Simulator, storage: str, *, api_key: bool = False) -> dict[str, str]:
    """The app's settings pointing at the simulator (data plane, ARM, token endpoint) and at
    `storage`; managed identity unless `api_key`."""
    settings = {
        "AZURE_OPENAI_ACCOUNT": sim.account,
        "AZURE_OPENAI_ENDPOINT": sim.url,
        "IDENTITY_ENDPOINT": sim.identity_endpoint,
        "IDENTITY_HEADER": sim.identity_header,
        "AzureWebJobsStorage": storage,
        "AZURE_SUBSCRIPTION_ID": sim.subscription_id,
        "AZURE_RESOURCE_GROUP": sim.resource_group,
        "AZURE_RESOURCE_MANAGER_ENDPOINT": sim.url,
    }
    if api_key:
        settings |= {"AZURE_OPENAI_AUTH": "api_key", "AZURE_OPENAI_API_KEY": sim.api_key}
    return settings


def use_app_settings(settings: dict[str, str]) -> None:
    """Put the app's settings in the environment, and make the app read them again (it reads
    them once per process)."""
    os.environ.update(settings)
    wiring.reset()


def seed_chat_definition(storage: str, deployment: str = DEPLOYMENT, **properties: str) -> None:
    """A chat definition registry reads find: by default the benchmarks' deployment with
    `OpenAI Max Tokens`; else `deployment` with `properties` (a `ModelName`, as discovery
    writes it)."""
    if not properties:
        properties = {"Attributes": json.dumps({c.ATTR_MAX_TOKENS: str(MAX_TOKENS)})}
    with TableServiceClient.from_connection_string(storage) as service:
        table = service.create_table_if_not_exists(c.DEFAULT_JOB_DEFINITIONS_TABLE)
        table.upsert_entity(
            {
                "PartitionKey": ACCOUNT,
                "RowKey": deployment,
                "JobType": c.JOB_TYPE_CHAT,
                **properties,
            }
        )


# --- the report ------------------------------------------------------------------------------


def versions(*names: str) -> dict[str, str]:
    return {name: metadata.version(name) for name in names}


def check_lines(checks: Iterable[tuple[str, bool]]) -> list[str]:
    return [f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in checks]


def finish(report: dict[str, Any], text: str, json_path: Path | None, passed: bool) -> int:
    """Print the report (and write it as JSON when asked); the exit code: 0 when it passed."""
    report["passed"] = passed
    if json_path is not None:
        json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(text)
    print("")
    print("PASS: every check" if passed else "FAIL: see the checks above")
    return 0 if passed else 1
