"""What a route answers: a status, a body and headers; most answers are JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
BINARY_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    extra = {name.lower(): value for name, value in (headers or {}).items()}
    return Response(status, json.dumps(payload).encode(), {"content-type": JSON_TYPE, **extra})
