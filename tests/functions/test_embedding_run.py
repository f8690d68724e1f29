"""`embedding_run` called as the host calls it, against the simulator and Azurite
(docs/design.md §5)."""

from __future__ import annotations

import logging

import pytest

from local.simulator import Deployment, Fault
from tests.functions.helpers import assert_failed, assert_no_call_to_azure, chat, embed
from tests.helpers import azure_embedding, seed_definition

pytestmark = pytest.mark.usefixtures("app_env")

EMBEDDING = "text-embedding-3-small"
PATH = f"/openai/deployments/{EMBEDDING}/embeddings"
FAILED = f"{EMBEDDING}#sync#Failed"


def test_success_sends_exactly_the_input_and_returns_the_vector(sim):
    reply = embed(EMBEDDING, {"input": "The quick brown fox", "unknown": 1})

    (call,) = sim.requests()
    assert (call.method, call.raw_path, call.query) == ("POST", PATH, {"api-version": "2024-10-21"})
    token = call.headers["authorization"].removeprefix("Bearer ")
    assert sim.issued_tokens()[token] == "https://cognitiveservices.azure.com"
    assert call.json() == {"input": "The quick brown fox"}

    assert reply.status == 200, reply.body
    assert call.response_status == 200
    body = reply.body
    assert body["run_id"] == f"{EMBEDDING}#sync#Success"
    assert body["status"] == "Success"
    assert len(body["embedding"]) == 1536
    assert all(isinstance(x, float) for x in body["embedding"])
    assert body["prompt_tokens"] == 4 and body["total_tokens"] == 4
    assert body["deployment"] == EMBEDDING
    assert body["model"] == "text-embedding-3-small"
    assert body["request_id"] == call.response_headers["apim-request-id"]
    assert body["embedding"] == azure_embedding(sim, EMBEDDING, "The quick brown fox")


def test_the_vector_is_azures_own_answer(sim):
    first = embed(EMBEDDING, {"input": "same text"}).body["embedding"]
    other = embed(EMBEDDING, {"input": "other text"}).body["embedding"]
    assert first == azure_embedding(sim, EMBEDDING, "same text")
    assert other == azure_embedding(sim, EMBEDDING, "other text")
    assert first != other


def test_dimension_follows_the_deployment(sim):
    sim.deployments = [
        *sim.deployments,
        Deployment("emb-large", "text-embedding-3-large", dimensions=3072),
    ]
    reply = embed("emb-large", {"input": "x"})
    assert reply.status == 200 and len(reply.body["embedding"]) == 3072
    assert reply.body["embedding"] == azure_embedding(sim, "emb-large", "x")


def test_deployment_name_attribute_overrides_the_deployment_called(sim, registry_table):
    seed_definition(
        registry_table,
        "embeddings",
        JobType="Azure OpenAI Embedding",
        Attributes={"Deployment Name": EMBEDDING},
    )
    reply = embed("embeddings", {"input": "x"})
    assert reply.status == 200
    assert sim.requests()[0].raw_path == PATH
    assert reply.body["run_id"] == f"{EMBEDDING}#sync#Success"


@pytest.mark.parametrize("job_type", ["Azure OpenAI Chat Completion", "Azure OpenAI Batch Job"])
def test_embedding_on_a_chat_model_is_422_invalid_input_model(sim, registry_table, job_type):
    seed_definition(registry_table, "gpt-4o", JobType=job_type, ModelName="gpt-4o")
    reply = embed("gpt-4o", {"input": "x"})
    assert_failed(reply, 422, "InvalidInputModel", run_id="gpt-4o#sync#Failed")
    assert "not an embedding model" in reply.body["error"]["message"]
    assert_no_call_to_azure(sim)


def test_chat_still_runs_on_a_chat_definition_and_embedding_on_its_own(registry_table):
    seed_definition(registry_table, "gpt-4o", JobType="Azure OpenAI Chat Completion")
    seed_definition(registry_table, EMBEDDING, JobType="Azure OpenAI Embedding")
    assert chat("gpt-4o", {"user_prompt": "u"}).status == 200
    assert embed(EMBEDDING, {"input": "x"}).status == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"input": ""},
        {"input": "   \n"},
        {"input": 5},
        {"input": None},
        {"input": ["a", "b"]},
        {"input": {"text": "a"}},
        {"input": True},
    ],
)
def test_bad_input_is_400_naming_the_field_with_no_call_to_azure(sim, body):
    reply = embed(EMBEDDING, body)
    assert_failed(reply, 400, "InvalidRequest", run_id=FAILED)
    assert [d["field"] for d in reply.body["error"]["details"]] == ["input"]
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize("raw", [b"", b"[]", b"not json", b"\xff\xfe"])
def test_body_not_a_json_object_is_400(sim, raw):
    assert_failed(embed(EMBEDDING, raw), 400, "InvalidRequest", run_id=FAILED)
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize("name", ["../x", "a?b", "x" * 65, "gpt-4o::batch", "%2e%2e"])
def test_bad_deployment_names_are_400(sim, name):
    assert_failed(embed(name, {"input": "x"}), 400, "InvalidDeploymentName", run_id=None)
    assert_no_call_to_azure(sim)


def test_oversized_body_is_413(sim, app_settings):
    app_settings.set("MAX_REQUEST_BYTES", "100")
    reply = embed(EMBEDDING, {"input": "x" * 200})
    assert_failed(reply, 413, "PayloadTooLarge", run_id=FAILED)
    assert_no_call_to_azure(sim)


def test_unknown_deployment_is_404():
    reply = embed("nope", {"input": "x"})
    assert_failed(reply, 404, "DeploymentNotFound", run_id="nope#sync#Failed")


def test_azure_refusing_the_operation_is_422_with_its_code():
    # No registry entry: Azure itself says a chat model cannot embed.
    reply = embed("gpt-4o", {"input": "x"})
    assert_failed(reply, 422, "OperationNotSupported", run_id="gpt-4o#sync#Failed")
    assert reply.body["upstream_status"] == 400


def test_throttling_is_retried(sim):
    sim.add_fault(Fault(status=429, headers={"retry-after-ms": "10"}))
    reply = embed(EMBEDDING, {"input": "x"})
    assert reply.status == 200
    assert [r.response_status for r in sim.requests()] == [429, 200]


def test_an_answer_without_data_is_502_bad_response(sim):
    sim.add_fault(Fault(status=200, body={"object": "list", "data": [], "usage": {}}))
    reply = embed(EMBEDDING, {"input": "x"})
    assert_failed(reply, 502, "UpstreamBadResponse", run_id=FAILED)
    assert "data" in reply.body["error"]["message"]


def test_logs_carry_the_facts_but_not_the_input_or_vector(caplog):
    caplog.set_level(logging.DEBUG)
    secret = "confidential-input-9931"
    reply = embed(EMBEDDING, {"input": secret})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in text
    assert str(reply.body["embedding"][0]) not in text
    (line,) = [
        r.getMessage() for r in caplog.records if "embedding run succeeded" in r.getMessage()
    ]
    assert f"run_id={EMBEDDING}#sync#Success deployment={EMBEDDING}" in line
    assert f"request_id={reply.body['request_id']}" in line and "dimensions=1536" in line
