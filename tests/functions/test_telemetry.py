"""Telemetry, as the SDK's in-memory exporter and reader see it (`tests/telemetry.py`): for a
chat run, an embedding, a batch submitted and polled, a discovery and failed runs, the exact
spans (names, kinds, parents, attributes, status) and metric points. And off, nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from local.simulator import Fault
from shared import constants as c
from tests.functions.helpers import chat, embed, invoke, status, submit_batch
from tests.helpers import ACCOUNT, link_params
from tests.telemetry import Point, Telemetry

pytestmark = pytest.mark.usefixtures("app_env")

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01", "tracestate": "polysync=1"}
CHAT_TEMPLATE = "/openai/deployments/{deployment}/chat/completions"
ARM_TEMPLATE = (
    "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
    "Microsoft.CognitiveServices/accounts/{account}/deployments"
)


def server(sim: Any) -> dict[str, Any]:
    host, port = sim.url.removeprefix("http://").split(":")
    return {"server.address": host, "server.port": int(port)}


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def genai(
    sim: Any, operation: str, deployment: str, job_type: str, model: str | None
) -> dict[str, Any]:
    """The attributes a GenAI run's span and metric points share."""
    dims = {
        "polysync.operation": operation,
        "gen_ai.operation.name": operation,
        "gen_ai.provider.name": "azure.ai.openai",
        **server(sim),
        "polysync.deployment": deployment,
        "gen_ai.request.model": deployment,
        "polysync.job_type": job_type,
    }
    if model is not None:
        dims["gen_ai.response.model"] = model
    return dims


def children(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in telemetry.spans() if s.parent and s.parent.span_id == parent.context.span_id]


def azure_calls(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in children(telemetry, parent) if "az.namespace" not in (s.attributes or {})]


def table_calls(telemetry: Telemetry, parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in children(telemetry, parent) if "az.namespace" in (s.attributes or {})]


def test_a_chat_run_is_one_genai_span_with_its_call_and_registry_read_and_token_metrics(
    sim, telemetry: Telemetry, table_name: str
):
    reply = chat("gpt-4o", {"user_prompt": "What is the capital of France?"}, headers=TRACEPARENT)
    assert reply.status == 200
    body = reply.body
    run = telemetry.span("chat gpt-4o")
    assert run.kind is SpanKind.CLIENT
    assert run.status.status_code is StatusCode.UNSET
    # the caller's trace continues: same trace id, the caller's span as the parent
    assert format(run.context.trace_id, "032x") == TRACE_ID
    assert run.parent is not None and format(run.parent.span_id, "016x") == PARENT_ID
    attributes = attrs(run)
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{29}", str(attributes["gen_ai.response.id"]))
    assert attributes == genai(sim, "chat", "gpt-4o", c.JOB_TYPE_CHAT, "gpt-4o-2024-08-06") | {
        "gen_ai.response.id": attributes["gen_ai.response.id"],
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": body["prompt_tokens"],
        "gen_ai.usage.output_tokens": body["completion_tokens"],
        "polysync.run_id": "gpt-4o#sync#Success",
        "azure.service.request.id": body["request_id"],
        "polysync.upstream_status": 200,
        "polysync.api": "classic",
        "polysync.finish_reason": "stop",
        "polysync.total_tokens": body["total_tokens"],
        "polysync.adjusted": "none",
        "polysync.outcome": "Success",
        "polysync.http_status": 200,
        "polysync.attempts": 1,
    }

    (attempt,) = azure_calls(telemetry, run)
    assert attempt.name == f"POST {CHAT_TEMPLATE}" and attempt.kind is SpanKind.CLIENT
    assert attrs(attempt) == {
        "http.request.method": "POST",
        "url.template": CHAT_TEMPLATE,
        "url.full": f"{sim.url}/openai/deployments/gpt-4o/chat/completions",  # no query
        **server(sim),
        "polysync.attempt": 1,
        "http.response.status_code": 200,
        "azure.service.request.id": body["request_id"],
    }
    (read,) = table_calls(telemetry, run)  # the job definition, absent: a 404 that is no fault
    assert read.name == f"GET /devstoreaccount1/{table_name}()"
    assert (read.attributes or {})["http.response.status_code"] == 404
    assert read.status.status_code is StatusCode.UNSET

    dims = genai(sim, "chat", "gpt-4o", c.JOB_TYPE_CHAT, "gpt-4o-2024-08-06")
    points = telemetry.points()
    assert sorted(points["gen_ai.client.token.usage"], key=lambda p: p.value) == sorted(
        [
            Point(dims | {"gen_ai.token.type": "input"}, body["prompt_tokens"], 1),
            Point(dims | {"gen_ai.token.type": "output"}, body["completion_tokens"], 1),
        ],
        key=lambda p: p.value,
    )
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.attributes == dims and duration.count == 1
    assert 0 < duration.value < 20
    assert points["polysync.runs"] == [Point(dims | {"polysync.outcome": "Success"}, 1)]
    assert "polysync.throttled_attempts" not in points


def test_an_embedding_run_counts_input_tokens_only(sim, telemetry: Telemetry):
    reply = embed("text-embedding-3-small", {"input": "Hello"})
    assert reply.status == 200

    run = telemetry.span("embeddings text-embedding-3-small")
    model = reply.body["model"]
    dims = genai(sim, "embeddings", "text-embedding-3-small", c.JOB_TYPE_EMBEDDING, model)
    attributes = dict(run.attributes or {})
    assert attributes["gen_ai.usage.input_tokens"] == reply.body["prompt_tokens"]
    assert "gen_ai.usage.output_tokens" not in attributes
    assert {k: attributes[k] for k in dims} == dims
    assert attributes["polysync.dimensions"] == len(reply.body["embedding"])
    assert run.parent is None  # no traceparent: a trace of its own
    points = telemetry.points()
    assert points["gen_ai.client.token.usage"] == [
        Point(dims | {"gen_ai.token.type": "input"}, reply.body["prompt_tokens"], 1)
    ]


@pytest.fixture
def file_id(sim) -> str:
    line = (
        b'{"custom_id": "t", "method": "POST", "url": "/chat/completions", "body": '
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}}'
    )
    return str(sim.upload_file(line, "input.jsonl"))


def test_a_batch_submit_and_its_polls_are_runs_of_their_own(sim, telemetry: Telemetry, file_id):
    submitted = submit_batch("gpt-4o::batch", {"input_file_id": file_id})
    assert submitted.status == 202
    batch_id = submitted.body["run_id"]

    create = telemetry.span("create_batch gpt-4o")
    attributes = dict(create.attributes or {})
    dims = genai(sim, "create_batch", "gpt-4o", c.JOB_TYPE_BATCH, None)
    assert {k: attributes[k] for k in dims} == dims
    assert attributes["polysync.run_id"] == batch_id
    assert attributes["gen_ai.response.id"] == batch_id
    assert attributes["polysync.outcome"] == "Running"
    assert attributes["polysync.http_status"] == 202
    (call,) = azure_calls(telemetry, create)
    assert call.name == "POST /openai/batches"

    sim.set_batch_status(batch_id, "completed")
    telemetry.clear()
    polled = status(batch_id, params={"deployment": "gpt-4o"})
    assert polled.status == 200
    poll = telemetry.span("poll_batch gpt-4o")
    attributes = dict(poll.attributes or {})
    assert attributes["polysync.batch_status"] == "completed"
    assert attributes["polysync.outcome"] == "Success"
    assert attributes["polysync.run_id"] == batch_id
    (call,) = azure_calls(telemetry, poll)
    assert call.name == "GET /openai/batches/{batch_id}"
    assert attrs(call)["url.template"] == "/openai/batches/{batch_id}"
    runs = telemetry.points()["polysync.runs"]
    assert runs == [
        Point(
            genai(sim, "poll_batch", "gpt-4o", c.JOB_TYPE_BATCH, None)
            | {"polysync.outcome": "Success"},
            1,
        )
    ]


def test_a_discovery_is_an_internal_span_over_arm_and_the_registry(
    sim, telemetry: Telemetry, registry_table
):
    reply = invoke("discovery_run", "POST", "discovery", headers=TRACEPARENT)
    assert reply.status == 200
    body = reply.body

    run = telemetry.span("discovery")
    assert run.kind is SpanKind.INTERNAL
    assert format(run.context.trace_id, "032x") == TRACE_ID
    assert dict(run.attributes or {}) == {
        "polysync.operation": "discovery",
        "polysync.trigger": "http",
        "polysync.account": ACCOUNT,
        "polysync.deployments": body["deployments"],
        "polysync.created": body["created"],
        "polysync.updated": 0,
        "polysync.unchanged": 0,
        "polysync.retired": 0,
        "polysync.unretired": 0,
        "polysync.warnings": len(body["warnings"]),
        "polysync.outcome": "Success",
        "polysync.http_status": 200,
        "polysync.attempts": 1,
    }
    (listing,) = azure_calls(telemetry, run)
    assert listing.name == f"GET {ARM_TEMPLATE}"
    assert attrs(listing)["url.template"] == ARM_TEMPLATE
    writes = [s for s in table_calls(telemetry, run) if s.name.endswith("/$batch")]
    assert writes and all(attrs(s)["http.response.status_code"] == 202 for s in writes)
    points = telemetry.points()
    assert points["polysync.runs"] == [
        Point({"polysync.operation": "discovery", "polysync.outcome": "Success"}, 1)
    ]
    assert "gen_ai.client.operation.duration" not in points  # discovery is no GenAI operation


def test_a_throttled_run_shows_each_attempt_and_fails_with_its_code(sim, telemetry: Telemetry):
    sim.add_fault(Fault(status=429, headers={"retry-after-ms": "10"}, times=None))
    reply = chat("gpt-4o", {"user_prompt": "Hi"})
    assert (reply.status, reply.body["error"]["code"]) == (503, "RateLimited")

    run = telemetry.span("chat gpt-4o")
    assert run.status.status_code is StatusCode.ERROR
    assert run.status.description == "RateLimited"
    attributes = dict(run.attributes or {})
    assert attributes["error.type"] == attributes["polysync.error_code"] == "RateLimited"
    assert attributes["polysync.outcome"] == "Failed"
    assert attributes["polysync.http_status"] == 503
    assert attributes["polysync.attempts"] == 3
    assert attributes["polysync.run_id"] == "gpt-4o#sync#Failed"
    assert run.events == ()  # no exception event: its message could quote a prompt

    attempts = sorted(azure_calls(telemetry, run), key=lambda s: s.start_time or 0)
    assert [dict(s.attributes or {}).get("http.request.resend_count") for s in attempts] == [
        None,
        1,
        2,
    ]
    assert [attrs(s)["polysync.attempt"] for s in attempts] == [1, 2, 3]
    assert all(attrs(s)["error.type"] == "429" for s in attempts)
    assert all(s.status.status_code is StatusCode.ERROR for s in attempts)

    dims = genai(sim, "chat", "gpt-4o", c.JOB_TYPE_CHAT, None)
    points = telemetry.points()
    assert points["polysync.throttled_attempts"] == [
        Point({**server(sim), "polysync.deployment": "gpt-4o", "polysync.operation": "chat"}, 3)
    ]
    failed = {"polysync.outcome": "Failed", "error.type": "RateLimited"}
    assert points["polysync.runs"] == [Point(dims | failed, 1)]
    (duration,) = points["gen_ai.client.operation.duration"]
    assert duration.attributes == dims | {"error.type": "RateLimited"}
    assert "gen_ai.client.token.usage" not in points


def test_bad_input_is_a_failed_run_with_no_call_to_azure(sim, telemetry: Telemetry):
    reply = chat("gpt-4o", {"user_prompt": 42})
    assert reply.status == 400

    run = telemetry.span("chat gpt-4o")
    assert run.status.description == "InvalidRequest"
    assert attrs(run)["polysync.attempts"] == 0
    assert azure_calls(telemetry, run) == []
    assert sim.requests() == []


def test_a_bad_route_parameter_still_ends_its_span(sim, telemetry: Telemetry):
    reply = chat("bad name!", {"user_prompt": "Hi"})
    assert reply.status == 400
    (run,) = telemetry.spans()
    assert run.name == "chat"  # the deployment was refused: it names no span
    assert attrs(run)["error.type"] == "InvalidDeploymentName"


def test_telemetry_off_records_nothing(sim, telemetry: Telemetry, app_settings):
    app_settings.unset("OTEL_EXPORTER_OTLP_ENDPOINT")
    assert chat("gpt-4o", {"user_prompt": "Hi"}).status == 200
    assert embed("text-embedding-3-small", {"input": "Hi"}).status == 200
    assert telemetry.spans() == []
    assert telemetry.points() == {}


def test_a_background_chat_run_and_its_completed_poll_count_the_tokens_once(
    sim, telemetry: Telemetry
):
    sim.response_step_s = 60.0  # Azure keeps it running until the test completes it
    started = chat("gpt-4o", {"user_prompt": "Hi", "background": True})
    assert started.status == 202
    run_id = started.body["run_id"]
    create = telemetry.span("chat gpt-4o")
    assert attrs(create)["polysync.outcome"] == "Running"
    assert attrs(create)["polysync.run_id"] == attrs(create)["gen_ai.response.id"] == run_id
    assert "gen_ai.usage.input_tokens" not in attrs(create)  # nothing spent yet, nothing counted
    assert "gen_ai.client.token.usage" not in telemetry.points()

    sim.set_response_status(run_id, "completed")
    telemetry.clear()
    done = status(run_id, params=link_params(started.body["statusQueryUrl"]))
    assert done.status == 200
    poll = telemetry.span("poll_response gpt-4o")
    attributes = attrs(poll)
    assert attributes["gen_ai.usage.input_tokens"] == done.body["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == done.body["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["polysync.job_type"] == c.JOB_TYPE_CHAT
    (call,) = azure_calls(telemetry, poll)
    assert call.name == "GET /openai/v1/responses/{response_id}"
    tokens = telemetry.points()["gen_ai.client.token.usage"]
    assert sorted((p.attributes["gen_ai.token.type"], p.value) for p in tokens) == [
        ("input", done.body["prompt_tokens"]),
        ("output", done.body["completion_tokens"]),
    ]
