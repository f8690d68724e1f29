"""Calling the decorated functions as the host does: a real `func.HttpRequest` in, the
`func.HttpResponse` out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import azure.functions as func

import function_app


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


def chat(deployment: str, body: bytes | dict[str, Any] | None, **kwargs: Any) -> Reply:
    return invoke(
        "chat_run",
        "POST",
        f"chat/{quote(deployment, safe='')}",
        route_params={"deployment": deployment},
        body=body,
        **kwargs,
    )


def status(run_id: str) -> Reply:
    return invoke(
        "run_status", "GET", f"status/{quote(run_id, safe='')}", route_params={"run_id": run_id}
    )
