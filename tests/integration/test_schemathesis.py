"""schemathesis, a property-based API tester nobody here wrote, attacks the app through its
OpenAPI document: every operation, over real HTTP through the local host with function keys
enforced, against the simulator and Azurite.

Each operation gets its examples, schemathesis' coverage cases and a bounded number of generated
ones, positive and negative, derandomized so CI sees the same cases every run; every answer is
held to schemathesis' default checks, response-schema conformance among them. The document is
the one the app generates, and each test first checks the running app serves exactly it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from local.host import LocalHost
from local.simulator import Simulator
from shared.openapi import document
from tests.conftest import AppSettings
from tests.helpers import FUNCTION_KEY, MASTER_KEY, TIMEOUT, api, entities, seed_definition
from tests.strategies import BATCH_LINE, JOB_BATCH

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 25  # generated cases per operation, on top of its examples and coverage cases
SEED = 20260101
CONFIG = {
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
    "checks": {
        # The Functions host answers a method no function declares with 404, not 405
        # (https://github.com/Azure/azure-functions-host/issues/10098); the local host does
        # the same, and the app never sees such a request.
        "unsupported_method": {"enabled": False},
        # 422 is the contract's answer to a well-formed request the job cannot succeed with:
        # an input file that was never uploaded, a content filter, a chat job on an embedding
        # deployment. No schema can tell which file ids exist; 400 stays a failure.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
        },
    },
    "auth": {
        "openapi": {
            "functionKey": {"api_key": FUNCTION_KEY},
            "functionKeyQuery": {"api_key": FUNCTION_KEY},
            "masterKey": {"api_key": MASTER_KEY},
            "masterKeyQuery": {"api_key": MASTER_KEY},
        }
    },
}

schema = schemathesis.openapi.from_dict(document(), config=schemathesis.Config.from_dict(CONFIG))


@pytest.fixture
def seeded_host(
    host: LocalHost, sim: Simulator, registry_table, app_settings: AppSettings
) -> Iterator[LocalHost]:
    """The running app, serving this document, set up as in production: it runs registered
    jobs only (`REQUIRE_REGISTERED_JOBS`), those a discovery of the simulator's deployments
    found, and each batch job names an uploaded input file, so that positive cases can succeed.
    (A batch whose request and job both name no input file is a 400, which no schema can tell
    from the request alone.)"""
    served = api(host, "GET", "openapi.json", key=None)
    assert (served.status_code, served.json()) == (200, document())
    discovered = api(host, "POST", "discovery", key=MASTER_KEY)
    assert discovered.status_code == 200, discovered.text
    input_file = sim.upload_file(BATCH_LINE)
    for external_id, entity in entities(registry_table).items():
        if entity.get("JobType") == JOB_BATCH:
            attributes = {"Deployment Name": entity["DeploymentName"]}
            attributes["OpenAI Input File ID"] = input_file
            seed_definition(registry_table, external_id, Attributes=attributes)
    app_settings.set("REQUIRE_REGISTERED_JOBS", "true")
    yield host


@schema.parametrize()
# One running app for all of an operation's cases, as a deployed app serves them all.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_app_keeps_the_contract_it_publishes(case, seeded_host: LocalHost) -> None:
    case.call_and_validate(base_url=f"{seeded_host.url}/api", timeout=TIMEOUT)
