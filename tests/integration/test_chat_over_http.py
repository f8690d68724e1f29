"""The chat job end to end over real HTTP: the local host serving `function_app.app`, the
simulator as Azure OpenAI and its token endpoint, Azurite as the registry."""

from __future__ import annotations

import time

import pytest
import requests

from local.host import LocalHost
from local.simulator import Fault, Simulator
from tests.helpers import api, seed_definition

pytestmark = pytest.mark.integration


def test_chat_run_end_to_end(host, sim, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o",
        JobType="Azure OpenAI Chat Completion",
        Attributes={"OpenAI System Prompt": "Answer in French.", "OpenAI Max Tokens": "100"},
    )
    response = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "Hello", "temperature": 0.2})

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["run_id"] == "gpt-4o#sync#Success"
    assert body["status"] == "Success"
    assert body["response"].startswith("Simulated reply from gpt-4o")
    (call,) = sim.requests()
    assert call.raw_path == "/openai/deployments/gpt-4o/chat/completions"
    assert call.query == {"api-version": "2024-10-21"}
    assert call.headers["authorization"].removeprefix("Bearer ") in sim.issued_tokens()
    assert call.json() == {
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
        ],
        "max_tokens": 100,
        "temperature": 0.2,
    }
    assert body["request_id"] == call.response_headers["apim-request-id"]
    assert body["prompt_tokens"] > 0 and body["completion_tokens"] > 0
    assert body["total_tokens"] == body["prompt_tokens"] + body["completion_tokens"]
    assert body["finish_reason"] == "stop"
    assert body["model"] == "gpt-4o-2024-08-06"


def test_status_poll_with_percent_encoded_hashes(host, sim):
    response = api(host, "GET", "status/gpt-4o%23sync%23Success")
    assert response.status_code == 200
    assert response.json()["status"] == "Success"
    failed = api(host, "GET", "status/gpt-4o%23sync%23Failed")
    assert failed.status_code == 422
    assert (failed.json()["status"], failed.json()["error"]["code"]) == ("Failed", "RunFailed")
    assert sim.requests() == []


def test_function_key_is_required_and_health_is_anonymous(host, sim):
    no_key = api(host, "POST", "chat/gpt-4o", key=None, json={"user_prompt": "u"})
    assert (no_key.status_code, no_key.content) == (401, b"")  # the host's answer
    health = api(host, "GET", "health", key=None)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert sim.requests() == []


@pytest.mark.parametrize(
    "in_url", ["a%3Fb", "a%23b", "%2e%2e", "a%2Fb", "x" * 65, "%C3%A9", "a%00b", "a%20b"]
)
def test_bad_deployment_names_in_the_url_are_400(host, sim, in_url):
    response = api(host, "POST", f"chat/{in_url}", json={"user_prompt": "u"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidDeploymentName"
    assert sim.requests() == [] and sim.token_requests() == []


def test_bad_bodies_over_http_are_400_and_413(host, sim, app_settings):
    not_json = api(host, "POST", "chat/gpt-4o", data=b"{nope")
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "InvalidRequest")
    blank = api(host, "POST", "chat/gpt-4o", json={"user_prompt": ""})
    assert (blank.status_code, blank.json()["error"]["code"]) == (400, "InvalidRequest")
    app_settings.set("MAX_REQUEST_BYTES", "64")
    too_big = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "x" * 100})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "PayloadTooLarge"
    assert sim.requests() == []


def test_throttling_beyond_the_deadline_answers_503_with_retry_after(host, sim):
    sim.add_fault(Fault(path="chat/completions", status=429, headers={"retry-after": "120"}))
    response = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "u"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "120"
    assert response.json()["error"]["code"] == "RateLimited"
    assert len(sim.requests()) == 1


def test_429_then_success_over_http(host, sim):
    sim.add_fault(Fault(path="chat/completions", status=429, headers={"retry-after-ms": "30"}))
    response = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "u"})
    assert response.status_code == 200
    assert response.json()["status"] == "Success"
    assert len(sim.requests()) == 2


def test_unknown_deployment_is_404(host):
    response = api(host, "POST", "chat/gpt-5-nope", json={"user_prompt": "u"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"
    assert response.json()["run_id"] == "gpt-5-nope#sync#Failed"


def test_a_background_run_followed_through_its_status_link_until_it_completes(
    host: LocalHost, sim: Simulator
) -> None:
    sim.response_step_s = 0.2
    started = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "Hi", "background": True})
    assert started.status_code == 202, started.text
    url, run_id = started.json()["statusQueryUrl"], started.json()["run_id"]
    assert run_id.startswith("resp_")
    seen = []
    for _ in range(200):
        polled = requests.get(url, timeout=30)  # anonymous: the signed link is enough
        seen.append(polled.status_code)
        if polled.status_code != 202:
            break
        url = polled.json()["statusQueryUrl"]
        time.sleep(0.05)
    assert seen[-1] == 200 and set(seen[:-1]) <= {202}, seen
    done = polled.json()
    assert (done["run_id"], done["status"], done["finish_reason"]) == (run_id, "Success", "stop")
    assert done["response"] and done["api"] == "v1"
