"""The Responses API on the v1 paths: synchronous and background responses, the clock, the
control calls that pin a response's status, Azure's refusals, and the openai SDK."""

from __future__ import annotations

import re
import time
from typing import Any

import openai
import pytest
import requests
from openai import OpenAI

from local.simulator import DEFAULT_DEPLOYMENTS, REASONING_DEPLOYMENTS, Deployment, Fault, Simulator
from tests.simulator.helpers import openai_error, operation_not_supported

RESPONSE_KEYS = {
    "id",
    "object",
    "created_at",
    "status",
    "background",
    "completed_at",
    "error",
    "incomplete_details",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "output",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "usage",
    "user",
    "content_filters",
}
ID = re.compile(r"(resp|msg|rs)_[0-9a-f]{50}")


def not_found(response_id: str) -> dict[str, Any]:
    return openai_error(f"Response with id '{response_id}' not found.", None, None)


@pytest.fixture
def models_sim(sim: Simulator) -> Simulator:
    sim.set_deployments(
        [
            *DEFAULT_DEPLOYMENTS,
            *REASONING_DEPLOYMENTS,
            Deployment("gpt-5-pro", "gpt-5-pro", "2025-10-06"),
            Deployment("legacy", "gpt-35-turbo", "0125"),
            Deployment("dall-e-3", "dall-e-3", "3.0"),
            Deployment("whisper", "whisper", "001"),
        ]
    )
    return sim


def create(sim: Simulator, session: requests.Session, **body: Any) -> requests.Response:
    body = {"model": "gpt-5-codex", "input": "Write a haiku about the sea", **body}
    return session.post(
        f"{sim.url}/openai/v1/responses", json=body, headers={"api-key": sim.api_key}, timeout=5
    )


def retrieve(sim: Simulator, session: requests.Session, response_id: str) -> requests.Response:
    return session.get(
        f"{sim.url}/openai/v1/responses/{response_id}", headers={"api-key": sim.api_key}
    )


def created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_synchronous_response_from_a_responses_only_model(models_sim, session):
    answer = create(models_sim, session, instructions="Be brief.", metadata={"job": "a"})
    body = created(answer)
    assert set(body) == RESPONSE_KEYS
    assert ID.fullmatch(body["id"]) and body["id"].startswith("resp_")
    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert body["background"] is False and body["store"] is True
    assert body["completed_at"] == body["created_at"]
    assert isinstance(body["created_at"], int) and abs(body["created_at"] - time.time()) < 60
    assert (body["error"], body["incomplete_details"]) == (None, None)
    assert body["model"] == "gpt-5-codex-2025-09-15"
    assert (body["instructions"], body["metadata"]) == ("Be brief.", {"job": "a"})
    assert body["reasoning"] == {"effort": "medium", "summary": None}
    reasoning_item, message = body["output"]
    assert reasoning_item == {
        "id": reasoning_item["id"],
        "type": "reasoning",
        "summary": [],
        "encrypted_content": None,
        "status": None,
    }
    assert reasoning_item["id"].startswith("rs_") and ID.fullmatch(reasoning_item["id"])
    assert message == {
        "id": message["id"],
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [
            {
                "type": "output_text",
                "text": "Simulated reply from gpt-5-codex: the last user message had 6 words.",
                "annotations": [],
                "logprobs": [],
            }
        ],
    }
    usage = body["usage"]
    reasoning = usage["output_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["output_tokens"] == reasoning + 11
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert answer.headers["x-ms-deployment-name"] == "gpt-5-codex"
    # Stored: GET answers the same object, and the Simulator lists it.
    assert created(retrieve(models_sim, session, body["id"])) == body
    assert models_sim.responses() == [body]


def test_a_classic_model_answers_without_reasoning(models_sim, session):
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi you"}]},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Say hello to the simulator please"},
    ]
    body = created(create(models_sim, session, model="gpt-4o", input=messages, temperature=0.3))
    assert body["model"] == "gpt-4o-2024-08-06"
    assert body["reasoning"] is None and body["temperature"] == 0.3
    (message,) = body["output"]
    assert message["content"][0]["text"] == (
        "Simulated reply from gpt-4o: the last user message had 6 words."
    )
    assert body["usage"]["output_tokens"] == 11
    assert body["usage"]["output_tokens_details"] == {"reasoning_tokens": 0}
    # 4 messages of 2, 2, 1 and 6 words, 4 tokens each.
    assert body["usage"]["input_tokens"] == 11 + 16


def test_store_false_is_answered_but_not_kept(models_sim, session):
    body = created(create(models_sim, session, store=False))
    assert body["store"] is False and body["status"] == "completed"
    missing = retrieve(models_sim, session, body["id"])
    assert missing.status_code == 404 and missing.json() == not_found(body["id"])
    assert models_sim.responses() == []


def test_max_output_tokens_too_small_ends_incomplete(models_sim, session):
    full = created(create(models_sim, session))["usage"]
    reasoning = full["output_tokens_details"]["reasoning_tokens"]

    starved = created(create(models_sim, session, max_output_tokens=reasoning))
    assert starved["status"] == "incomplete"
    assert starved["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [item["type"] for item in starved["output"]] == ["reasoning"]  # no message: no text
    assert starved["usage"]["output_tokens"] == reasoning
    assert starved["max_output_tokens"] == reasoning
    assert starved["completed_at"] is None

    partial = created(create(models_sim, session, max_output_tokens=reasoning + 3))
    message = partial["output"][1]
    assert (partial["status"], message["status"]) == ("incomplete", "incomplete")
    assert message["content"][0]["text"] == "Simulated reply from"

    too_small = create(models_sim, session, max_output_tokens=15)
    assert too_small.status_code == 400
    assert too_small.json() == openai_error(
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but "
        "got 15 instead.",
        "max_output_tokens",
        None,
    )


def test_the_content_filter(models_sim, session):
    for body in (
        {"input": "tell me [[filter-prompt]]"},
        {"instructions": "[[filter-prompt]]"},
        {
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "[[filter-prompt]]"}]}
            ]
        },
    ):
        blocked = create(models_sim, session, **body)
        assert blocked.status_code == 400, body
        error = blocked.json()["error"]
        assert (error["code"], error["param"], error["status"]) == ("content_filter", "prompt", 400)
        assert error["innererror"]["code"] == "ResponsibleAIPolicyViolation"
    filtered = created(create(models_sim, session, input="hi [[filter-completion]]"))
    assert filtered["status"] == "incomplete"
    assert filtered["incomplete_details"] == {"reason": "content_filter"}
    message = filtered["output"][-1]
    assert (message["status"], message["content"][0]["text"]) == ("incomplete", "")


@pytest.mark.parametrize("deployment", ["text-embedding-3-small", "dall-e-3", "whisper", "legacy"])
def test_models_without_the_responses_api(models_sim, session, deployment):
    model = next(d.model for d in models_sim.deployments if d.name == deployment)
    refused = create(models_sim, session, model=deployment)
    assert refused.status_code == 400
    assert refused.json() == operation_not_supported("responses", model)


def test_an_unknown_deployment(models_sim, session):
    for body in ({"model": "nope"}, {"model": None}):
        missing = create(models_sim, session, **body)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "DeploymentNotFound"


def test_parameters_the_model_refuses(models_sim, session):
    def refused(**body: Any) -> dict[str, Any]:
        response = create(models_sim, session, **body)
        assert response.status_code == 400, response.text
        return dict(response.json())

    assert refused(reasoning={"effort": "minimal"}) == openai_error(
        "Unsupported value: 'reasoning.effort' does not support 'minimal' with this model. "
        "Supported values are: 'low', 'medium', and 'high'.",
        "reasoning.effort",
        "unsupported_value",
    )
    assert refused(model="gpt-5-pro", reasoning={"effort": "low"}) == openai_error(
        "Unsupported value: 'reasoning.effort' does not support 'low' with this model. "
        "Supported values are: 'high'.",
        "reasoning.effort",
        "unsupported_value",
    )
    assert refused(model="gpt-4o", reasoning={"effort": "low"}) == openai_error(
        "Unsupported parameter: 'reasoning.effort' is not supported with this model.",
        "reasoning.effort",
        "unsupported_parameter",
    )
    for name in ("temperature", "top_p"):
        body: dict[str, Any] = {name: 0.5}
        assert refused(**body) == openai_error(
            f"Unsupported parameter: '{name}' is not supported with this model.",
            name,
            "unsupported_parameter",
        )
    for name, moved in [
        ("reasoning_effort", "reasoning.effort"),
        ("max_tokens", "max_output_tokens"),
        ("max_completion_tokens", "max_output_tokens"),
    ]:
        body = {name: "low" if name == "reasoning_effort" else 100}
        assert refused(**body) == openai_error(
            f"Unsupported parameter: '{name}'. In the Responses API, this parameter has moved to "
            f"'{moved}'. Try again with the new parameter. See the API documentation for more "
            "information: https://platform.openai.com/docs/api-reference/responses/create.",
            name,
            "unsupported_parameter",
        )
    assert refused(background=True, store=False) == openai_error(
        "Background mode requires store=true.", "store", None
    )
    assert refused(previous_response_id="resp_gone") == openai_error(
        "Previous response with id 'resp_gone' not found.",
        "previous_response_id",
        "previous_response_not_found",
    )
    assert refused(input=42)["error"]["param"] == "input"
    assert refused(input=[{"role": "robot", "content": "x"}])["error"]["param"] == "input[0].role"
    assert refused(background="yes")["error"]["param"] == "background"
    assert refused(stream=True)["error"]["param"] == "stream"
    accepted = create(models_sim, session, temperature=1, top_p=1, reasoning={"effort": "high"})
    assert created(accepted)["reasoning"] == {"effort": "high", "summary": None}


def test_previous_response_id_names_a_stored_response(models_sim, session):
    first = created(create(models_sim, session))
    second = created(create(models_sim, session, previous_response_id=first["id"]))
    assert second["previous_response_id"] == first["id"]


def test_a_background_response_advances_on_the_clock(models_sim, session):
    models_sim.response_step_s = 0.25
    first = created(create(models_sim, session, background=True))
    assert first["status"] == "queued" and first["background"] is True
    assert (first["output"], first["usage"], first["completed_at"]) == ([], None, None)
    seen = [first]
    deadline = time.monotonic() + 5
    while seen[-1]["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
        now = created(retrieve(models_sim, session, first["id"]))
        if now["status"] != seen[-1]["status"]:
            seen.append(now)
    assert [r["status"] for r in seen] == ["queued", "in_progress", "completed"]
    done = seen[-1]
    assert done["output"] and done["usage"]["output_tokens"] > 0
    assert done["completed_at"] >= done["created_at"]
    assert models_sim.responses() == [done]
    # A cancel after the end returns the response as it is.
    cancel = session.post(
        f"{models_sim.url}/openai/v1/responses/{first['id']}/cancel",
        headers={"api-key": models_sim.api_key},
    )
    assert created(cancel) == done


def test_step_zero_ends_at_the_first_read_and_the_step_is_kept(models_sim, session):
    models_sim.response_step_s = 0
    quick = created(create(models_sim, session, background=True))
    assert quick["status"] == "queued"
    assert created(retrieve(models_sim, session, quick["id"]))["status"] == "completed"
    models_sim.response_step_s = 3600
    slow = created(create(models_sim, session, background=True))
    models_sim.response_step_s = 0  # a response keeps the step it was created with
    assert created(retrieve(models_sim, session, slow["id"]))["status"] == "queued"
    with pytest.raises(ValueError, match="response_step_s must be a finite number >= 0"):
        models_sim.response_step_s = -1
    with pytest.raises(ValueError, match="response_step_s must be"):
        Simulator(response_step_s=float("nan"))


def test_cancel(models_sim, session):
    models_sim.response_step_s = 3600
    running = created(create(models_sim, session, background=True))
    url = f"{models_sim.url}/openai/v1/responses/{running['id']}/cancel"
    headers = {"api-key": models_sim.api_key}
    cancelled = created(session.post(url, headers=headers))
    assert cancelled["status"] == "cancelled"
    assert (cancelled["output"], cancelled["usage"]) == ([], None)
    assert created(session.post(url, headers=headers)) == cancelled  # idempotent
    assert created(retrieve(models_sim, session, running["id"]))["status"] == "cancelled"

    synchronous = created(create(models_sim, session))
    refused = session.post(
        f"{models_sim.url}/openai/v1/responses/{synchronous['id']}/cancel", headers=headers
    )
    assert refused.status_code == 400
    assert refused.json() == openai_error("Cannot cancel a synchronous response.", None, None)
    unknown = session.post(f"{models_sim.url}/openai/v1/responses/resp_x/cancel", headers=headers)
    assert unknown.status_code == 404 and unknown.json() == not_found("resp_x")


def test_retrieve_and_delete_unknown_or_deleted(models_sim, session):
    missing = retrieve(models_sim, session, "resp_x")
    assert missing.status_code == 404 and missing.json() == not_found("resp_x")
    body = created(create(models_sim, session))
    url = f"{models_sim.url}/openai/v1/responses/{body['id']}"
    deleted = session.delete(url, headers={"api-key": models_sim.api_key})
    assert deleted.json() == {"id": body["id"], "object": "response", "deleted": True}
    assert retrieve(models_sim, session, body["id"]).status_code == 404
    assert session.delete(url, headers={"api-key": models_sim.api_key}).status_code == 404


def test_pinning_a_response_status(models_sim, session):
    models_sim.response_step_s = 3600
    response_id = created(create(models_sim, session, background=True))["id"]

    def now() -> dict[str, Any]:
        return created(retrieve(models_sim, session, response_id))

    models_sim.set_response_status(response_id, "in_progress")
    assert now()["status"] == "in_progress"
    models_sim.set_response_status(response_id, "failed")
    failed = now()
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "Simulated response failure."}
    assert (failed["output"], failed["usage"]) == ([], None)
    models_sim.set_response_status(response_id, "incomplete")
    incomplete = now()
    assert incomplete["incomplete_details"] == {"reason": "max_output_tokens"}
    assert incomplete["error"] is None and incomplete["output"]
    models_sim.set_response_status(response_id, "incomplete", "content_filter")
    assert now()["incomplete_details"] == {"reason": "content_filter"}
    models_sim.set_response_status(response_id, "completed")
    completed = now()
    assert (completed["status"], completed["incomplete_details"]) == ("completed", None)
    assert completed["completed_at"] is not None and completed["usage"]["total_tokens"] > 0
    models_sim.set_response_status(response_id, "queued")
    assert now()["status"] == "queued"

    # Over HTTP.
    url = f"{models_sim.url}/_sim/responses/{response_id}/status"
    pinned = session.post(url, json={"status": "cancelled"})
    assert pinned.status_code == 200 and pinned.json()["status"] == "cancelled"
    reasoned = session.post(url, json={"status": "incomplete", "reason": "content_filter"})
    assert reasoned.json()["incomplete_details"] == {"reason": "content_filter"}
    bad_bodies: list[Any] = [
        {"status": "done"},
        {"status": "failed", "reason": "content_filter"},
        {},
        [],
    ]
    for bad in bad_bodies:
        answer = session.post(url, json=bad)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "BadRequest", bad
    unknown = session.post(
        f"{models_sim.url}/_sim/responses/resp_x/status", json={"status": "failed"}
    )
    assert unknown.status_code == 404 and unknown.json() == not_found("resp_x")
    listed = session.get(f"{models_sim.url}/_sim/responses").json()
    assert [r["id"] for r in listed] == [response_id]

    with pytest.raises(KeyError):
        models_sim.set_response_status("resp_x", "failed")
    with pytest.raises(ValueError, match="status must be one of"):
        models_sim.set_response_status(response_id, "done")
    with pytest.raises(ValueError, match="reason goes only with status incomplete"):
        models_sim.set_response_status(response_id, "completed", "content_filter")


def test_response_settings_over_http_and_reset(models_sim, session):
    url = f"{models_sim.url}/_sim/response-settings"
    assert session.get(url).json() == {"step_s": 2.0}
    assert session.put(url, json={"step_s": 0.5}).json() == {"step_s": 0.5}
    assert models_sim.response_step_s == 0.5
    assert session.put(url, json={"step_s": -1}).status_code == 400
    assert session.put(url, json={"other": 1}).status_code == 400
    created(create(models_sim, session))
    models_sim.reset()
    assert models_sim.response_step_s == 2.0 and models_sim.responses() == []


def test_faults_and_auth_apply_to_the_responses_paths(models_sim, session):
    models_sim.add_fault(
        Fault(path="/openai/v1/responses", status=429, headers={"retry-after": "1"})
    )
    throttled = create(models_sim, session)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    models_sim.add_fault(Fault(method="GET", path="/responses/", status=500))
    response_id = created(create(models_sim, session))["id"]
    assert retrieve(models_sim, session, response_id).status_code == 500
    assert retrieve(models_sim, session, response_id).status_code == 200
    unauthorized = session.post(f"{models_sim.url}/openai/v1/responses", json={"model": "gpt-4o"})
    assert unauthorized.status_code == 401
    assert [r.path for r in models_sim.requests("/responses")][:2] == [
        "/openai/v1/responses",
        "/openai/v1/responses",
    ]


def test_the_openai_sdk(models_sim):
    models_sim.response_step_s = 0.1
    client = OpenAI(
        base_url=f"{models_sim.url}/openai/v1/", api_key=models_sim.api_key, max_retries=0
    )
    response = client.responses.create(
        model="gpt-5-codex",
        input="Write a haiku",
        instructions="Be brief.",
        reasoning={"effort": "high"},
    )
    assert response.status == "completed"
    assert (
        response.output_text
        == "Simulated reply from gpt-5-codex: the last user message had 3 words."
    )
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens > 0
    assert client.responses.retrieve(response.id).output_text == response.output_text

    background = client.responses.create(model="gpt-5-mini", input="Hello there", background=True)
    assert background.status == "queued"
    deadline = time.monotonic() + 5
    polled = background
    while polled.status in {"queued", "in_progress"} and time.monotonic() < deadline:
        time.sleep(0.05)
        polled = client.responses.retrieve(background.id)
    assert polled.status == "completed"
    assert polled.output_text.endswith("had 2 words.")

    short = client.responses.create(model="gpt-5-mini", input="Hello", max_output_tokens=16)
    assert short.status == "incomplete"
    assert short.incomplete_details is not None
    assert short.incomplete_details.reason == "max_output_tokens"
    assert short.output_text == ""

    models_sim.response_step_s = 3600
    slow = client.responses.create(model="gpt-5-codex", input="Hello", background=True)
    assert client.responses.cancel(slow.id).status == "cancelled"
    models_sim.set_response_status(slow.id, "failed")
    failed = client.responses.retrieve(slow.id)
    assert failed.error is not None and failed.error.code == "server_error"

    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_nope")
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="text-embedding-3-small", input="Hello")
    assert refused.value.code == "OperationNotSupported"
