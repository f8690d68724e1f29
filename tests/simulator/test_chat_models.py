"""Chat Completions per model family, on the classic path and the v1 path, with Azure's exact
refusals; v1 embeddings; the openai SDK against the v1 paths."""

from __future__ import annotations

from typing import Any

import openai
import pytest
import requests
from openai import OpenAI

from local.simulator import DEFAULT_DEPLOYMENTS, REASONING_DEPLOYMENTS, Deployment, Fault, Simulator
from tests.simulator.conftest import fetch_token
from tests.simulator.helpers import openai_error, operation_not_supported

GA = "2024-10-21"
REASONING_VERSION = "2024-12-01-preview"
USER = [{"role": "user", "content": "Say hello to the simulator please"}]
DEPLOYMENT_NOT_FOUND = {
    "error": {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist. If you created the "
        "deployment within the last 5 minutes, please wait a moment and try again.",
    }
}


@pytest.fixture
def models_sim(sim: Simulator) -> Simulator:
    sim.set_deployments(
        [
            *DEFAULT_DEPLOYMENTS,
            *REASONING_DEPLOYMENTS,
            Deployment("o1", "o1", "2024-12-17"),
            Deployment("o4-mini", "o4-mini", "2025-04-16"),
            Deployment("gpt-5.1", "gpt-5.1", "2025-11-13"),
            Deployment("gpt-5-pro", "gpt-5-pro", "2025-10-06"),
            Deployment("dall-e-3", "dall-e-3", "3.0"),
            Deployment("whisper", "whisper", "001"),
        ]
    )
    return sim


def classic(
    sim: Simulator,
    session: requests.Session,
    deployment: str,
    api_version: str = REASONING_VERSION,
    **body: Any,
) -> requests.Response:
    return session.post(
        f"{sim.url}/openai/deployments/{deployment}/chat/completions",
        params={"api-version": api_version},
        headers={"api-key": sim.api_key},
        json={"messages": USER, **body},
        timeout=5,
    )


def v1(sim: Simulator, session: requests.Session, **body: Any) -> requests.Response:
    return session.post(
        f"{sim.url}/openai/v1/chat/completions",
        headers={"api-key": sim.api_key},
        json={"messages": USER, **body},
        timeout=5,
    )


def test_a_reasoning_model_answers_with_reasoning_tokens(models_sim, session):
    messages = [
        {"role": "system", "content": "You are terse."},  # treated as developer: accepted
        {"role": "developer", "content": "Be kind."},
        {"role": "user", "content": "Say hello to the simulator please"},
    ]
    first = v1(models_sim, session, model="gpt-5-mini", messages=messages)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["model"] == "gpt-5-mini-2025-08-07"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["content"] == (
        "Simulated reply from gpt-5-mini: the last user message had 6 words."
    )
    usage = body["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0
    assert usage["completion_tokens"] == reasoning + 11  # the 11 visible words
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0}
    assert first.headers["x-ms-deployment-name"] == "gpt-5-mini"
    # Deterministic, and more effort thinks more.
    again = v1(models_sim, session, model="gpt-5-mini", messages=messages).json()["usage"]
    assert again == usage
    efforts = ["minimal", "low", "medium", "high"]
    spent = [
        v1(
            models_sim, session, model="gpt-5-mini", messages=messages, reasoning_effort=effort
        ).json()["usage"]["completion_tokens_details"]["reasoning_tokens"]
        for effort in efforts
    ]
    assert spent == sorted(spent) and len(set(spent)) == 4 and spent[2] == reasoning
    # The classic path answers the same on a new enough api-version.
    same = classic(models_sim, session, "gpt-5-mini", messages=messages)
    assert same.status_code == 200, same.text
    assert same.json()["usage"] == usage


def test_gpt_5_1_thinks_only_when_asked(models_sim, session):
    default = v1(models_sim, session, model="gpt-5.1").json()["usage"]
    assert default["completion_tokens_details"]["reasoning_tokens"] == 0
    low = v1(models_sim, session, model="gpt-5.1", reasoning_effort="low").json()["usage"]
    assert low["completion_tokens_details"]["reasoning_tokens"] > 0


def test_max_completion_tokens_bounds_reasoning_and_visible_tokens(models_sim, session):
    full = v1(models_sim, session, model="gpt-5-mini").json()["usage"]
    reasoning = full["completion_tokens_details"]["reasoning_tokens"]

    starved = v1(models_sim, session, model="gpt-5-mini", max_completion_tokens=reasoning)
    assert starved.status_code == 200, starved.text
    body = starved.json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["choices"][0]["message"]["content"] == ""
    assert body["usage"]["completion_tokens"] == reasoning
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == reasoning

    short = v1(models_sim, session, model="gpt-5-mini", max_completion_tokens=10).json()
    assert short["choices"][0]["message"]["content"] == ""
    assert short["usage"]["completion_tokens"] == 10

    partial = v1(models_sim, session, model="gpt-5-mini", max_completion_tokens=reasoning + 3)
    choice = partial.json()["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == (
        "length",
        "Simulated reply from",
    )
    enough = v1(models_sim, session, model="gpt-5-mini", max_completion_tokens=reasoning + 11)
    assert enough.json()["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("path", ["classic", "v1"])
def test_reasoning_models_refuse_classic_parameters(models_sim, session, path):
    def send(deployment: str = "gpt-5-mini", **body: Any) -> requests.Response:
        if path == "v1":
            return v1(models_sim, session, model=deployment, **body)
        return classic(models_sim, session, deployment, **body)

    def refused(response: requests.Response) -> dict[str, Any]:
        assert response.status_code == 400, response.text
        return dict(response.json())

    assert refused(send(max_tokens=100)) == openai_error(
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
        "'max_completion_tokens' instead.",
        "max_tokens",
        "unsupported_parameter",
    )
    sampling: list[tuple[str, float, int]] = [
        ("temperature", 0.2, 1),
        ("temperature", 0, 1),
        ("top_p", 0.5, 1),
        ("presence_penalty", 0.5, 0),
        ("frequency_penalty", -1, 0),
    ]
    for name, value, default in sampling:
        body: dict[str, Any] = {name: value}
        assert refused(send(**body)) == openai_error(
            f"Unsupported value: '{name}' does not support {value} with this model. Only the "
            f"default ({default}) value is supported.",
            name,
            "unsupported_value",
        )
    logprob_bodies: list[dict[str, Any]] = [
        {"logprobs": True},
        {"top_logprobs": 2},
        {"logit_bias": {"50256": -100}},
    ]
    for body in logprob_bodies:
        (name,) = body
        assert refused(send(**body)) == openai_error(
            f"Unsupported parameter: '{name}' is not supported with this model.",
            name,
            "unsupported_parameter",
        )
    # The defaults are accepted.
    ok = send(temperature=1, top_p=1.0, presence_penalty=0, frequency_penalty=0, logprobs=False)
    assert ok.status_code == 200, ok.text
    # o1 answers the older wording.
    assert refused(send("o1", temperature=0.2)) == openai_error(
        "Unsupported parameter: 'temperature' is not supported with this model.",
        "temperature",
        "unsupported_parameter",
    )


@pytest.mark.parametrize(
    ("deployment", "effort", "supported"),
    [
        ("gpt-5-mini", "none", "'minimal', 'low', 'medium', and 'high'"),
        ("gpt-5-mini", "xhigh", "'minimal', 'low', 'medium', and 'high'"),
        ("o4-mini", "minimal", "'low', 'medium', and 'high'"),
        ("gpt-5.1", "minimal", "'none', 'low', 'medium', and 'high'"),
    ],
)
def test_a_reasoning_effort_the_family_does_not_take(
    models_sim, session, deployment, effort, supported
):
    response = v1(models_sim, session, model=deployment, reasoning_effort=effort)
    assert response.status_code == 400, response.text
    assert response.json() == openai_error(
        f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this model. "
        f"Supported values are: {supported}.",
        "reasoning_effort",
        "unsupported_value",
    )
    for accepted in ("low", "medium", "high"):
        assert v1(models_sim, session, model=deployment, reasoning_effort=accepted).ok


@pytest.mark.parametrize("deployment", ["o4-mini", "gpt-5-mini", "gpt-5.1", "o1"])
def test_reasoning_models_need_a_new_api_version_on_the_classic_path(
    models_sim, session, deployment
):
    model = next(d.model for d in models_sim.deployments if d.name == deployment)
    for old in (GA, "2024-08-01-preview", "2024-11-01-preview"):
        response = classic(models_sim, session, deployment, old)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": {
                "code": "BadRequest",
                "message": f"Model {model} is enabled only for api versions 2024-12-01-preview "
                "and later",
            }
        }
    for new in (REASONING_VERSION, "2025-04-01-preview", "preview"):
        assert classic(models_sim, session, deployment, new).status_code == 200


def test_classic_models_refuse_what_their_api_version_does_not_know(models_sim, session):
    def unrecognized(name: str) -> dict[str, Any]:
        return openai_error(f"Unrecognized request argument supplied: {name}", None, None)

    old = classic(models_sim, session, "gpt-4o", "2024-08-01-preview", max_completion_tokens=5)
    assert old.status_code == 400 and old.json() == unrecognized("max_completion_tokens")
    for version in (GA, "2024-09-01-preview", REASONING_VERSION):
        ok = classic(models_sim, session, "gpt-4o", version, max_completion_tokens=2)
        assert ok.status_code == 200, ok.text
        assert ok.json()["choices"][0]["finish_reason"] == "length"
    assert v1(models_sim, session, model="gpt-4o", max_completion_tokens=2).status_code == 200
    # A classic model has no reasoning_effort, whatever the api-version or path.
    for version in (GA, REASONING_VERSION, "2025-04-01-preview"):
        refused = classic(models_sim, session, "gpt-4o", version, reasoning_effort="low")
        assert refused.status_code == 400 and refused.json() == unrecognized("reasoning_effort")
    refused = v1(models_sim, session, model="gpt-4o-mini", reasoning_effort="low")
    assert refused.json() == unrecognized("reasoning_effort")
    # Everything else answers as it always did (max_tokens, temperature, no reasoning tokens).
    old_style = classic(models_sim, session, "gpt-4o", GA, max_tokens=3, temperature=0.2)
    assert old_style.status_code == 200, old_style.text
    usage = old_style.json()["usage"]
    assert usage["completion_tokens"] == 3
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 0}


@pytest.mark.parametrize("deployment", ["gpt-5-codex", "gpt-5-pro", "dall-e-3", "whisper"])
def test_models_without_chat_completions(models_sim, session, deployment):
    model = next(d.model for d in models_sim.deployments if d.name == deployment)
    expected = operation_not_supported("chatCompletion", model)
    for response in (
        classic(models_sim, session, deployment),
        v1(models_sim, session, model=deployment),
    ):
        assert response.status_code == 400, response.text
        assert response.json() == expected


def test_v1_needs_no_api_version_and_finds_the_deployment_in_the_body(models_sim, session):
    ok = v1(models_sim, session, model="gpt-4o")
    assert ok.status_code == 200, ok.text
    assert ok.json()["model"] == "gpt-4o-2024-08-06"
    assert ok.headers["apim-request-id"]
    for body in ({"model": "nope"}, {}, {"model": 42}):
        missing = v1(models_sim, session, **body)
        assert missing.status_code == 404, missing.text
        assert missing.json() == DEPLOYMENT_NOT_FOUND
    (recorded, *_) = models_sim.requests("/openai/v1/chat/completions")
    assert recorded.query == {} and recorded.json()["model"] == "gpt-4o"


def test_v1_authentication(models_sim, session):
    url = f"{models_sim.url}/openai/v1/chat/completions"
    body = {"model": "gpt-4o", "messages": USER}
    token = fetch_token(models_sim, session)
    for headers in (
        {"api-key": models_sim.api_key},
        {"Authorization": f"Bearer {models_sim.api_key}"},  # the openai SDK's way
        {"Authorization": f"Bearer {token}"},
    ):
        assert session.post(url, json=body, headers=headers).status_code == 200, headers
    bad_key = session.post(url, json=body, headers={"api-key": "wrong"})
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "401"
    bad_bearer = session.post(url, json=body, headers={"Authorization": "Bearer wrong"})
    assert bad_bearer.status_code == 401 and bad_bearer.json()["statusCode"] == 401
    # The classic path still takes no api-key as a Bearer token.
    classic_bearer = session.post(
        f"{models_sim.url}/openai/deployments/gpt-4o/chat/completions",
        params={"api-version": GA},
        json=body,
        headers={"Authorization": f"Bearer {models_sim.api_key}"},
    )
    assert classic_bearer.status_code == 401


def test_faults_apply_to_the_v1_paths(models_sim, session):
    models_sim.add_fault(Fault(path="/openai/v1/chat", status=429))
    throttled = v1(models_sim, session, model="gpt-4o")
    assert throttled.status_code == 429
    assert "rate limit" in throttled.json()["error"]["message"]
    models_sim.add_fault(Fault(status=503))  # path-less: every data-plane path
    assert v1(models_sim, session, model="gpt-4o").status_code == 503
    assert v1(models_sim, session, model="gpt-4o").status_code == 200


def test_content_filter_on_a_reasoning_model(models_sim, session):
    blocked = v1(
        models_sim,
        session,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": "[[filter-prompt]]"}],
    )
    assert blocked.status_code == 400 and blocked.json()["error"]["code"] == "content_filter"
    filtered = v1(
        models_sim,
        session,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": "[[filter-completion]]"}],
    )
    choice = filtered.json()["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == ("content_filter", "")


def test_v1_embeddings(models_sim, session):
    url = f"{models_sim.url}/openai/v1/embeddings"
    headers = {"api-key": models_sim.api_key}
    ok = session.post(
        url, json={"model": "text-embedding-3-small", "input": "alpha"}, headers=headers
    )
    assert ok.status_code == 200, ok.text
    classic_vector = session.post(
        f"{models_sim.url}/openai/deployments/text-embedding-3-small/embeddings",
        params={"api-version": GA},
        json={"input": "alpha"},
        headers=headers,
    ).json()["data"][0]["embedding"]
    assert ok.json()["data"][0]["embedding"] == classic_vector
    wrong = session.post(url, json={"model": "gpt-5-mini", "input": "alpha"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json() == operation_not_supported("embeddings", "gpt-5-mini")
    missing = session.post(url, json={"model": "nope", "input": "alpha"}, headers=headers)
    assert missing.status_code == 404 and missing.json() == DEPLOYMENT_NOT_FOUND


def test_the_openai_sdk_against_the_v1_paths(models_sim):
    client = OpenAI(
        base_url=f"{models_sim.url}/openai/v1/", api_key=models_sim.api_key, max_retries=0
    )
    completion = client.chat.completions.create(
        model="gpt-5-mini",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        max_completion_tokens=5000,
        reasoning_effort="low",
    )
    assert completion.choices[0].message.content == (
        "Simulated reply from gpt-5-mini: the last user message had 1 word."
    )
    assert completion.usage is not None
    details = completion.usage.completion_tokens_details
    assert details is not None and details.reasoning_tokens
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="gpt-5-mini", messages=USER, max_tokens=10)  # type: ignore[arg-type]
    assert refused.value.code == "unsupported_parameter"
    assert refused.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as no_chat:
        client.chat.completions.create(model="gpt-5-codex", messages=USER)  # type: ignore[arg-type]
    assert no_chat.value.code == "OperationNotSupported"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=USER)  # type: ignore[arg-type]
    vectors = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [len(item.embedding) for item in vectors.data] == [1536, 1536]
