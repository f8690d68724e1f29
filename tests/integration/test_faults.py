"""Every fault Azure (or a proxy in front of it) can produce, for every kind of call the app makes,
over real HTTP through the local host: the documented status and error code, how many times Azure
was called, a total time inside the run's deadline, and no unhandled exception.

The timeouts are settings, shortened here so the matrix stays fast; the logic is the same as with
the defaults.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from azure.data.tables import TableClient

from local.host import LocalHost
from local.simulator import Fault, RecordedRequest, Simulator
from tests.helpers import MASTER_KEY, api, entities, sign_link

pytestmark = pytest.mark.integration

READ_TIMEOUT_S = 0.5
DEADLINE_S = 8.0
SLOW_S = 1.2  # past the read timeout
ATTEMPTS = 3
LINE = (
    b'{"custom_id": "t-0", "method": "POST", "url": "/chat/completions", '
    b'"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}}'
)
HTML_PAGE = "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


@pytest.fixture
def fast(app_settings, app_env: dict[str, str]) -> None:
    app_settings.set("AOAI_TIMEOUT_S", str(READ_TIMEOUT_S))
    app_settings.set("RUN_DEADLINE_S", str(DEADLINE_S))
    app_settings.set("AOAI_BACKOFF_S", "0.01")
    app_settings.set("AOAI_MAX_ATTEMPTS", str(ATTEMPTS))


@dataclass(frozen=True)
class Operation:
    """One kind of call the app makes to Azure, driven through the app's own HTTP function."""

    name: str
    upstream_method: str
    upstream_path: str  # regex of the upstream path, for the fault and for counting attempts
    ok_status: int
    call: Callable[[LocalHost, Simulator], requests.Response]
    prepare: Callable[[LocalHost, Simulator], None] = field(default=lambda host, sim: None)
    arm: bool = False

    def attempts(self, sim: Simulator) -> list[RecordedRequest]:
        recorded = sim.arm_requests() if self.arm else sim.requests()
        return [r for r in recorded if r.method == self.upstream_method]


def _submit(host: LocalHost, sim: Simulator) -> requests.Response:
    file_id = next(f["id"] for f in sim.files() if f["purpose"] == "batch")
    return api(host, "POST", "batches/gpt-4o", json={"input_file_id": file_id})


def _upload(sim: Simulator) -> None:
    sim.upload_file(LINE)


def _submitted_batch(host: LocalHost, sim: Simulator) -> None:
    sim.batch_step_s = 60.0  # stays validating: a successful poll answers 202
    _upload(sim)
    reply = _submit(host, sim)
    assert reply.status_code == 202, reply.text


def _poll(host: LocalHost, sim: Simulator) -> requests.Response:
    (batch,) = sim.batches()
    signature = sign_link(batch["id"], None)
    return api(host, "GET", f"status/{batch['id']}", key=None, params=signature)


def _started_response(host: LocalHost, sim: Simulator) -> None:
    sim.response_step_s = 60.0  # stays queued: a successful poll answers 202
    reply = api(host, "POST", "chat/gpt-4o", json={"user_prompt": "Hello", "background": True})
    assert reply.status_code == 202, reply.text


def _poll_response(host: LocalHost, sim: Simulator) -> requests.Response:
    (response,) = sim.responses()
    signature = sign_link(response["id"], "gpt-4o")
    query = {"deployment": "gpt-4o"} | signature
    return api(host, "GET", f"status/{response['id']}", key=None, params=query)


OPERATIONS = [
    Operation(
        "chat",
        "POST",
        r"/chat/completions$",
        200,
        lambda host, sim: api(host, "POST", "chat/gpt-4o", json={"user_prompt": "Hello"}),
    ),
    Operation(
        "embedding",
        "POST",
        r"/embeddings$",
        200,
        lambda host, sim: api(
            host, "POST", "embeddings/text-embedding-3-small", json={"input": "Hello"}
        ),
    ),
    Operation(
        "batch submit", "POST", r"^/openai/batches$", 202, _submit, lambda host, sim: _upload(sim)
    ),
    Operation("batch poll", "GET", r"^/openai/batches/batch_", 202, _poll, _submitted_batch),
    Operation(
        "responses create",
        "POST",
        r"^/openai/v1/responses$",
        202,
        lambda host, sim: api(
            host, "POST", "chat/gpt-4o", json={"user_prompt": "Hello", "background": True}
        ),
    ),
    Operation(
        "responses poll",
        "GET",
        r"^/openai/v1/responses/resp_",
        202,
        _poll_response,
        _started_response,
    ),
    Operation(
        "discovery",
        "GET",
        r"/deployments$",
        200,
        lambda host, sim: api(host, "POST", "discovery", json={}, key=MASTER_KEY),
        arm=True,
    ),
]


@dataclass(frozen=True)
class Case:
    """A fault and what it must end in, for a POST (never retried once sent, when the answer may
    have been billed) and for a GET."""

    name: str
    fault: dict[str, Any]
    status: int
    code: str
    post_attempts: int = ATTEMPTS
    get_attempts: int = ATTEMPTS
    min_elapsed_s: float = 0.0
    retry_after: str | None = None


PERSISTENT = [
    Case(
        "429 retry-after-ms",
        {"status": 429, "headers": {"retry-after-ms": "100"}},
        503,
        "RateLimited",
        min_elapsed_s=0.2,
        retry_after="1",
    ),
    Case(
        "429 retry-after seconds",
        {"status": 429, "headers": {"retry-after": "1"}},
        503,
        "RateLimited",
        min_elapsed_s=2.0,
        retry_after="1",
    ),
    Case("429 without a hint", {"status": 429}, 503, "RateLimited", retry_after="8"),
    Case(
        "429 beyond the deadline",
        {"status": 429, "headers": {"retry-after": "600"}},
        503,
        "RateLimited",
        post_attempts=1,
        get_attempts=1,
        retry_after="600",
    ),
    Case("408", {"status": 408}, 504, "UpstreamTimeout"),
    Case("500", {"status": 500}, 502, "UpstreamUnavailable"),
    Case("502", {"status": 502}, 502, "UpstreamUnavailable"),
    Case("503", {"status": 503}, 502, "UpstreamUnavailable"),
    Case("504", {"status": 504}, 502, "UpstreamUnavailable"),
    Case("dropped before any byte", {"drop": True}, 502, "UpstreamUnavailable"),
    Case("cut mid-body", {"cut": True}, 502, "UpstreamBadResponse", post_attempts=1),
    Case("slower than the read timeout", {"delay_s": SLOW_S}, 504, "UpstreamTimeout", 1),
    Case("stalls mid-body past the read timeout", {"stall_s": SLOW_S}, 504, "UpstreamTimeout", 1),
    Case(
        "non-JSON body",
        {"status": 200, "body": "this is not json", "content_type": "text/plain"},
        502,
        "UpstreamBadResponse",
        1,
        1,
    ),
    Case(
        "JSON missing the fields we read",
        {"status": 200, "body": {"unexpected": True}},
        502,
        "UpstreamBadResponse",
        1,
        1,
    ),
    Case(
        "HTML error page from a proxy",
        {"status": 502, "body": HTML_PAGE, "content_type": "text/html"},
        502,
        "UpstreamUnavailable",
    ),
]


def _run(operation: Operation, host: LocalHost, sim: Simulator, fault: dict[str, Any]) -> Any:
    operation.prepare(host, sim)
    sim.clear()
    sim.add_fault(Fault(method=operation.upstream_method, path=operation.upstream_path, **fault))
    started = time.monotonic()
    reply = operation.call(host, sim)
    return reply, time.monotonic() - started


def _no_unhandled_exception(reply: requests.Response, caplog: pytest.LogCaptureFixture) -> None:
    assert reply.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in reply.text
    unexpected = [r for r in caplog.records if "unexpected" in r.getMessage()]
    assert unexpected == []


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize("case", PERSISTENT, ids=lambda case: case.name)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_a_persistent_fault_ends_in_its_documented_answer(
    host: LocalHost,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    operation: Operation,
    case: Case,
) -> None:
    fault = {**case.fault, "times": None}
    reply, elapsed = _run(operation, host, sim, fault)

    body = reply.json()
    assert (reply.status_code, body["error"]["code"]) == (case.status, case.code), body
    assert body["status"] == "Failed"
    expected = case.get_attempts if operation.upstream_method == "GET" else case.post_attempts
    assert len(operation.attempts(sim)) == expected
    assert reply.headers.get("Retry-After") == case.retry_after
    assert case.min_elapsed_s <= elapsed < DEADLINE_S
    _no_unhandled_exception(reply, caplog)


# Faults a retry gets past, once: the second attempt succeeds. A POST is not retried once its
# answer was cut or timed out; a GET is.
TRANSIENT = [case for case in PERSISTENT if case.get_attempts == ATTEMPTS]


@pytest.mark.usefixtures("fast")
@pytest.mark.parametrize("case", TRANSIENT, ids=lambda case: case.name)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_a_fault_that_passes_is_retried_to_success_where_it_is_safe(
    host: LocalHost,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    operation: Operation,
    case: Case,
) -> None:
    reply, elapsed = _run(operation, host, sim, {**case.fault, "times": 1})

    retried = operation.upstream_method == "GET" or case.post_attempts == ATTEMPTS
    if retried:
        assert reply.status_code == operation.ok_status, reply.text
        assert reply.json()["status"] in {"Success", "Running"}
        assert len(operation.attempts(sim)) == 2
    else:
        assert (reply.status_code, reply.json()["error"]["code"]) == (case.status, case.code)
        assert len(operation.attempts(sim)) == 1
    assert elapsed < DEADLINE_S
    _no_unhandled_exception(reply, caplog)


@pytest.mark.usefixtures("fast")
def test_a_failed_discovery_leaves_the_registry_as_it_was(
    host: LocalHost, sim: Simulator, registry_table: TableClient
) -> None:
    def definitions() -> dict[str, tuple[str | None, bool]]:
        """Each definition's ETag and Retired flag."""
        return {k: (e.metadata["etag"], e["Retired"]) for k, e in entities(registry_table).items()}

    first = api(host, "POST", "discovery", json={}, key=MASTER_KEY)
    assert first.status_code == 200 and first.json()["created"] == 5
    before = definitions()
    sim.set_deployments(sim.deployments[:1])  # would retire definitions...
    sim.add_fault(Fault(method="GET", path=r"/deployments$", cut=True, times=None))
    failed = api(host, "POST", "discovery", json={}, key=MASTER_KEY)
    assert (failed.status_code, failed.json()["error"]["code"]) == (502, "UpstreamBadResponse")
    assert failed.json()["status"] == "Failed"
    assert definitions() == before  # ...but nothing was written
