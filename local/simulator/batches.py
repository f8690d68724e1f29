"""The Batch API; batch_store says how a batch advances.

Routes (data plane):
    POST|GET /openai/batches   GET /openai/batches/{batch_id}
    POST /openai/batches/{batch_id}/cancel
"""

from __future__ import annotations

from typing import Any, cast

from local.simulator.batch_lines import BATCH_TASK_API_VERSION
from local.simulator.batch_store import BATCH_COMPLETION_WINDOW, BatchStore
from local.simulator.errors import Reject, azure_error, not_found, shown
from local.simulator.models import RecordedRequest
from local.simulator.responses import Response, json_response
from local.simulator.routing import Guard, Route, route

BATCHES_PATH = r"/openai/batches"
BATCH_PATH = BATCHES_PATH + r"/(?P<batch_id>[^/]+)"
BATCH_ENDPOINTS = ("/chat/completions", "/embeddings", "/v1/chat/completions")
BATCH_METADATA_MAX_PAIRS = 16
BATCH_NOT_FOUND = "Batch not found"


class Batches:
    def __init__(self, store: BatchStore, guard: Guard) -> None:
        self._store = store
        self._guard = guard

    def routes(self) -> tuple[Route, ...]:
        guard = self._guard
        return (
            route("POST", BATCHES_PATH, self._create, guard),
            route("GET", BATCHES_PATH, self._list, guard),
            route("GET", BATCH_PATH, self._get, guard),
            route("POST", BATCH_PATH + r"/cancel", self._cancel, guard),
        )

    def _create(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            message = "The request body must be a JSON object with 'input_file_id', 'endpoint' "
            raise Reject(azure_error(400, "invalid_request", message + "and 'completion_window'."))
        input_file_id = payload.get("input_file_id")
        if not isinstance(input_file_id, str) or not input_file_id:
            message = "'input_file_id' is required: the id of a file uploaded with purpose "
            message += f"'batch' (got {shown(input_file_id)})."
            raise Reject(azure_error(400, "invalid_request", message))
        endpoint = payload.get("endpoint")
        if endpoint not in BATCH_ENDPOINTS:
            allowed = ", ".join(f"'{e}'" for e in BATCH_ENDPOINTS)
            message = f"'endpoint' must be one of {allowed} (got {shown(endpoint)})."
            raise Reject(azure_error(400, "invalid_request", message))
        window = payload.get("completion_window")
        if window != BATCH_COMPLETION_WINDOW:
            message = f"'completion_window' must be '{BATCH_COMPLETION_WINDOW}' "
            message += f"(got {shown(window)})."
            raise Reject(azure_error(400, "invalid_request", message))
        metadata = payload.get("metadata")
        if metadata is not None and not _valid_metadata(metadata):
            message = f"'metadata' must be an object of at most {BATCH_METADATA_MAX_PAIRS} "
            message += f"string values (got {shown(metadata)})."
            raise Reject(azure_error(400, "invalid_request", message))
        api_version = request.query.get("api-version") or BATCH_TASK_API_VERSION
        batch = self._store.create(input_file_id, cast(str, endpoint), metadata, api_version)
        return json_response(200, batch)

    def _get(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        batch = self._store.get(params["batch_id"])
        if batch is None:
            raise not_found(BATCH_NOT_FOUND)
        return json_response(200, batch)

    def _list(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        batches = list(reversed(self._store.listing()))  # newest first, as the service lists them
        first_id = batches[0]["id"] if batches else None
        last_id = batches[-1]["id"] if batches else None
        body = {"object": "list", "data": batches, "first_id": first_id, "last_id": last_id}
        return json_response(200, body | {"has_more": False})

    def _cancel(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        batch = self._store.cancel(params["batch_id"])
        if batch is None:
            raise not_found(BATCH_NOT_FOUND)
        return json_response(200, batch)


def _valid_metadata(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and len(metadata) <= BATCH_METADATA_MAX_PAIRS
        and all(isinstance(value, str) for value in metadata.values())
    )
