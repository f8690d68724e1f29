"""Embeddings: a deterministic unit vector per input text, as long as the model's (3,072 for
text-embedding-3-large, 1,536 for -3-small and ada-002) or as the request's ``dimensions``.

Routes (data plane):
    POST /openai/deployments/{deployment}/embeddings?api-version=...
    POST /openai/v1/embeddings   (no api-version; the deployment is the body's `model`)
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from typing import Any

from local.simulator.errors import invalid_request
from local.simulator.inference import (
    OPENAI_DEPLOYMENT_PATH,
    V1_PATH,
    count_words,
    deployment_for,
    json_body,
    numeric_param,
    success,
)
from local.simulator.models import Deployment, RecordedRequest
from local.simulator.responses import Response
from local.simulator.routing import Guard, Route, route
from local.simulator.state import State

EMBEDDING_DECIMALS = 8
ENCODING_FORMATS = ("float", "base64")
DIMENSIONS_NOT_SUPPORTED = "This model does not support specifying dimensions."
INVALID_INPUT = (
    "'$.input' is invalid. Please check the API reference: "
    "https://platform.openai.com/docs/api-reference."
)


class Embeddings:
    def __init__(self, state: State, guard: Guard, v1_guard: Guard) -> None:
        self._state = state
        self._guard = guard
        self._v1_guard = v1_guard

    def routes(self) -> tuple[Route, ...]:
        path = OPENAI_DEPLOYMENT_PATH + r"/embeddings"
        return (
            route("POST", path, self.create, self._guard),
            route("POST", V1_PATH + r"/embeddings", self.create_v1, self._v1_guard),
        )

    def create(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        deployment = deployment_for(self._state, params["deployment"], operation="embeddings")
        return _answer(deployment, json_body(request))

    def create_v1(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        payload = json_body(request)
        deployment = deployment_for(self._state, payload.get("model"), operation="embeddings")
        return _answer(deployment, payload)


def _answer(deployment: Deployment, payload: dict[str, Any]) -> Response:
    inputs = _validated_inputs(payload)
    full = deployment.vector_length
    # text-embedding-3 and later shorten the vector on request; ada-002 refuses to.
    if payload.get("dimensions") is not None and not deployment.accepts_dimensions:
        raise invalid_request(DIMENSIONS_NOT_SUPPORTED, None)
    dimensions = numeric_param(payload, "dimensions", low=1, high=full, integer=True) or full
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ENCODING_FORMATS:
        message = f"Invalid value for 'encoding_format': {encoding!r}. Supported: float, base64."
        raise invalid_request(message, "encoding_format")
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encoded(_vector(text, full, dimensions), encoding),
        }
        for index, text in enumerate(inputs)
    ]
    tokens = sum(max(1, count_words(text)) for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    body = {"object": "list", "model": deployment.model, "data": data, "usage": usage}
    return success(deployment, body, tokens)


def _validated_inputs(payload: dict[str, Any]) -> list[str]:
    if "input" not in payload:
        raise invalid_request("Missing required parameter: 'input'.", "input")
    value = payload["input"]
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs:
        raise invalid_request(INVALID_INPUT, "input")
    if not all(isinstance(text, str) and text for text in inputs):
        raise invalid_request(INVALID_INPUT, "input")
    return inputs


def _vector(text: str, full_dimensions: int, dimensions: int) -> list[float]:
    # Like text-embedding-3, a shortened vector is the renormalised prefix of the full one.
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(full_dimensions)][:dimensions]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return [round(value / norm, EMBEDDING_DECIMALS) for value in raw]


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    # The openai SDK asks for base64 by default: little-endian float32, base64-encoded.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
