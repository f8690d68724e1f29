"""`batch_run` and `run_status` for batches, called as the host calls them, against the
simulator's Files and Batch API and Azurite (docs/design.md §6)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import pytest

from local.simulator import Fault
from tests.functions.helpers import (
    assert_failed,
    assert_no_call_to_azure,
    chat,
    only_call,
    status,
    submit_batch,
)
from tests.helpers import assert_status_link, link_params, seed_definition, sign_link

pytestmark = pytest.mark.usefixtures("app_env")

BATCHES = "/openai/batches"
ORIGIN = "http://localhost:7071"  # where the helpers' requests say they arrived
LINE = (
    '{"custom_id": "task-%d", "method": "POST", "url": "/chat/completions", '
    '"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi %d"}]}}'
)


@pytest.fixture
def file_id(sim) -> str:
    content = "\n".join(LINE % (i, i) for i in range(3)).encode()
    return str(sim.upload_file(content, "input.jsonl"))


def submitted(sim, reply):
    assert reply.status == 202, reply.body
    (batch,) = sim.batches()
    assert reply.body["run_id"] == batch["id"]
    return batch["id"]


def test_submit_sends_the_exact_request_and_answers_202_running(sim, file_id):
    reply = submit_batch("gpt-4o", {"input_file_id": file_id})

    call = only_call(sim)
    assert (call.method, call.raw_path, call.query) == (
        "POST",
        BATCHES,
        {"api-version": "2024-10-21"},
    )
    token = call.headers["authorization"].removeprefix("Bearer ")
    assert sim.issued_tokens()[token] == "https://cognitiveservices.azure.com"
    assert call.json() == {
        "input_file_id": file_id,
        "endpoint": "/chat/completions",
        "completion_window": "24h",
    }
    batch_id = submitted(sim, reply)
    body = reply.body
    assert batch_id.startswith("batch_")
    assert body["status"] == "Running"
    assert body["batch_status"] == "validating"
    assert_status_link(body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o")
    assert body["input_file_id"] == file_id
    assert body["endpoint"] == "/chat/completions" and body["completion_window"] == "24h"
    assert body["request_counts_total"] is None
    assert body["output_file_id"] is None and body["end_time"] is None
    created = datetime.fromisoformat(body["start_time"])
    assert created.utcoffset() is not None
    assert body["deployment"] == "gpt-4o" and body["mode"] == "batch"
    assert body["request_id"] == call.response_headers["apim-request-id"]


def test_the_batch_suffix_is_stripped_and_its_attributes_apply(sim, file_id, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o::batch",
        JobType="Azure OpenAI Batch Job",
        Attributes={
            "Deployment Name": "gpt-4o",
            "OpenAI Input File ID": file_id,
            "OpenAI Batch Endpoint": "/v1/chat/completions",
        },
    )
    reply = submit_batch("gpt-4o::batch", {})
    assert only_call(sim).json() == {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    batch_id = submitted(sim, reply)
    assert_status_link(reply.body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o")


def test_without_the_suffix_the_batch_definition_is_still_used(sim, file_id, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o::batch",
        JobType="Azure OpenAI Batch Job",
        Attributes={"OpenAI Input File ID": file_id, "OpenAI Completion Window": "24h"},
    )
    submitted(sim, submit_batch("gpt-4o", {}))
    assert only_call(sim).json()["input_file_id"] == file_id


def test_body_values_override_every_attribute(sim, file_id, registry_table):
    seed_definition(
        registry_table,
        "gpt-4o::batch",
        JobType="Azure OpenAI Batch Job",
        Attributes={
            "OpenAI Input File ID": "file-fromattribute",
            "OpenAI Batch Endpoint": "/embeddings",
            "OpenAI Completion Window": "48h",
        },
    )
    reply = submit_batch(
        "gpt-4o::batch",
        {"input_file_id": file_id, "endpoint": "/chat/completions", "completion_window": "24h"},
    )
    assert only_call(sim).json() == {
        "input_file_id": file_id,
        "endpoint": "/chat/completions",
        "completion_window": "24h",
    }
    submitted(sim, reply)


def test_the_deployment_name_attribute_names_the_deployment(sim, file_id, registry_table):
    seed_definition(
        registry_table,
        "prod::batch",
        JobType="Azure OpenAI Batch Job",
        Attributes={"Deployment Name": "gpt-4o-mini"},
    )
    reply = submit_batch("prod::batch", {"input_file_id": file_id})
    batch_id = submitted(sim, reply)
    assert reply.body["deployment"] == "gpt-4o-mini"
    assert_status_link(reply.body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o-mini")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"params": {"code": "fn-key/+="}},
        {"headers": {"x-functions-key": "master-key"}},
        {},
    ],
)
def test_the_status_link_is_signed_and_never_carries_the_callers_key(sim, file_id, kwargs):
    reply = submit_batch("gpt-4o", {"input_file_id": file_id}, **kwargs)
    batch_id = submitted(sim, reply)
    assert_status_link(reply.body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o")
    assert "key" not in reply.body["statusQueryUrl"]


@pytest.mark.parametrize(
    ("setting", "value", "origin"),
    [
        ("PUBLIC_BASE_URL", "https://gateway.example.com/aoai", "https://gateway.example.com/aoai"),
        ("WEBSITE_HOSTNAME", "app.azurewebsites.net", "https://app.azurewebsites.net"),
    ],
)
def test_the_link_origin_is_the_public_base_url_else_the_app_service_host(
    sim, file_id, app_settings, setting, value, origin
):
    app_settings.set(setting, value)
    reply = submit_batch("gpt-4o", {"input_file_id": file_id}, headers={"x-functions-key": "k"})
    batch_id = submitted(sim, reply)
    assert_status_link(reply.body["statusQueryUrl"], origin, batch_id, "gpt-4o")


def test_without_a_link_secret_a_batch_is_refused_before_azure_and_chat_still_runs(
    sim, file_id, app_settings
):
    app_settings.unset("STATUS_LINK_SECRET")
    sim.clear()
    reply = submit_batch("gpt-4o", {"input_file_id": file_id})
    assert_failed(reply, 500, "NotConfigured", run_id=None)
    assert "STATUS_LINK_SECRET" in reply.body["error"]["message"]
    assert sim.requests() == []
    assert chat("gpt-4o", {"user_prompt": "hi"}).status == 200


@pytest.mark.parametrize(
    "link",
    [
        lambda batch_id: {},
        lambda batch_id: {"expires": "9999999999"},
        lambda batch_id: {"expires": "9999999999", "sig": "forged"},
        lambda batch_id: sign_link("batch_another", "gpt-4o"),
        lambda batch_id: sign_link(batch_id, "gpt-4o-mini"),
        lambda batch_id: sign_link(batch_id, "gpt-4o", expires=int(time.time()) - 1),
        lambda batch_id: sign_link(batch_id, "gpt-4o", secret="another-secret-of-32-characters!"),
    ],
    ids=["none", "no-sig", "forged", "another-run", "another-deployment", "expired", "secret"],
)
def test_a_poll_without_this_apps_signature_is_401_with_no_call_to_azure(sim, batch_id, link):
    sim.clear()
    reply = status(batch_id, sign=False, params={"deployment": "gpt-4o"} | link(batch_id))
    assert_failed(reply, 401, "InvalidStatusLink", run_id=batch_id)
    assert_no_call_to_azure(sim)


def test_a_missing_input_file_is_400_with_no_call_to_azure(sim):
    reply = submit_batch("gpt-4o", {})
    assert_failed(reply, 400, "InvalidRequest", run_id=None)
    assert reply.body["error"]["details"][0]["field"] == "input_file_id"
    assert "OpenAI Input File ID" in reply.body["error"]["message"]
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input_file_id": "input.jsonl"}, "input_file_id"),
        ({"input_file_id": 7}, "input_file_id"),
        ({"input_file_id": "file-1", "endpoint": "chat"}, "endpoint"),
        ({"input_file_id": "file-1", "completion_window": ["24h"]}, "completion_window"),
    ],
)
def test_bad_batch_parameters_are_400_with_no_call_to_azure(sim, body, field):
    reply = submit_batch("gpt-4o", body)
    assert_failed(reply, 400, "InvalidRequest", run_id=None)
    assert [d["field"] for d in reply.body["error"]["details"]] == [field]
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize("raw", [b"", b"[]", b"{", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_400(sim, raw):
    assert_failed(submit_batch("gpt-4o", raw), 400, "InvalidRequest", run_id=None)
    assert_no_call_to_azure(sim)


@pytest.mark.parametrize(
    "name", ["::batch", "gpt-4o::batch::batch", "../x::batch", "a b", "x" * 65]
)
def test_bad_external_ids_are_400(sim, name):
    reply = submit_batch(name, {"input_file_id": "file-1"})
    assert_failed(reply, 400, "InvalidDeploymentName", run_id=None)
    assert_no_call_to_azure(sim)


def test_a_batch_on_an_embedding_model_is_422_invalid_input_model(sim, registry_table):
    seed_definition(
        registry_table,
        "text-embedding-3-small",
        JobType="Azure OpenAI Embedding",
        ModelName="text-embedding-3-small",
    )
    reply = submit_batch("text-embedding-3-small::batch", {"input_file_id": "file-1"})
    assert_failed(reply, 422, "InvalidInputModel", run_id=None)
    assert "embedding model" in reply.body["error"]["message"]
    assert_no_call_to_azure(sim)


def test_a_batch_definition_typed_embedding_is_422_too(sim, registry_table):
    seed_definition(registry_table, "odd::batch", JobType="Azure OpenAI Embedding")
    assert_failed(
        submit_batch("odd", {"input_file_id": "file-1"}), 422, "InvalidInputModel", run_id=None
    )
    assert_no_call_to_azure(sim)


def test_an_unknown_input_file_is_azures_422():
    reply = submit_batch("gpt-4o", {"input_file_id": "file-doesnotexist"})
    assert_failed(reply, 422, "invalid_request", run_id=None)
    assert reply.body["upstream_status"] == 400


# --- polling -------------------------------------------------------------------------------


@pytest.fixture
def batch_id(sim, file_id) -> str:
    reply = submit_batch("gpt-4o", {"input_file_id": file_id})
    assert reply.status == 202, reply.body
    sim.clear()
    return str(reply.body["run_id"])


@pytest.mark.parametrize("state", ["validating", "in_progress", "finalizing", "cancelling"])
def test_running_states_are_202_with_a_status_query_url(sim, batch_id, state):
    sim.set_batch_status(batch_id, state)
    reply = status(batch_id, params={"deployment": "gpt-4o", "code": "k"})
    call = only_call(sim)
    assert (call.method, call.raw_path, call.query) == (
        "GET",
        f"{BATCHES}/{batch_id}",
        {"api-version": "2024-10-21"},
    )
    assert call.body == b""
    assert reply.status == 202, reply.body
    assert reply.body["status"] == "Running"
    assert reply.body["batch_status"] == state
    assert reply.body["run_id"] == batch_id
    assert reply.body["deployment"] == "gpt-4o"
    assert_status_link(reply.body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o")


def test_completed_is_200_success_with_the_outputs(sim, batch_id):
    sim.set_batch_status(batch_id, "completed")
    (batch,) = sim.batches()
    reply = status(batch_id)
    assert reply.status == 200, reply.body
    body = reply.body
    assert body["status"] == "Success" and body["batch_status"] == "completed"
    assert body["output_file_id"] == batch["output_file_id"] is not None
    assert body["error_file_id"] == batch["error_file_id"] is not None
    assert (
        body["request_counts_total"],
        body["request_counts_completed"],
        body["request_counts_failed"],
    ) == (
        batch["request_counts"]["total"],
        batch["request_counts"]["completed"],
        batch["request_counts"]["failed"],
    )
    assert body["request_counts_total"] == 3
    assert datetime.fromisoformat(body["start_time"]).timestamp() == batch["created_at"]
    assert datetime.fromisoformat(body["end_time"]).timestamp() == batch["completed_at"]
    assert "statusQueryUrl" not in body and "error" not in body
    assert body["deployment"] is None  # polled without our statusQueryUrl's deployment


@pytest.mark.parametrize(
    ("state", "code"),
    [("failed", "BatchFailed"), ("expired", "BatchExpired"), ("cancelled", "BatchCancelled")],
)
def test_terminal_failures_are_422_with_azures_errors(sim, batch_id, state, code):
    sim.set_batch_status(batch_id, state)
    (batch,) = sim.batches()
    reply = status(batch_id)
    assert_failed(reply, 422, code, run_id=batch_id)
    assert reply.body["batch_status"] == state
    assert reply.body["error"]["errors"] == ((batch["errors"] or {}).get("data") or [])
    if state == "failed":
        assert reply.body["error"]["errors"], "a failed batch carries Azure's errors"
    assert "statusQueryUrl" not in reply.body
    assert reply.body["end_time"] is not None


def test_azures_other_format_pascal_case_and_iso_times_reads_the_same(sim, batch_id):
    sim.batch_format = "azure"
    sim.set_batch_status(batch_id, "in_progress")
    assert sim.batches()[0]["status"] == "InProgress"
    running = status(batch_id)
    assert (running.status, running.body["batch_status"]) == (202, "in_progress")
    sim.set_batch_status(batch_id, "completed")
    (batch,) = sim.batches()
    done = status(batch_id)
    assert (done.status, done.body["batch_status"]) == (200, "completed")
    assert done.body["start_time"] == batch["created_at"]
    assert done.body["end_time"] == batch["completed_at"]


def test_the_whole_life_of_a_batch_on_the_simulators_clock(sim, file_id):
    sim.batch_step_s = 0.3
    reply = submit_batch("gpt-4o", {"input_file_id": file_id}, params={"code": "k"})
    url = reply.body["statusQueryUrl"]
    seen = [(reply.status, reply.body["batch_status"])]
    batch_id = reply.body["run_id"]
    for _ in range(200):
        answer = status(batch_id, params=link_params(url))
        if (answer.status, answer.body["batch_status"]) != seen[-1]:
            seen.append((answer.status, answer.body["batch_status"]))
        if answer.status != 202:
            break
        assert_status_link(answer.body["statusQueryUrl"], ORIGIN, batch_id, "gpt-4o")
        time.sleep(0.02)
    assert seen == [
        (202, "validating"),
        (202, "in_progress"),
        (202, "finalizing"),
        (200, "completed"),
    ]
    assert answer.body["request_counts_completed"] == 3


def test_an_unknown_batch_is_404():
    reply = status("batch_00000000-0000-0000-0000-000000000000")
    assert_failed(reply, 404, "BatchNotFound", run_id="batch_00000000-0000-0000-0000-000000000000")
    assert reply.body["upstream_status"] == 404


def test_a_bad_deployment_in_the_poll_query_is_400(sim, batch_id):
    reply = status(batch_id, params={"deployment": "../x"})
    assert_failed(reply, 400, "InvalidDeploymentName", run_id=None)
    assert_no_call_to_azure(sim)


def test_a_poll_survives_a_dropped_connection_and_a_timeout_since_get_is_safe(
    sim, batch_id, app_settings
):
    app_settings.set("AOAI_TIMEOUT_S", "0.3")
    sim.add_fault(Fault(method="GET", drop=True))
    sim.add_fault(Fault(method="GET", delay_s=1.0))
    reply = status(batch_id)
    assert reply.status == 202, reply.body
    assert len(sim.requests()) == 3


def test_a_poll_against_a_failing_azure_is_502_after_its_attempts(sim, batch_id):
    sim.add_fault(Fault(method="GET", status=500, times=None))
    reply = status(batch_id)
    assert_failed(reply, 502, "UpstreamUnavailable", run_id=batch_id)
    assert len(sim.requests()) == 3


def test_a_poll_answer_without_a_status_is_502(sim, batch_id):
    sim.add_fault(Fault(method="GET", status=200, body={"id": batch_id}))
    assert_failed(status(batch_id), 502, "UpstreamBadResponse", run_id=batch_id)


def test_batch_logs_carry_ids_but_never_the_key(sim, file_id, caplog):
    caplog.set_level(logging.DEBUG)
    reply = submit_batch("gpt-4o", {"input_file_id": file_id}, params={"code": "secret-key-77"})
    batch_id = reply.body["run_id"]
    sim.set_batch_status(batch_id, "failed")
    failed = status(batch_id, params=link_params(reply.body["statusQueryUrl"]))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-key-77" not in text
    (submit_line,) = [m for m in text.splitlines() if "batch run succeeded" in m]
    assert f"run_id={batch_id} deployment=gpt-4o" in submit_line
    assert f"request_id={reply.body['request_id']}" in submit_line
    (fail_line,) = [m for m in text.splitlines() if "batch run failed" in m]
    assert f"run_id={batch_id} deployment=gpt-4o code=BatchFailed" in fail_line
    assert f"request_id={failed.body['request_id']}" in fail_line


def test_a_batch_azure_answers_failed_at_submission_is_422_and_logged(sim, file_id, caplog):
    caplog.set_level(logging.INFO)
    errors = {"object": "list", "data": [{"code": "invalid_request", "message": "bad window"}]}
    failed = {"id": "batch_x1", "status": "failed", "errors": errors, "created_at": 1795651795}
    sim.add_fault(Fault(method="POST", path="^/openai/batches$", status=200, body=failed))
    reply = submit_batch("gpt-4o", {"input_file_id": file_id})
    assert_failed(reply, 422, "BatchFailed", run_id="batch_x1")
    assert reply.body["error"]["errors"] == errors["data"]
    assert "statusQueryUrl" not in reply.body
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "batch run succeeded" not in text
    assert "batch run failed: run_id=batch_x1 deployment=gpt-4o code=BatchFailed" in text
