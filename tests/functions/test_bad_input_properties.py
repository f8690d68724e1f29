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
from functools import partial

import pytest
from azure.data.tables import TableClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from local.simulator import Simulator
from tests import strategies as s
from tests.functions.helpers import Reply, chat, embed, invoke, status, submit_batch
from tests.helpers import IDENTITY_HEADER, link_signature

pytestmark = pytest.mark.usefixtures("app_env")

EXAMPLES = 150
fast = settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    deadline=None,
    derandomize=True,
    database=None,
)


Caller = Callable[[str, bytes], Reply]


def answer(reply: Reply) -> s.Answer:
    return s.Answer(reply.status, reply.body, json.dumps(reply.body, ensure_ascii=False))


Oracle = Callable[[str, bytes], s.Expected]


def run_property(
    sim: Simulator, call: Caller, oracle: Oracle, name: str, body: tuple[s.Body, str], file: str
) -> None:
    """One example: `body` is the body and the marker it carries."""
    sim.clear()
    raw = body[0].encode(file)
    s.verify(oracle(name, raw), answer(call(name, raw)), sim, body[1])


# --- chat_run -------------------------------------------------------------------------------


@fast
@given(name=s.deployment_names(), body=s.bodies(s.chat_fields))
def test_chat_any_deployment_name(sim, seeded, name, body):
    run_property(sim, chat, s.expect_chat, name, body, seeded)


@fast
@given(name=s.plausible_names(), body=s.bodies(s.chat_fields))
def test_chat_any_body(sim, seeded, name, body):
    run_property(sim, chat, s.expect_chat, name, body, seeded)


@fast
@given(name=st.sampled_from(sorted(s.SERVED_CHAT)), obj=s.valid_bodies(s.chat_fields))
def test_chat_any_valid_body_is_a_run(sim, seeded, name, obj):
    sim.clear()
    reply = chat(name, obj)
    assert reply.status == 200, reply.body
    s.verify(s.expect_chat(name, s.Body(obj).encode()), answer(reply), sim, None)


# --- embedding_run --------------------------------------------------------------------------


@fast
@given(name=s.deployment_names(), body=s.bodies(s.embedding_fields))
def test_embedding_any_deployment_name(sim, seeded, name, body):
    run_property(sim, embed, s.expect_embedding, name, body, seeded)


@fast
@given(name=s.plausible_names(), body=s.bodies(s.embedding_fields))
def test_embedding_any_body(sim, seeded, name, body):
    run_property(sim, embed, s.expect_embedding, name, body, seeded)


@fast
@given(obj=s.valid_bodies(s.embedding_fields))
def test_embedding_any_valid_body_is_a_run(sim, seeded, obj):
    sim.clear()
    reply = embed("text-embedding-3-small", obj)
    assert reply.status == 200, reply.body
    raw = s.Body(obj).encode()
    s.verify(s.expect_embedding("text-embedding-3-small", raw), answer(reply), sim, None)


# --- batch_run ------------------------------------------------------------------------------


@fast
@given(name=s.deployment_names(batch=True), body=s.bodies(s.batch_fields))
def test_batch_any_deployment_name(sim, seeded, name, body):
    oracle = partial(s.expect_batch, known_file=seeded)
    run_property(sim, submit_batch, oracle, name, body, seeded)


@fast
@given(name=s.plausible_names(batch=True), body=s.bodies(s.batch_fields))
def test_batch_any_body(sim, seeded, name, body):
    oracle = partial(s.expect_batch, known_file=seeded)
    run_property(sim, submit_batch, oracle, name, body, seeded)


# --- run_status -----------------------------------------------------------------------------


@pytest.fixture
def known_batch(seeded: str) -> tuple[str, dict[str, str]]:
    """A batch this app submitted, and its status link's signature (`expires`, `sig`)."""
    reply = submit_batch("gpt-4o", {"input_file_id": seeded})
    assert reply.status == 202, reply.body
    return str(reply.body["run_id"]), link_signature(reply.body["statusQueryUrl"])


@fast
@given(run_id=s.run_ids(), deployment=s.query_values())
@example(run_id=s.KNOWN_BATCH, deployment="gpt-4o")  # the signed poll, always
def test_status_any_run_id_and_deployment(sim, known_batch, run_id, deployment):
    """Any run id and deployment; the known batch is polled with its link's signature, which
    holds only for the deployment it was signed with."""
    sim.clear()
    params = {} if deployment is None else {"deployment": deployment}
    signed = False
    if run_id == s.KNOWN_BATCH:
        run_id, signature = known_batch
        params |= signature
        signed = deployment == "gpt-4o"
    reply = status(run_id, sign=False, params=params)
    s.verify(s.expect_status(run_id, deployment, signed), answer(reply), sim, None)


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


@fast
@given(
    job_type=st.sampled_from([None, *s.JOB_TYPES]),
    include_retired=st.sampled_from([None, "true", "false"]),
)
def test_jobs_any_valid_query_lists_the_registry(sim, discovered, job_type, include_retired):
    sim.clear()
    params = query(job_type=job_type, include_retired=include_retired)
    reply = invoke("jobs_list", "GET", "jobs", params=params)
    assert reply.status == 200, reply.body
    s.verify(s.expect_jobs(job_type, include_retired), answer(reply), sim, None)


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
