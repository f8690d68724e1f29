"""The telemetry pipeline as the app configures it, in a fresh process each (OpenTelemetry's
providers are set once per process): off, it loads no OpenTelemetry module at all; on, it is
configured on the first run (not at import, not by a health call), once, and exports over real
HTTP to a loopback receiver: OTLP/HTTP protobuf with the standard OTEL_* variables honoured, and
Application Insights' ingestion with the managed identity's token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest

from local.otlp import TelemetryReceiver
from tests.helpers import ROOT
from tests.tls import loopback_certificate

pytestmark = pytest.mark.integration

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SCRIPT = """
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)  # every log line there is to export
import azure.functions as func
import function_app
from local.invocation import invocation_context

def loaded():
    return sorted({m.split(".")[0] + "." + m.split(".")[1] if m.startswith("azure.") else
                   m.split(".")[0] for m in sys.modules
                   if m.startswith(("opentelemetry", "azure.monitor"))})

def call(name, method, path, route_params=None, body=b""):
    request = func.HttpRequest(method, "http://localhost:7071/api/" + path, headers={},
                               params={}, route_params=route_params or {}, body=body)
    function = getattr(function_app, name).build().get_user_function()
    if name == "health":
        return function(request).status_code
    return function(request, invocation_context(name)).status_code

report = {"after_import": loaded()}
report["health"] = call("health", "GET", "health")
report["after_health"] = loaded()
report["chats"] = [call("chat_run", "POST", "chat/gpt-4o", {"deployment": "gpt-4o"},
                        b'{"user_prompt": "Hi"}') for _ in range(2)]
from shared import wiring
from shared.telemetry import pipeline
report["configured"] = list(pipeline.configured())
report["again"] = pipeline.configure_once(wiring.settings())
report["after_runs"] = loaded()
if report["configured"]:
    from opentelemetry import metrics, trace
    report["provider"] = type(trace.get_tracer_provider()).__name__
    trace.get_tracer_provider().shutdown()  # flushes the spans
    metrics.get_meter_provider().shutdown()  # and the metrics
print(json.dumps(report))
"""


def run_app(extra: dict[str, str]) -> dict[str, Any]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_", "PYTHON_APPLICATIONINSIGHTS"))
    }
    env |= {"APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true", **extra}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["stderr"] = done.stderr
    assert report["health"] == 200 and report["chats"] == [200, 200], report
    return report


@pytest.fixture
def receiver():
    with TelemetryReceiver() as server:
        yield server


@pytest.mark.usefixtures("app_env")
def test_off_no_opentelemetry_module_is_ever_loaded(receiver):
    report = run_app({})
    assert report["after_runs"] == []
    assert report["configured"] == [] and report["again"] is False
    assert receiver.requests() == []


@pytest.mark.usefixtures("app_env")
def test_otlp_configured_on_the_first_run_once_with_the_standard_variables(receiver):
    report = run_app(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=probe-7",
            "OTEL_SERVICE_NAME": "polysync-under-test",
        }
    )
    assert report["after_import"] == [] and report["after_health"] == []
    assert report["configured"] == ["OTLP"] and report["again"] is False
    assert "azure.monitor" not in report["after_runs"]
    assert report["provider"] == "TracerProvider"

    chats = [s for s in receiver.spans() if s.name == "chat gpt-4o"]
    assert len(chats) == 2
    assert {s.resource["service.name"] for s in chats} == {"polysync-under-test"}
    assert all(s.attributes["gen_ai.provider.name"] == "azure.ai.openai" for s in chats)
    assert all(s.kind == "SPAN_KIND_CLIENT" for s in chats)
    attempts = [s for s in receiver.spans() if s.parent_span_id in {c.span_id for c in chats}]
    assert len(attempts) >= 2
    traces, exported_metrics = receiver.requests("/v1/traces"), receiver.requests("/v1/metrics")
    assert traces and exported_metrics
    for request in traces + exported_metrics:
        assert request.headers["content-type"] == "application/x-protobuf"
        assert request.headers["x-collector-key"] == "probe-7"
    assert {
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "polysync.runs",
    } <= receiver.metric_names()


@pytest.fixture
def tls_receiver(tmp_path):
    """Ingestion over HTTPS: azure-core sends a bearer token over TLS only."""
    certificate, key = loopback_certificate(tmp_path)
    with TelemetryReceiver(tls=(certificate, key)) as server:
        yield server, certificate


@pytest.mark.usefixtures("app_env")
def test_application_insights_with_the_managed_identity(tls_receiver, sim):
    receiver, certificate = tls_receiver
    # a key of its own: the exporter keeps what it could not send on disk, per key, and would
    # send another run's leftovers here
    connection = f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={receiver.url}/"
    report = run_app(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": connection,
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"Authorization=AAD;ClientId={CLIENT_ID}",
            "REQUESTS_CA_BUNDLE": certificate,
        }
    )
    assert report["after_import"] == [] and report["after_health"] == []
    assert report["configured"] == ["Azure Monitor"] and report["again"] is False

    items = receiver.envelopes()
    dependencies = [e for e in items if e.get("data", {}).get("baseType") == "RemoteDependencyData"]
    runs = [d for d in dependencies if d["data"]["baseData"]["name"] == "chat gpt-4o"]
    assert len(runs) == 2, report["stderr"][-4000:]
    properties = runs[0]["data"]["baseData"]["properties"]
    assert properties["gen_ai.operation.name"] == "chat"
    assert properties["polysync.outcome"] == "Success"
    metrics = {e["data"]["baseData"]["metrics"][0]["name"] for e in items if "Metric" in e["name"]}
    assert "gen_ai.client.token.usage" in metrics
    # the host ships the worker's log lines: the app exports none of its own (no duplicates)
    assert {e["data"]["baseType"] for e in items} == {"RemoteDependencyData", "MetricData"}
    (call,) = {
        d["data"]["baseData"]["name"]
        for d in dependencies
        if "chat" in d["data"]["baseData"]["name"] and d not in runs
    }
    assert call == "POST /openai/deployments/gpt-4o/chat/completions"
    # local auth is off in Azure: every ingestion call carries the identity's Entra token
    tracks = [r for r in receiver.requests() if r.path.endswith("/track")]
    assert tracks
    tokens = {r.headers["authorization"].removeprefix("Bearer ") for r in tracks}
    issued = sim.issued_tokens()
    assert tokens <= set(issued) and {issued[t] for t in tokens} == {"https://monitor.azure.com"}
    assert any(r.query.get("client_id") == CLIENT_ID for r in sim.token_requests())
