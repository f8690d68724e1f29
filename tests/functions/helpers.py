"""Calling the decorated functions as the host does: a real `func.HttpRequest` in, the
`func.HttpResponse` out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import azure.functions as func

import function_app
from local.invocation import invocation_context, takes_context
from local.simulator import RecordedRequest, Simulator
from tests.helpers import sign_link

Body = bytes | dict[str, Any] | None


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def invoke(
    name: str,
    method: str,
    path: str,
    *,
    route_params: dict[str, str] | None = None,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Reply:
    function = getattr(function_app, name).build().get_user_function()
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    request = func.HttpRequest(
        method,
        f"http://localhost:7071/api/{path}",
        headers=headers or {},
        params=params or {},
        route_params=route_params or {},
        body=raw,
    )
    arguments: dict[str, Any] = {"req": request}
    if takes_context(function):
        arguments["context"] = invocation_context(name, request.headers)
    response = function(**arguments)
    assert response.mimetype == "application/json"
    return Reply(response.status_code, json.loads(response.get_body()), dict(response.headers))


def run(name: str, route: str, deployment: str, body: Body, **kwargs: Any) -> Reply:
    """POST to a run function whose route is `{route}/{deployment}` (any string: a lone
    surrogate goes into the URL as its raw bytes)."""
    return invoke(
        name,
        "POST",
        f"{route}/{quote(deployment, safe='', errors='surrogatepass')}",
        route_params={"deployment": deployment},
        body=body,
        **kwargs,
    )


def chat(deployment: str, body: Body, **kwargs: Any) -> Reply:
    return run("chat_run", "chat", deployment, body, **kwargs)


def embed(deployment: str, body: Body, **kwargs: Any) -> Reply:
    return run("embedding_run", "embeddings", deployment, body, **kwargs)


def submit_batch(deployment: str, body: Body, **kwargs: Any) -> Reply:
    return run("batch_run", "batches", deployment, body, **kwargs)


def status(run_id: str, *, sign: bool = True, **kwargs: Any) -> Reply:
    """`GET /api/status/{run_id}`; a batch id is polled with a valid status link signature for
    the `deployment` in `params` (as the app's own statusQueryUrl carries it) unless `sign` is
    False or the params carry one."""
    params = dict(kwargs.pop("params", None) or {})
    if sign and run_id.startswith(("batch_", "resp_")) and "sig" not in params:
        params |= sign_link(run_id, params.get("deployment"))
    kwargs["params"] = params
    return invoke(
        "run_status",
        "GET",
        f"status/{quote(run_id, safe='', errors='surrogatepass')}",
        route_params={"run_id": run_id},
        **kwargs,
    )


def assert_failed(reply: Reply, status: int, code: str, run_id: str | None) -> None:
    """A failed run: its HTTP status, `error.code` and `run_id`, and no stack trace."""
    assert (reply.status, reply.body["error"]["code"]) == (status, code), reply.body
    assert reply.body["status"] == "Failed"
    assert reply.body["run_id"] == run_id
    assert "Traceback" not in str(reply.body)


def assert_no_call_to_azure(sim: Simulator) -> None:
    """Nothing reached Azure: no data-plane or ARM request, no token request."""
    assert sim.requests() == [] and sim.arm_requests() == [] and sim.token_requests() == []


def only_call(sim: Simulator) -> RecordedRequest:
    """The one data-plane request the app sent."""
    calls = sim.requests()
    assert len(calls) == 1, [(c.method, c.path) for c in calls]
    return calls[0]
