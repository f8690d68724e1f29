"""Embedding runs and a batch's whole life over real HTTP through the local host, polling the
statusQueryUrl exactly as the app hands it out (the key it carries must open the door)."""

from __future__ import annotations

import time

import pytest
import requests

from tests.helpers import (
    FUNCTION_KEY,
    TIMEOUT,
    assert_status_link,
    azure_embedding,
    seed_definition,
)

pytestmark = pytest.mark.integration

LINE = (
    '{"custom_id": "t-%d", "method": "POST", "url": "/chat/completions", '
    '"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}}'
)


def test_embedding_run_end_to_end(host, client, sim):
    response = client.post(
        f"{host.url}/api/embeddings/text-embedding-3-small",
        json={"input": "The quick brown fox"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == "text-embedding-3-small#sync#Success"
    assert len(body["embedding"]) == 1536
    assert (body["prompt_tokens"], body["total_tokens"]) == (4, 4)
    (call,) = sim.requests()
    assert call.raw_path == "/openai/deployments/text-embedding-3-small/embeddings"
    assert call.json() == {"input": "The quick brown fox"}
    assert body["embedding"] == azure_embedding(
        sim, "text-embedding-3-small", "The quick brown fox"
    )


def test_embedding_on_a_chat_model_is_refused_before_azure(host, client, sim, registry_table):
    seed_definition(registry_table, "gpt-4o", JobType="Azure OpenAI Chat Completion")
    response = client.post(
        f"{host.url}/api/embeddings/gpt-4o", json={"input": "x"}, timeout=TIMEOUT
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "InvalidInputModel"
    assert sim.requests() == []


@pytest.mark.parametrize("key_in", ["query", "header"])
def test_a_batch_from_submission_to_completion_polled_through_its_url(
    host, sim, registry_table, key_in
):
    sim.batch_step_s = 0.3
    file_id = sim.upload_file("\n".join(LINE % i for i in range(4)).encode())
    seed_definition(
        registry_table,
        "gpt-4o::batch",
        JobType="Azure OpenAI Batch Job",
        Attributes={"Deployment Name": "gpt-4o", "OpenAI Input File ID": file_id},
    )
    by_query = key_in == "query"
    submitted = requests.post(
        f"{host.url}/api/batches/gpt-4o%3A%3Abatch",
        json={},
        params={"code": FUNCTION_KEY} if by_query else {},
        headers={} if by_query else {"x-functions-key": FUNCTION_KEY},
        timeout=TIMEOUT,
    )
    assert submitted.status_code == 202, submitted.text
    url = submitted.json()["statusQueryUrl"]
    batch_id = submitted.json()["run_id"]
    assert_status_link(url, host.url, batch_id, "gpt-4o")  # no function key in it

    states: list[tuple[int, str]] = []
    for _ in range(300):
        polled = requests.get(url, timeout=TIMEOUT)  # anonymous: the signed link is enough
        state = (polled.status_code, polled.json()["batch_status"])
        if not states or states[-1] != state:
            states.append(state)
        if polled.status_code != 202:
            break
        time.sleep(0.02)
    assert states == [
        (202, "validating"),
        (202, "in_progress"),
        (202, "finalizing"),
        (200, "completed"),
    ]
    done = polled.json()
    assert done["status"] == "Success"
    assert (done["request_counts_total"], done["request_counts_completed"]) == (4, 4)
    assert done["request_counts_failed"] == 0
    output = sim.file_content(done["output_file_id"]).decode().splitlines()
    assert sorted(line.split('"custom_id": "')[1][:3] for line in output) == [
        "t-0",
        "t-1",
        "t-2",
        "t-3",
    ]


def test_a_status_url_without_a_key_is_refused_by_the_host(host, sim):
    response = requests.get(f"{host.url}/api/status/batch_abc", timeout=TIMEOUT)
    assert response.status_code == 401
    assert sim.requests() == []


def test_a_failed_batch_is_422_with_azures_errors(host, client, sim):
    sim.batch_outcome = "failed"
    sim.batch_step_s = 0.0
    file_id = sim.upload_file((LINE % 0).encode())
    submitted = client.post(
        f"{host.url}/api/batches/gpt-4o", json={"input_file_id": file_id}, timeout=TIMEOUT
    )
    polled = client.get(submitted.json()["statusQueryUrl"], timeout=TIMEOUT)
    assert polled.status_code == 422
    body = polled.json()
    assert body["status"] == "Failed" and body["batch_status"] == "failed"
    assert body["error"]["code"] == "BatchFailed"
    assert body["error"]["errors"][0]["code"] == "invalid_request"


def test_the_status_url_keeps_the_host_the_caller_used(host, client, sim):
    # The Functions host builds the request URL from the Host header, not from its own address.
    file_id = sim.upload_file((LINE % 0).encode())
    submitted = client.post(
        f"{host.url}/api/batches/gpt-4o",
        json={"input_file_id": file_id},
        headers={"Host": f"localhost:{host.port}"},
        timeout=TIMEOUT,
    )
    assert submitted.status_code == 202, submitted.text
    batch_id = submitted.json()["run_id"]
    url = submitted.json()["statusQueryUrl"]
    assert_status_link(url, f"http://localhost:{host.port}", batch_id, "gpt-4o")
