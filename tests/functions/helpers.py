"""Calling the decorated functions as the host does: a real `func.HttpRequest` in, the
`func.HttpResponse` out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import azure.functions as func

import function_app

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
    response = function(request)
    assert response.mimetype == "application/json"
    return Reply(response.status_code, json.loads(response.get_body()), dict(response.headers))


def run(name: str, route: str, deployment: str, body: Body, **kwargs: Any) -> Reply:
    """POST to a run function whose route is `{route}/{deployment}`."""
    return invoke(
        name,
        "POST",
        f"{route}/{quote(deployment, safe='')}",
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


def status(run_id: str, **kwargs: Any) -> Reply:
    return invoke(
        "run_status",
        "GET",
        f"status/{quote(run_id, safe='')}",
        route_params={"run_id": run_id},
        **kwargs,
    )
