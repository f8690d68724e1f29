"""The model-family table, and the capabilities ARM lists for each family's deployments."""

from __future__ import annotations

import pytest
import requests

from local.simulator import (
    DEFAULT_DEPLOYMENTS,
    REASONING_DEPLOYMENTS,
    Deployment,
    Simulator,
    family_for,
)
from local.simulator.families import older_than
from tests.simulator.conftest import fetch_token

ARM_AUDIENCE = "https://management.azure.com"


@pytest.mark.parametrize(
    ("model", "family", "chat", "responses", "reasoning", "efforts", "default"),
    [
        ("gpt-4o", "gpt-4o", True, True, False, (), None),
        ("gpt-4o-mini", "gpt-4o-mini", True, True, False, (), None),
        ("gpt-4.1-nano", "gpt-4.1", True, True, False, (), None),
        ("GPT-4.1", "gpt-4.1", True, True, False, (), None),
        ("gpt-35-turbo", "gpt-35-turbo", True, False, False, (), None),
        ("gpt-5-chat", "gpt-5-chat", True, True, False, (), None),
        ("o1", "o1", True, True, True, ("low", "medium", "high"), "medium"),
        ("o1-mini", "o1-mini", True, False, True, (), None),
        ("o3-mini", "o-series", True, True, True, ("low", "medium", "high"), "medium"),
        ("o4-mini", "o-series", True, True, True, ("low", "medium", "high"), "medium"),
        ("o3-pro", "o-series-responses", False, True, True, ("low", "medium", "high"), "medium"),
        (
            "codex-mini",
            "o-series-responses",
            False,
            True,
            True,
            ("low", "medium", "high"),
            "medium",
        ),
        ("gpt-5", "gpt-5", True, True, True, ("minimal", "low", "medium", "high"), "medium"),
        ("gpt-5-mini", "gpt-5", True, True, True, ("minimal", "low", "medium", "high"), "medium"),
        ("gpt-5-nano", "gpt-5", True, True, True, ("minimal", "low", "medium", "high"), "medium"),
        ("gpt-5.1", "gpt-5.1", True, True, True, ("none", "low", "medium", "high"), "none"),
        ("gpt-5.2", "gpt-5.1", True, True, True, ("none", "low", "medium", "high"), "none"),
        ("gpt-5-pro", "gpt-5-pro", False, True, True, ("high",), "high"),
        ("gpt-5-codex", "gpt-5-codex", False, True, True, ("low", "medium", "high"), "medium"),
        ("gpt-5.1-codex-mini", "gpt-5.1-codex", False, True, True, None, "medium"),
        (
            "gpt-5.1-codex-max",
            "gpt-5.1-codex-max",
            False,
            True,
            True,
            ("none", "low", "medium", "high", "xhigh"),
            "medium",
        ),
        ("gpt-5.2-codex", "gpt-5.2-codex", False, True, True, ("low", "medium", "high"), "medium"),
        ("text-embedding-3-large", "embedding", False, False, False, (), None),
        ("my-embedding-model", "embedding", False, False, False, (), None),
        ("dall-e-3", "image", False, False, False, (), None),
        ("gpt-image-1", "image", False, False, False, (), None),
        ("whisper", "audio", False, False, False, (), None),
        ("tts-hd", "audio", False, False, False, (), None),
        ("gpt-4o-transcribe", "audio", False, False, False, (), None),
        ("some-future-model", "classic-chat", True, True, False, (), None),
        ("", "classic-chat", True, True, False, (), None),
    ],
)
def test_the_family_of_a_model_name(model, family, chat, responses, reasoning, efforts, default):
    found = family_for(model)
    assert found.name == family
    assert (found.chat, found.responses, found.reasoning) == (chat, responses, reasoning)
    if efforts is not None:
        assert found.efforts == efforts
    assert found.default_effort == default
    assert Deployment("d", model).family == found


def test_classic_api_versions_and_kinds():
    for model in ("o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5.1", "gpt-5-codex", "gpt-5-chat"):
        assert family_for(model).min_classic_api_version == "2024-12-01-preview", model
    for model in ("gpt-4o", "gpt-4.1", "gpt-35-turbo", "unknown"):
        assert family_for(model).min_classic_api_version is None, model
    assert family_for("o1-mini").min_classic_api_version == "2024-09-01-preview"
    kinds = {m: family_for(m).kind for m in ("gpt-4o", "text-embedding-3-small", "dall-e-3")}
    assert kinds == {"gpt-4o": "chat", "text-embedding-3-small": "embedding", "dall-e-3": "image"}
    assert family_for("whisper").kind == "audio"
    assert (family_for("gpt-5").max_context_tokens, family_for("gpt-5").max_output_tokens) == (
        400_000,
        128_000,
    )
    assert Deployment("e", "text-embedding-3-small").is_embedding
    assert not Deployment("c", "gpt-5-codex").is_embedding


@pytest.mark.parametrize(
    ("version", "older"),
    [
        ("2024-10-21", True),
        ("2024-11-30-preview", True),
        ("2024-12-01-preview", False),
        ("2025-04-01-preview", False),
        ("preview", False),
        ("latest", False),
        (None, False),
    ],
)
def test_api_versions_compare_by_their_dates(version, older):
    assert older_than(version, "2024-12-01-preview") is older


def test_the_deployment_lists():
    assert [d.name for d in DEFAULT_DEPLOYMENTS] == [
        "gpt-4o",
        "gpt-4o-mini",
        "text-embedding-3-small",
    ]
    assert [(d.name, d.model, d.version) for d in REASONING_DEPLOYMENTS] == [
        ("gpt-5-mini", "gpt-5-mini", "2025-08-07"),
        ("gpt-5-codex", "gpt-5-codex", "2025-09-15"),
    ]
    assert REASONING_DEPLOYMENTS[0].family.chat and REASONING_DEPLOYMENTS[0].family.reasoning
    assert not REASONING_DEPLOYMENTS[1].family.chat
    # Construction stays positional and keyword compatible; capabilities are checked.
    assert Deployment("d", "gpt-4o", "1", "Standard", 10, 1536).capabilities is None
    with pytest.raises(TypeError, match="capability 'chatCompletion' must be str, got bool"):
        Deployment("d", "gpt-4o", capabilities={"chatCompletion": True})  # type: ignore[dict-item]


def test_arm_lists_each_familys_capabilities(sim: Simulator, session: requests.Session):
    sim.set_deployments(
        [
            Deployment("gpt-4o", "gpt-4o", "2024-08-06"),
            Deployment("gpt-5-mini", "gpt-5-mini", "2025-08-07"),
            Deployment("gpt-5-codex", "gpt-5-codex", "2025-09-15"),
            Deployment("embed", "text-embedding-3-large"),
            Deployment("image", "dall-e-3", "3.0"),
            Deployment("speech", "whisper", "001"),
            Deployment("legacy", "gpt-35-turbo", "0125"),
            Deployment("custom", "gpt-4o", capabilities={"chatCompletion": "true", "x": "1"}),
        ]
    )
    token = fetch_token(sim, session, ARM_AUDIENCE)
    response = session.get(
        sim.arm_deployments_url,
        params={"api-version": "2023-05-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    listed = {d["name"]: d["properties"]["capabilities"] for d in response.json()["value"]}
    assert listed == {
        "gpt-4o": {
            "chatCompletion": "true",
            "responses": "true",
            "assistants": "true",
            "maxContextToken": "128000",
            "maxOutputToken": "16384",
        },
        "gpt-5-mini": {
            "chatCompletion": "true",
            "responses": "true",
            "maxContextToken": "400000",
            "maxOutputToken": "128000",
        },
        "gpt-5-codex": {
            "responses": "true",
            "maxContextToken": "400000",
            "maxOutputToken": "128000",
        },
        "embed": {"embeddings": "true", "embeddingsMaxInputs": "2048"},
        "image": {"imageGenerations": "true"},
        "speech": {"audio": "true"},
        "legacy": {
            "chatCompletion": "true",
            "assistants": "true",
            "maxContextToken": "16385",
            "maxOutputToken": "4096",
        },
        "custom": {"chatCompletion": "true", "x": "1"},
    }


def test_deployments_over_the_control_api_may_override_capabilities(
    sim: Simulator, session: requests.Session
):
    body = [{"name": "x", "model": "gpt-5-codex", "capabilities": {"responses": "true"}}]
    put = session.put(sim.url + "/_sim/deployments", json=body)
    assert put.status_code == 200, put.text
    assert put.json()[0]["capabilities"] == {"responses": "true"}
    assert sim.deployments[0].capabilities == {"responses": "true"}
    bad = session.put(
        sim.url + "/_sim/deployments",
        json=[{"name": "x", "model": "gpt-4o", "capabilities": ["chatCompletion"]}],
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "capabilities must be dict or NoneType, got list"
