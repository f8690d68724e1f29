"""Classification: deployments in, job definitions out (pure)."""

import json

import pytest

from shared.discovery.classify import PARAMETERS, classify
from shared.models.azure import ArmDeployment

MONITOR = "https://portal.azure.com/#@/resource/x/overview"


def arm(name, model=None, **extra):
    properties = {"model": {"name": model, "version": "1", "format": "OpenAI"}} if model else {}
    return ArmDeployment.model_validate({"name": name, "properties": properties, **extra})


@pytest.mark.parametrize(
    "model",
    [
        "text-embedding-3-small",
        "Text-Embedding-3-Small",
        "TEXT-EMBEDDING-ADA-002",
        "my-embedding",
        "embeddingmodel",
        "x-EmBeDdInG-y",
    ],
)
def test_embedding_models_become_one_embedding_job(model):
    jobs, warnings = classify([arm("emb", model)], MONITOR)
    assert [(j.external_id, j.job_type) for j in jobs] == [("emb", "Azure OpenAI Embedding")]
    assert warnings == []


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-35-turbo", "o3-mini", "embed-v3", "emb"])
def test_other_models_become_chat_and_batch_jobs(model):
    jobs, _ = classify([arm("chat", model)], MONITOR)
    assert [(j.external_id, j.job_type) for j in jobs] == [
        ("chat", "Azure OpenAI Chat Completion"),
        ("chat::batch", "Azure OpenAI Batch Job"),
    ]
    assert {j.deployment_name for j in jobs} == {"chat"}


def test_the_deployment_name_not_the_model_name_decides_nothing():
    # a deployment *named* like an embedding model but serving a chat model is a chat job
    jobs, _ = classify([arm("text-embedding-lookalike", "gpt-4o")], MONITOR)
    assert {j.job_type for j in jobs} == {"Azure OpenAI Chat Completion", "Azure OpenAI Batch Job"}


def test_deployment_without_model_name_is_skipped_with_a_warning():
    jobs, warnings = classify([arm("mystery"), arm("ok", "gpt-4o")], MONITOR)
    assert [j.external_id for j in jobs] == ["ok", "ok::batch"]
    assert warnings == ["Deployment 'mystery' has no model name; it was skipped."]


def test_properties_are_exactly_the_design_schema():
    deployment = arm(
        "gpt-4o",
        "gpt-4o",
        sku={"name": "GlobalStandard", "capacity": 50},
    )
    deployment.properties.provisioningState = "Succeeded"
    (chat, _batch), _ = classify([deployment], MONITOR)
    assert chat.owned_properties() == {
        "ExternalId": "gpt-4o",
        "JobType": "Azure OpenAI Chat Completion",
        "Platform": "Azure OpenAI",
        "DeploymentName": "gpt-4o",
        "ModelName": "gpt-4o",
        "ModelVersion": "1",
        "ModelFormat": "OpenAI",
        "SkuName": "GlobalStandard",
        "SkuCapacity": 50,
        "ProvisioningState": "Succeeded",
        "MonitorUrl": MONITOR,
        "Parameters": json.dumps(PARAMETERS["Azure OpenAI Chat Completion"]),
        "ModelProfile": json.dumps(
            {
                "api": "classic",
                "token_parameter": "max_tokens",
                "sampling": True,
                "reasoning": False,
                "efforts": [],
                "background": False,
                "kind": "chat",
            }
        ),
    }


def test_capabilities_are_recorded_as_read_and_refine_the_profile():
    deployment = arm("coder", "gpt-5-codex")
    deployment.properties.capabilities = {"responses": "true", "maxOutputToken": "128000"}
    (chat, _batch), _ = classify([deployment], MONITOR)
    written = chat.owned_properties()
    assert json.loads(written["Capabilities"]) == {"responses": "true", "maxOutputToken": "128000"}
    profile = json.loads(written["ModelProfile"])
    assert (profile["api"], profile["token_parameter"], profile["sampling"]) == (
        "responses",
        "max_output_tokens",
        False,
    )
    image = arm("art", "dall-e-3")
    image.properties.capabilities = {"imageGenerations": "true"}
    (art_chat, _), _ = classify([image], MONITOR)
    assert json.loads(art_chat.owned_properties()["ModelProfile"])["api"] == "none"


def test_legacy_scale_settings_and_missing_version_are_tolerated():
    deployment = ArmDeployment.model_validate(
        {
            "name": "old",
            "properties": {
                "model": {"name": "gpt-35-turbo", "format": "OpenAI"},
                "scaleSettings": {"scaleType": "Manual", "capacity": 3},
                "capabilities": {"chatCompletion": "true"},
            },
        }
    )
    (chat, _), _ = classify([deployment], None)
    props = chat.owned_properties()
    assert props["SkuCapacity"] == 3
    assert "SkuName" not in props and "ModelVersion" not in props and "MonitorUrl" not in props


def test_parameters_of_each_job_type():
    names = {
        t: [(p["name"], p["direction"], p["required"]) for p in ps] for t, ps in PARAMETERS.items()
    }
    assert names["Azure OpenAI Chat Completion"][:2] == [
        ("system_prompt", "Input", False),
        ("user_prompt", "Input", True),
    ]
    assert ("input", "Input", True) in names["Azure OpenAI Embedding"]
    assert all(d == "Output" for _, d, _ in names["Azure OpenAI Batch Job"])


def test_deployment_names_the_registry_cannot_key_are_skipped():
    jobs, warnings = classify([arm("a/b", "gpt-4o"), arm("a#b", "gpt-4o")], MONITOR)
    assert jobs == []
    assert len(warnings) == 2
