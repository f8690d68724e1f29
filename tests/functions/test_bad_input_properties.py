"""Bad input, property-based: every HTTP function called with real `func.HttpRequest`s built
from arbitrary route parameters, query values and bodies (JSON values of every shape, raw bytes,
invalid UTF-8, deep nesting, a few KB).

Each answer is either a documented refusal that reached no Azure (`tests/strategies.py` says
which, from README's contract), or a run: a 2xx with the documented fields, or one Azure itself
refused (a well-formed name it does not serve is a valid run that gets 404 DeploymentNotFound).
Never a 5xx or a stack trace, and a refusal never echoes the body's random marker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from azure.data.tables import TableClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.simulator import Simulator
from tests import strategies as s
from tests.conftest import IDENTITY_HEADER
from tests.functions.helpers import Reply, invoke

pytestmark = pytest.mark.usefixtures("app_env")

EXAMPLES = 150
fast = settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
    derandomize=True,
    database=None,
)


def segment(value: str) -> str:
    # `helpers.run` quotes strictly; a lone surrogate goes into the URL as its raw bytes
    return quote(value, safe="", errors="surrogatepass")


Caller = Callable[[str, "bytes | dict[str, Any]"], Reply]


def runner(function: str, route: str) -> Caller:
    """`helpers.chat` and friends, for any route parameter."""

    def call(name: str, body: bytes | dict[str, Any]) -> Reply:
        path = f"{route}/{segment(name)}"
        return invoke(function, "POST", path, route_params={"deployment": name}, body=body)

    return call


chat = runner("chat_run", "chat")
embed = runner("embedding_run", "embeddings")
submit_batch = runner("batch_run", "batches")


def status(run_id: str, params: dict[str, str]) -> Reply:
    route_params = {"run_id": run_id}
    return invoke(
        "run_status", "GET", f"status/{segment(run_id)}", route_params=route_params, params=params
    )


def answer(reply: Reply) -> s.Answer:
    return s.Answer(reply.status, reply.body, json.dumps(reply.body, ensure_ascii=False))


@pytest.fixture
def seeded(sim: Simulator, registry_table: TableClient, monkeypatch: pytest.MonkeyPatch) -> str:
    """The world the oracles assume (`strategies.seed_world`), and MAX_REQUEST_BYTES low enough
    for a body of a few KB to exceed it. Returns the uploaded batch input file's id."""
    monkeypatch.setenv("MAX_REQUEST_BYTES", str(s.BODY_LIMIT))
    return s.seed_world(sim, registry_table)


Oracle = Callable[[str, bytes], s.Expected]


def run_property(
    sim: Simulator, call: Caller, oracle: Oracle, name: str, body: tuple[s.Body, str], file: str
) -> None:
    """One example: `body` is the body and the marker it carries."""
    sim.clear()
    raw = body[0].encode(file)
    s.verify(oracle(name, raw), answer(call(name, raw)), sim, body[1])


# --- chat_run -------------------------------------------------------------------------------


def chat_oracle(name: str, raw: bytes) -> s.Expected:
    return s.expect_chat(name, raw, s.BODY_LIMIT)


@fast
@given(name=s.deployment_names(), body=s.bodies(s.chat_fields))
def test_chat_any_deployment_name(sim, seeded, name, body):
    run_property(sim, chat, chat_oracle, name, body, seeded)


@fast
@given(name=s.plausible_names(), body=s.bodies(s.chat_fields))
def test_chat_any_body(sim, seeded, name, body):
    run_property(sim, chat, chat_oracle, name, body, seeded)


@fast
@given(name=st.sampled_from(sorted(s.SERVED_CHAT)), obj=s.valid_bodies(s.chat_fields))
def test_chat_any_valid_body_is_a_run(sim, seeded, name, obj):
    sim.clear()
    reply = chat(name, obj)
    assert reply.status == 200, reply.body
    s.verify(chat_oracle(name, s.Body(obj).encode()), answer(reply), sim, None)


# --- embedding_run --------------------------------------------------------------------------


def embedding_oracle(name: str, raw: bytes) -> s.Expected:
    return s.expect_embedding(name, raw, s.BODY_LIMIT)


@fast
@given(name=s.deployment_names(), body=s.bodies(s.embedding_fields))
def test_embedding_any_deployment_name(sim, seeded, name, body):
    run_property(sim, embed, embedding_oracle, name, body, seeded)


@fast
@given(name=s.plausible_names(), body=s.bodies(s.embedding_fields))
def test_embedding_any_body(sim, seeded, name, body):
    run_property(sim, embed, embedding_oracle, name, body, seeded)


@fast
@given(obj=s.valid_bodies(s.embedding_fields))
def test_embedding_any_valid_body_is_a_run(sim, seeded, obj):
    sim.clear()
    reply = embed("text-embedding-3-small", obj)
    assert reply.status == 200, reply.body
    raw = s.Body(obj).encode()
    s.verify(embedding_oracle("text-embedding-3-small", raw), answer(reply), sim, None)


# --- batch_run ------------------------------------------------------------------------------


@fast
@given(name=s.deployment_names(batch=True), body=s.bodies(s.batch_fields))
def test_batch_any_deployment_name(sim, seeded, name, body):
    def oracle(name: str, raw: bytes) -> s.Expected:
        return s.expect_batch(name, raw, s.BODY_LIMIT, seeded)

    run_property(sim, submit_batch, oracle, name, body, seeded)


@fast
@given(name=s.plausible_names(batch=True), body=s.bodies(s.batch_fields))
def test_batch_any_body(sim, seeded, name, body):
    def oracle(name: str, raw: bytes) -> s.Expected:
        return s.expect_batch(name, raw, s.BODY_LIMIT, seeded)

    run_property(sim, submit_batch, oracle, name, body, seeded)


# --- run_status -----------------------------------------------------------------------------


@pytest.fixture
def known_batch(sim: Simulator, seeded: str) -> str:
    reply = submit_batch("gpt-4o", {"input_file_id": seeded})
    assert reply.status == 202, reply.body
    return str(reply.body["run_id"])


@fast
@given(run_id=s.run_ids(), deployment=s.query_values())
def test_status_any_run_id_and_deployment(sim, known_batch, run_id, deployment):
    sim.clear()
    run_id = known_batch if run_id == s.KNOWN_BATCH else run_id
    params = {} if deployment is None else {"deployment": deployment}
    reply = status(run_id, params=params)
    s.verify(s.expect_status(run_id, deployment), answer(reply), sim, None)


# --- jobs_list, discovery_run, health -------------------------------------------------------


@pytest.fixture
def discovered(sim: Simulator, registry_table: TableClient) -> None:
    """One discovery, then a deployment gone: the registry has live and retired jobs."""
    assert invoke("discovery_run", "POST", "discovery").status == 200
    sim.set_deployments([d for d in sim.deployments if d.name != "gpt-4o-mini"])
    assert invoke("discovery_run", "POST", "discovery").body["retired"] == 2


def query(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value is not None}


@fast
@given(job_type=s.job_types(), include_retired=s.flags(), marker=s.markers)
def test_jobs_any_query(sim, discovered, job_type, include_retired, marker):
    sim.clear()
    if job_type is not None and job_type not in s.JOB_TYPES:
        job_type += marker  # an unknown job type, carrying the marker
    params = query(job_type=job_type, include_retired=include_retired)
    reply = invoke("jobs_list", "GET", "jobs", params=params)
    s.verify(s.expect_jobs(job_type, include_retired), answer(reply), sim, marker)


extra_params = st.dictionaries(
    st.one_of(st.sampled_from(["code", "deployment", "job_type", "trigger"]), st.text()),
    s.arbitrary_strings(),
    max_size=3,
)


@settings(fast, max_examples=60)  # each one lists ARM and writes the registry
@given(body=s.bodies(s.chat_fields), params=extra_params)
def test_discovery_ignores_any_body_and_query(sim, registry_table, body, params):
    sim.clear()
    reply = invoke("discovery_run", "POST", "discovery", body=body[0].encode(), params=params)
    s.verify(s.goes_ahead(s.check_discovery), answer(reply), sim, None)


@fast
@given(body=s.bodies(s.chat_fields), params=extra_params)
def test_health_ignores_any_body_and_query(sim, app_env, body, params):
    sim.clear()
    reply = invoke("health", "GET", "health", body=body[0].encode(), params=params)
    account_key = app_env["AzureWebJobsStorage"].partition("AccountKey=")[2].partition(";")[0]
    secrets = (IDENTITY_HEADER, "AccountKey", account_key, app_env["AzureWebJobsStorage"])

    def check(answer: s.Answer, sim: Simulator) -> None:
        s.check_health(answer, sim, secrets)

    s.verify(s.goes_ahead(check), answer(reply), sim, body[1])
