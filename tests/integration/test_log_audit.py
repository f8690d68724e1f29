"""A log audit: every function, on its success and failure paths, with every logger at DEBUG
(ours, azure-core's HTTP logging, azure-identity, msal, urllib3). No prompt, completion,
embedding, token, key, SAS or connection string may appear in any record, and every run-failure
line carries the run id, the deployment and Azure's request id. Telemetry is on throughout: the
same holds for every span, event and metric point it exports.

Storage is reached with a SAS here (so a SAS is there to leak), and one run uses api_key mode."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.data.tables import (
    AccountSasPermissions,
    ResourceTypes,
    generate_account_sas,
)
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import function_app
from local.azurite import ACCOUNT as STORAGE_ACCOUNT
from local.azurite import KEY as STORAGE_KEY
from local.azurite import Azurite
from local.host import LocalHost
from local.invocation import invocation_context
from local.simulator import Fault, Simulator
from tests.conftest import AppSettings
from tests.helpers import (
    FUNCTION_KEY,
    IDENTITY_HEADER,
    MASTER_KEY,
    STATUS_LINK_SECRET,
    api,
    link_params,
    sign_link,
)
from tests.telemetry import Telemetry

pytestmark = pytest.mark.integration

PROMPT = "audit-user-prompt-5f1d"
SYSTEM = "audit-system-persona-77c2"
EMBED_INPUT = "audit-embedding-input-90ab"
API_KEY_PROMPT = "audit-api-key-mode-prompt-3e3e"
FAILURE_LINE = re.compile(r"run failed: run_id=(\S+) deployment=(\S+) .*request_id=(\S+)")


@pytest.fixture
def sas_storage(app_settings, app_env: dict[str, str], azurite: Azurite) -> str:
    sas = generate_account_sas(
        AzureNamedKeyCredential(STORAGE_ACCOUNT, STORAGE_KEY),
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, write=True, delete=True, list=True, add=True, create=True, update=True
        ),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    endpoint = f"http://127.0.0.1:{azurite.port}/{STORAGE_ACCOUNT}"
    app_settings.set("AzureWebJobsStorage", f"TableEndpoint={endpoint};SharedAccessSignature={sas}")
    app_settings.set("AOAI_BACKOFF_S", "0.01")
    app_settings.set("AOAI_TIMEOUT_S", "0.5")
    return sas


def test_no_secret_or_content_in_any_log_record_and_failures_carry_their_ids(
    host: LocalHost,
    sim: Simulator,
    sas_storage: str,
    caplog: pytest.LogCaptureFixture,
    app_settings: AppSettings,
    telemetry: Telemetry,
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[dict[str, Any]] = []

    def run(method: str, path: str, key: str | None = FUNCTION_KEY, **kw: Any) -> dict[str, Any]:
        reply = api(host, method, path, key=key, **kw)
        body: dict[str, Any] = reply.json()
        answers.append(body)
        return body

    # discovery: success (timer and HTTP), then an ARM refusal
    function_app.discovery_sync.build().get_user_function()(
        MagicMock(past_due=False), invocation_context("discovery_sync")
    )
    assert run("POST", "discovery", MASTER_KEY)["status"] == "Success"
    sim.add_fault(Fault(method="GET", path=r"/deployments$", status=403))
    refused = run("POST", "discovery", MASTER_KEY)["error"]
    assert refused["code"] == "UpstreamAuthFailed" and refused["request_id"]
    run("GET", "jobs", MASTER_KEY)
    run("GET", "health", None)
    run("GET", "health/details")

    # chat: success, content filter, throttled, failing, dropped, cut, bad input, unknown
    chat = {"user_prompt": PROMPT, "system_prompt": SYSTEM}
    completion = run("POST", "chat/gpt-4o", json=chat)["response"]
    run("POST", "chat/gpt-4o", json={"user_prompt": PROMPT + " [[filter-prompt]]"})
    run("POST", "chat/gpt-4o", json={"user_prompt": PROMPT + " [[filter-completion]]"})
    for fault in (
        Fault(status=429, headers={"retry-after-ms": "10"}, times=None),
        Fault(status=500, times=None),
        Fault(drop=True, times=None),
        Fault(cut=True),
        Fault(delay_s=1.0),
        Fault(status=200, body="<html>proxy</html>", content_type="text/html"),
    ):
        sim.add_fault(fault)
        assert run("POST", "chat/gpt-4o", json=chat)["status"] == "Failed"
        sim.clear_faults()
    run("POST", "chat/gpt-4o", json={"user_prompt": 42, "system_prompt": SYSTEM})
    run("POST", "chat/no-such-deployment", json=chat)
    run("POST", "chat/a%3Fb", json=chat)

    # a background chat run, and its polls: running, then completed
    sim.response_step_s = 60.0
    started = run("POST", "chat/gpt-4o", json={"user_prompt": PROMPT, "background": True})
    run("GET", f"status/{started['run_id']}", None, params=link_params(started["statusQueryUrl"]))
    sim.set_response_status(started["run_id"], "completed")
    done = run(
        "GET", f"status/{started['run_id']}", None, params=link_params(started["statusQueryUrl"])
    )
    assert done["status"] == "Success" and done["response"]

    # embedding: success, failure
    vector = run("POST", "embeddings/text-embedding-3-small", json={"input": EMBED_INPUT})
    run("POST", "embeddings/gpt-4o", json={"input": EMBED_INPUT})

    # batches: submit, poll through every outcome, failures
    file_id = sim.upload_file(
        b'{"custom_id": "c", "method": "POST", "url": "/chat/completions", "body": {"model": '
        b'"gpt-4o", "messages": [{"role": "user", "content": "' + PROMPT.encode() + b'"}]}}'
    )
    submitted = run("POST", "batches/gpt-4o::batch", json={"input_file_id": file_id})
    batch_id = submitted["run_id"]
    for state in ("in_progress", "completed", "failed", "expired"):
        sim.set_batch_status(batch_id, state)
        run("GET", f"status/{batch_id}", None, params=link_params(submitted["statusQueryUrl"]))
    run("GET", "status/batch_unknown", None, params=sign_link("batch_unknown", None))
    run("GET", f"status/{batch_id}", None, params={"deployment": "gpt-4o", "sig": "forged"})
    run("POST", "batches/gpt-4o", json={"input_file_id": "file-unknown"})
    run("POST", "batches/gpt-4o", json={})
    run("GET", "status/gpt-4o%23sync%23Failed")

    # api_key mode: a success and a refused key
    app_settings.set("AZURE_OPENAI_AUTH", "api_key")
    app_settings.set("AZURE_OPENAI_API_KEY", sim.api_key)
    run("POST", "chat/gpt-4o", json={"user_prompt": API_KEY_PROMPT})
    app_settings.set("AZURE_OPENAI_API_KEY", "audit-wrong-api-key-1a2b")
    run("POST", "chat/gpt-4o", json={"user_prompt": API_KEY_PROMPT})

    lines = [_text(record) for record in caplog.records]
    text = "\n".join(lines)
    secrets = {
        "prompt": PROMPT,
        "system prompt": SYSTEM,
        "api-key-mode prompt": API_KEY_PROMPT,
        "embedding input": EMBED_INPUT,
        "completion": completion,
        "background completion": done["response"],
        "embedding values": repr(vector["embedding"][0]),
        "function key": FUNCTION_KEY,
        "master key": MASTER_KEY,
        "api key": sim.api_key,
        "wrong api key": "audit-wrong-api-key-1a2b",
        "identity header": IDENTITY_HEADER,
        "status link secret": STATUS_LINK_SECRET,
        "status link signature": link_params(submitted["statusQueryUrl"])["sig"],
        "storage account key": STORAGE_KEY,
        "SAS signature": _sas_signature(sas_storage),
        "SAS": sas_storage,
        **{f"token for {audience}": token for token, audience in sim.issued_tokens().items()},
    }
    assert len(sim.issued_tokens()) >= 2  # a data-plane and an ARM token were in play
    leaked = [name for name, secret in secrets.items() if secret in text]
    assert leaked == [], [line for line in lines if any(s in line for s in secrets.values())]

    # Telemetry was on: nothing of the above in any exported span, event, status, resource or
    # metric point, as the SDK holds them or as they went over the wire (OTLP protobuf).
    exported = _exported_text(telemetry)
    assert len(telemetry.spans()) > 40 and "chat gpt-4o" in exported
    leaked = [name for name, secret in secrets.items() if secret in exported]
    assert leaked == []
    wire = _exported_bytes(telemetry)
    assert b"chat gpt-4o" in wire
    assert [name for name, secret in secrets.items() if secret.encode() in wire] == []

    # One failure line per failed run, with the run's id, its deployment and Azure's request id
    # (None when Azure never answered). Not logged as runs: a refused route parameter (nothing
    # ran) and the status poll of a sync run that had failed earlier.
    failures = [FAILURE_LINE.search(line) for line in lines if "run failed:" in line]
    assert all(failures)
    logged = sorted((str(m[1]), str(m[3])) for m in failures if m)
    expected = sorted(
        (str(a["run_id"]), str(a.get("request_id")))
        for a in answers
        if a.get("status") == "Failed"
        and "run_id" in a
        and a["error"]["code"] not in {"InvalidDeploymentName", "RunFailed"}
    )
    assert logged == expected
    assert len(logged) == 17  # the forged status link is a failed poll too
    assert all(m[2] != "None" for m in failures if m and m[1] != "batch_unknown")
    (discovery_failure,) = [line for line in lines if line.startswith("discovery Failed")]
    assert f"request_id={refused['request_id']}" in discovery_failure


def _text(record: logging.LogRecord) -> str:
    """Everything a log handler could write for the record: message, exception, stack."""
    parts = [record.getMessage()]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


def _exported_text(telemetry: Telemetry) -> str:
    """Everything an exporter could send of the spans and metric points, as text."""
    parts: list[str] = []
    for span in telemetry.spans():
        parts += [span.name, repr(dict(span.attributes or {})), str(span.status.description)]
        parts += [repr(dict(span.resource.attributes))]
        for event in span.events:
            parts += [event.name, repr(dict(event.attributes or {}))]
        for link in span.links:
            parts.append(repr(dict(link.attributes or {})))
    for name, points in telemetry.points().items():
        parts += [name, *(repr(point) for point in points)]
    return "\n".join(parts)


def _exported_bytes(telemetry: Telemetry) -> bytes:
    """What the OTLP exporters sent to the receiver, once flushed."""
    tracer_provider, meter_provider = trace.get_tracer_provider(), metrics.get_meter_provider()
    assert isinstance(tracer_provider, TracerProvider)
    assert isinstance(meter_provider, MeterProvider)
    tracer_provider.force_flush()
    meter_provider.force_flush()
    return b"\n".join(request.body for request in telemetry.receiver.requests())


def _sas_signature(sas: str) -> str:
    match = re.search(r"(?:^|&)sig=([^&]+)", sas)
    assert match is not None
    return match[1]
