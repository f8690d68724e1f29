"""Chat jobs on every current model family, called as the host calls the functions, against the
simulator's model families (exact Azure refusals) and Azurite: reasoning models, the v1 API,
Responses-only models, background runs, and models that cannot chat."""

from __future__ import annotations

import pytest

from local.simulator import DEFAULT_DEPLOYMENTS, Deployment, Fault, Simulator
from tests.functions.helpers import (
    assert_failed,
    assert_no_call_to_azure,
    chat,
    embed,
    invoke,
    only_call,
    status,
    submit_batch,
)
from tests.helpers import assert_status_link, link_params, seed_definition

pytestmark = pytest.mark.usefixtures("app_env")

CHAT = "Azure OpenAI Chat Completion"
FAMILIES = (
    Deployment("gpt-5-mini", "gpt-5-mini", "2025-08-07", "GlobalStandard", 50),
    Deployment("reasoner", "o4-mini", "2025-04-16", "GlobalStandard", 50),
    Deployment("gpt-5-codex", "gpt-5-codex", "2025-09-15", "GlobalStandard", 50),
    Deployment("gpt-5-pro", "gpt-5-pro", "2025-10-06", "GlobalStandard", 50),
    Deployment("dall-e-3", "dall-e-3", "3.0", "Standard", 1),
)
ASK = {"user_prompt": "What is 2 + 2?"}
ORIGIN = "http://localhost:7071"


@pytest.fixture(autouse=True)
def families(sim: Simulator) -> None:
    sim.set_deployments([*DEFAULT_DEPLOYMENTS, *FAMILIES])


def discover() -> None:
    assert invoke("discovery_run", "POST", "discovery").status == 200


def adjustments(reply) -> list[tuple[str, str, object]]:
    return [(a["parameter"], a["action"], a.get("to")) for a in reply.body["adjustments"]]


# --- 1, 2: reasoning models just work; known models first time, unknown ones learn ------------


def test_a_reasoning_deployment_with_max_tokens_and_temperature_attributes_just_works(
    sim, registry_table
):
    discover()
    seed_definition(
        registry_table,
        "gpt-5-mini",
        JobType=CHAT,
        DeploymentName="gpt-5-mini",
        ModelName="gpt-5-mini",
        Attributes={"OpenAI Max Tokens": "300", "OpenAI Temperature": "0.2"},
    )
    sim.clear()
    reply = chat("gpt-5-mini", ASK)
    assert reply.status == 200, reply.body
    call = only_call(sim)
    assert (call.raw_path, call.query) == ("/openai/v1/chat/completions", {})
    assert call.json() == {
        "model": "gpt-5-mini",
        "messages": [{"role": "user", "content": ASK["user_prompt"]}],
        "max_completion_tokens": 300,
    }
    body = reply.body
    assert (body["status"], body["api"], body["finish_reason"]) == ("Success", "v1", "stop")
    assert body["response"] and body["reasoning_tokens"] > 0 and body["cached_tokens"] is not None
    assert adjustments(reply) == [
        ("api", "switched", "v1"),
        ("max_tokens", "renamed", "max_completion_tokens"),
        ("temperature", "dropped", None),
    ]
    assert chat("gpt-5-mini", ASK).body["adjustments"] == body["adjustments"]  # every run


def test_after_discovery_each_family_is_called_right_the_first_time(sim):
    discover()
    for deployment, path in (
        ("gpt-4o", "/openai/deployments/gpt-4o/chat/completions"),
        ("reasoner", "/openai/v1/chat/completions"),
        ("gpt-5-codex", "/openai/v1/responses"),
    ):
        sim.clear()
        reply = chat(deployment, ASK | {"max_tokens": 50})
        assert reply.status == 200, (deployment, reply.body)
        assert [c.raw_path for c in sim.requests()] == [path]


def test_an_unknown_reasoning_deployment_learns_from_azure_then_makes_one_call(sim):
    first = chat("reasoner", ASK | {"max_tokens": 50, "temperature": 0.2})
    assert first.status == 200, first.body
    refused, retried = sim.requests()
    assert refused.raw_path == "/openai/deployments/reasoner/chat/completions"
    assert retried.raw_path == "/openai/v1/chat/completions"
    assert retried.json()["max_completion_tokens"] == 50 and "temperature" not in retried.json()
    reasons = {a["parameter"]: a["reason"] for a in first.body["adjustments"]}
    assert "enabled only for api versions" in reasons["max_tokens"]  # what Azure answered
    sim.clear()
    assert chat("reasoner", ASK | {"max_tokens": 50}).status == 200
    assert [c.raw_path for c in sim.requests()] == ["/openai/v1/chat/completions"]


def test_an_unknown_responses_only_deployment_learns_operation_not_supported(sim):
    reply = chat("gpt-5-codex", ASK)
    assert reply.status == 200, reply.body
    assert [c.raw_path for c in sim.requests()] == [
        "/openai/deployments/gpt-5-codex/chat/completions",
        "/openai/v1/responses",
    ]
    assert adjustments(reply) == [("api", "switched", "responses")]


def test_other_400s_are_answered_as_before_with_no_retry(sim):
    sim.add_fault(
        Fault(
            path="chat/completions",
            status=400,
            body={"error": {"code": "context_length_exceeded", "message": "too long"}},
        )
    )
    reply = chat("gpt-4o", ASK)
    assert_failed(reply, 422, "context_length_exceeded", run_id="gpt-4o#sync#Failed")
    assert len(sim.requests()) == 1


# --- 3: the v1 API ----------------------------------------------------------------------------


def test_the_v1_setting_sends_chat_and_embeddings_to_v1_with_the_model_in_the_body(
    sim, app_settings
):
    app_settings.set("AZURE_OPENAI_API_VERSION", "v1")
    reply = chat("gpt-4o", ASK | {"max_tokens": 20})
    assert (reply.status, reply.body["api"], reply.body["adjustments"]) == (200, "v1", [])
    call = only_call(sim)
    assert (call.raw_path, call.query) == ("/openai/v1/chat/completions", {})
    assert call.json()["model"] == "gpt-4o" and call.json()["max_tokens"] == 20
    sim.clear()
    embedded = embed("text-embedding-3-small", {"input": "x"})
    assert (embedded.status, embedded.body["api"]) == (200, "v1")
    call = only_call(sim)
    assert call.raw_path == "/openai/v1/embeddings"
    assert call.json() == {"model": "text-embedding-3-small", "input": "x"}


def test_classic_models_on_the_default_setting_keep_the_seeds_request(sim):
    reply = chat("gpt-4o", ASK)
    call = only_call(sim)
    assert call.query == {"api-version": "2024-10-21"}
    assert call.json() == {"messages": [{"role": "user", "content": ASK["user_prompt"]}]}
    assert (reply.body["api"], reply.body["adjustments"]) == ("2024-10-21", [])
    assert reply.body["reasoning_tokens"] in (None, 0)  # gpt-4o does not reason


# --- 4: reasoning effort ----------------------------------------------------------------------


def test_a_reasoning_effort_goes_to_a_model_that_takes_it(sim):
    discover()
    sim.clear()
    assert chat("reasoner", ASK | {"reasoning_effort": "high"}).status == 200
    assert only_call(sim).json()["reasoning_effort"] == "high"


def test_a_reasoning_effort_is_dropped_for_a_model_that_takes_none(sim):
    reply = chat("gpt-4o", ASK | {"reasoning_effort": "low"})
    assert reply.status == 200
    assert "reasoning_effort" not in only_call(sim).json()
    assert adjustments(reply) == [("reasoning_effort", "dropped", None)]


def test_a_bad_reasoning_effort_is_400_in_the_body_and_500_in_the_attribute(sim, registry_table):
    reply = chat("gpt-4o", ASK | {"reasoning_effort": "maximal"})
    assert_failed(reply, 400, "InvalidRequest", run_id="gpt-4o#sync#Failed")
    assert reply.body["error"]["details"][0]["field"] == "reasoning_effort"
    seed_definition(
        registry_table, "gpt-4o", JobType=CHAT, Attributes={"OpenAI Reasoning Effort": "lots"}
    )
    bad = chat("gpt-4o", ASK)
    assert_failed(bad, 500, "InvalidJobDefinition", run_id="gpt-4o#sync#Failed")
    assert_no_call_to_azure(sim)


# --- 5: Responses-only models ------------------------------------------------------------------


def test_a_responses_only_model_runs_as_a_chat_job(sim):
    discover()
    sim.clear()
    reply = chat("gpt-5-codex", ASK | {"system_prompt": "Be brief.", "max_tokens": 500})
    assert reply.status == 200, reply.body
    call = only_call(sim)
    assert call.json() == {
        "model": "gpt-5-codex",
        "input": ASK["user_prompt"],
        "instructions": "Be brief.",
        "max_output_tokens": 500,
    }
    (stored,) = sim.responses()
    body = reply.body
    assert body["finish_reason"] == "stop" and body["response"]
    assert body["prompt_tokens"] == stored["usage"]["input_tokens"]
    assert body["completion_tokens"] == stored["usage"]["output_tokens"]
    assert body["reasoning_tokens"] == stored["usage"]["output_tokens_details"]["reasoning_tokens"]
    assert body["api"] == "v1" and body["run_id"] == "gpt-5-codex#sync#Success"


def test_an_incomplete_response_is_success_with_finish_reason_length(sim):
    discover()
    reply = chat("gpt-5-codex", ASK | {"max_tokens": 16})  # Azure's smallest max_output_tokens
    assert (reply.status, reply.body["finish_reason"]) == (200, "length")


# --- 6: runs longer than the HTTP limit ------------------------------------------------------


def background(sim) -> tuple[str, str]:
    reply = chat("gpt-4o", ASK | {"background": True})
    assert reply.status == 202, reply.body
    run_id, url = reply.body["run_id"], reply.body["statusQueryUrl"]
    assert run_id.startswith("resp_") and reply.body["status"] == "Running"
    assert_status_link(url, ORIGIN, run_id, "gpt-4o")
    assert only_call(sim).json()["background"] is True
    return run_id, url


def test_a_background_run_is_polled_through_its_link_until_azure_completes_it(sim):
    run_id, url = background(sim)
    polled = status(run_id, params=link_params(url))
    assert (polled.status, polled.body["status"]) == (202, "Running")
    sim.set_response_status(run_id, "completed")
    done = status(run_id, params=link_params(url))
    assert done.status == 200, done.body
    assert (done.body["run_id"], done.body["status"], done.body["finish_reason"]) == (
        run_id,
        "Success",
        "stop",
    )
    assert done.body["response"] and done.body["total_tokens"] > 0


@pytest.mark.parametrize(
    ("state", "status_code", "code"),
    [("failed", 422, "ResponseFailed"), ("cancelled", 422, "ResponseCancelled")],
)
def test_a_background_run_azure_ends_badly_is_422(sim, state, status_code, code):
    run_id, url = background(sim)
    sim.set_response_status(run_id, state)
    reply = status(run_id, params=link_params(url))
    assert_failed(reply, status_code, code, run_id=run_id)


def test_an_incomplete_background_run_is_success_with_its_finish_reason(sim):
    run_id, url = background(sim)
    sim.set_response_status(run_id, "incomplete")
    reply = status(run_id, params=link_params(url))
    assert (reply.status, reply.body["finish_reason"]) == (200, "length")


def test_an_unknown_response_is_404_and_an_unsigned_poll_401(sim):
    unknown = status("resp_0123456789abcdef", params={"deployment": "gpt-4o"})
    assert_failed(unknown, 404, "ResponseNotFound", run_id="resp_0123456789abcdef")
    sim.clear()
    unsigned = status("resp_0123456789abcdef", sign=False, params={"deployment": "gpt-4o"})
    assert_failed(unsigned, 401, "InvalidStatusLink", run_id="resp_0123456789abcdef")
    assert sim.requests() == []


def test_pro_models_default_to_background_and_the_attribute_overrides(
    sim, registry_table, app_settings
):
    app_settings.set("REGISTRY_CACHE_TTL_S", "0")  # the attribute is set between two runs
    discover()
    assert chat("gpt-5-pro", ASK).status == 202
    assert only_call(sim).json()["background"] is True
    sim.clear()
    seed_definition(
        registry_table,
        "gpt-5-pro",
        JobType=CHAT,
        ModelName="gpt-5-pro",
        Attributes={"OpenAI Background": "false"},
    )
    assert chat("gpt-5-pro", ASK).status == 200
    assert "background" not in only_call(sim).json()


def test_a_reasoning_run_past_its_deadline_names_the_background_attribute(sim, app_settings):
    app_settings.set("RUN_DEADLINE_S", "1")
    discover()
    sim.add_fault(Fault(path="v1/chat/completions", delay_s=3.0))
    reply = chat("reasoner", ASK)
    assert_failed(reply, 504, "UpstreamTimeout", run_id="reasoner#sync#Failed")
    assert "OpenAI Background" in reply.body["error"]["hint"]


# --- 7: models that cannot chat --------------------------------------------------------------


def test_a_model_that_cannot_chat_fails_fast_for_chat_and_batch(sim):
    discover()
    sim.clear()
    reply = chat("dall-e-3", ASK)
    assert_failed(reply, 422, "InvalidInputModel", run_id="dall-e-3#sync#Failed")
    assert "dall-e-3" in reply.body["error"]["message"]
    batch = submit_batch("dall-e-3", {"input_file_id": "file-abc"})
    assert_failed(batch, 422, "InvalidInputModel", run_id=None)
    assert_no_call_to_azure(sim)


def test_the_jobs_list_shows_capabilities_and_profile(sim):
    discover()
    jobs = invoke("jobs_list", "GET", "jobs").body["jobs"]
    codex = next(j for j in jobs if j["external_id"] == "gpt-5-codex")
    assert codex["capabilities"]["responses"] == "true"
    assert codex["model_profile"]["api"] == "responses"
    art = next(j for j in jobs if j["external_id"] == "dall-e-3")
    assert art["model_profile"]["api"] == "none"


def test_a_response_status_the_app_does_not_know_keeps_the_run_running(sim):
    run_id, url = background(sim)
    sim.add_fault(Fault(method="GET", status=200, body={"id": run_id, "status": "paused"}))
    reply = status(run_id, params=link_params(url))
    assert (reply.status, reply.body["status"], reply.body["response_status"]) == (
        202,
        "Running",
        "paused",
    )


def test_a_definition_with_a_model_name_but_no_stored_profile_uses_the_family_table(
    sim, registry_table
):
    # hand-made, or written before profiles existed: the model name is enough for one call
    seed_definition(registry_table, "gpt-5-mini", JobType=CHAT, ModelName="gpt-5-mini")
    assert chat("gpt-5-mini", ASK | {"max_tokens": 50}).status == 200
    assert [c.raw_path for c in sim.requests()] == ["/openai/v1/chat/completions"]


def test_a_background_response_whose_id_no_poll_accepts_is_502_not_a_dead_link(sim):
    """Azure's id must be one the status route accepts (`resp_` and up to 128 letters, digits,
    `_` or `-`): else the 202's link could never be polled."""
    odd = {"id": "resp_a.b", "object": "response", "status": "queued", "model": "gpt-4o"}
    sim.add_fault(Fault(method="POST", path="/responses$", status=200, body=odd))
    reply = chat("gpt-4o", ASK | {"background": True})
    assert_failed(reply, 502, "UpstreamBadResponse", run_id="resp_a.b")
    assert "statusQueryUrl" not in reply.body
